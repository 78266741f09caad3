// Parse an AsyncAPI document with the official parser, as AsyncAPI tools read it:
// every $ref resolved, every payload schema checked against its schemaFormat.
// Prints each diagnostic; exits 1 on any error or warning (hints and infos are printed),
// 2 when the document cannot be read at all.
import { readFile } from 'node:fs/promises';
import { Parser, fromFile } from '@asyncapi/parser';

const [path] = process.argv.slice(2);
if (!path) {
  console.error('usage: node validate.mjs <asyncapi.yaml>');
  process.exit(2);
}
try {
  await readFile(path); // the parser's own failure to read is an uncaught stack trace
} catch (e) {
  console.error(`${path}: cannot read: ${e.message}`);
  process.exit(2);
}
const SEVERITY = ['error', 'warning', 'info', 'hint'];
const { document, diagnostics } = await fromFile(new Parser(), path).parse();
for (const d of diagnostics) {
  console.log(`${path}: ${SEVERITY[d.severity]} ${d.code}: ${d.message} at ${d.path.join('.')}`);
}
const failed = !document || diagnostics.some((d) => d.severity <= 1);
console.log(failed ? `${path}: not valid` : `${path}: valid (official AsyncAPI parser)`);
process.exit(failed ? 1 : 0);
