"""The compatibility gate: compare what the code publishes with what is published.

Without a baseline it holds the code to the committed files in the working tree:

* a committed schema whose major version is still published must not be
  broken by the current contract (:func:`shared.compat.breaking_changes`);
* a committed major version that nobody publishes any more is an error until
  its schema file is deleted, on purpose;
* every generated file must equal the committed one (stale otherwise);
* a committed schema that is not readable JSON is reported, never compared;
* the envelope and the Pub/Sub attributes every event travels with (the
  committed ``asyncapi.yaml``'s ``components.schemas``) must not be broken
  either: every consumer reads them, and its subscription filters on them.

With a :class:`~shared.catalog.history.Baseline` (``contracts check --against``)
the schemas published at that revision are what the code must not break, since
one change can edit a contract and its committed schema together. Every
version published there must still be published, or be retired the one way
there is: its contract class removed and its schema file deleted (no consumer
can still select it: :func:`shared.system.load_subsystems` refuses such a
system before the gate runs), and the envelope and attributes published there
must not be broken. The working tree must still be readable and up to date.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.catalog import asyncapi, markdown, mermaid
from shared.catalog.envelope import attributes_schema, envelope_schema
from shared.catalog.history import ASYNCAPI_FILE, Baseline
from shared.catalog.inventory import Published, inventory
from shared.catalog.schemas import SCHEMAS_DIR, parse_schema_file, render_json, schema_of
from shared.catalog.yamltext import from_yaml
from shared.compat import breaking_changes
from shared.runtime.app import SubsystemApp

EXPORT_COMMAND = "fooddelivery contracts export"
_UNCOMPARABLE = (OSError, ValueError, LookupError, TypeError, AttributeError, RecursionError)
"""What reading or comparing a schema that is not one raises (bad JSON, a dangling ``$ref``,
nesting deeper than Python's parser and the comparison recurse...)."""

Identity = tuple[str, int]
"""An external event's (type, major version)."""


def generate(apps: Sequence[SubsystemApp[Any]]) -> dict[str, str]:
    """Every generated file, by its path inside the contracts directory."""
    events = inventory(apps)
    diagram = mermaid.render(apps, events)
    files = {f"{SCHEMAS_DIR}/{e.key}.json": render_json(schema_of(e)) for e in events}
    files["asyncapi.yaml"] = asyncapi.render(events)
    files["topology.mmd"] = diagram
    files["README.md"] = markdown.render(events, diagram)
    return files


@dataclass
class Report:
    """What ``contracts check`` found.

    Breaking changes, versions published at the baseline that are gone without
    being retired (``removed``), retired versions whose schema is still
    committed, ``.json`` files in the schemas folder that are no schema file
    (``stray``: neither written nor checked, yet served beside the schemas),
    unreadable schemas and stale files; ``retirements`` are the versions retired
    on purpose since the baseline (news, not problems), and ``compared`` counts
    the schemas the code was held to (the baseline's, else the committed ones).
    """

    breaking: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retirements: list[str] = field(default_factory=list)
    compared: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not (self.stale or self._refused)

    @property
    def _refused(self) -> bool:
        """True when something beyond stale files was found."""
        return bool(self.breaking or self.retired or self.stray or self.unreadable or self.removed)

    @property
    def only_stale(self) -> bool:
        """True when exporting is all that is needed."""
        return bool(self.stale) and not self._refused

    def lines(self) -> list[str]:
        """The findings as messages a developer can act on.

        After a breaking change the stale files are left out: exporting is not
        the way out, bumping the major version is (and the export after it
        rewrites them).
        """
        out = [*self.unreadable, *self.breaking, *self.removed, *self.retired, *self.stray]
        if not self.breaking:
            out += [f"{path} is stale: run `{EXPORT_COMMAND}`" for path in self.stale]
        return out


def check(
    apps: Sequence[SubsystemApp[Any]], root: Path, baseline: Baseline | None = None
) -> Report:
    """Compare the code with the files committed under ``root`` and, if given, ``baseline``.

    Without a baseline the committed schemas are the baseline.
    """
    events = {(e.type, e.version): e for e in inventory(apps)}
    report = Report()
    reported: set[str] = set()
    try:
        committed_schemas, listed = _schema_files(root / SCHEMAS_DIR), True
    except OSError as e:  # not an empty folder: its schemas are unknown, not stale
        committed_schemas, listed = [], False
        report.unreadable.append(_unreadable(_in(root, SCHEMAS_DIR), e))
    for path in committed_schemas:
        identity = parse_schema_file(path.name)
        if identity is None:
            report.stray.append(_stray(_shown(root, path.name)))
            continue
        event = events.get(identity)
        if event is None:
            report.retired.append(_retired(identity, path))
            continue
        shown = _shown(root, path.name)
        try:
            committed = _schema(path.read_bytes())
            if baseline is None:
                _compare(report, event, committed, since=None)
                report.compared += 1
        except _UNCOMPARABLE as e:
            report.unreadable.append(_unreadable(shown, e))
            reported.add(shown)
    if baseline is not None:
        _check_against(events, root, baseline, report, reported, listed=listed)
        if baseline.asyncapi is not None:
            where = f"{baseline.prefix}{ASYNCAPI_FILE} at {baseline.ref}"
            _compare_wire_format(report, baseline.asyncapi, where, baseline.ref, reported)
    else:
        shown = _in(root, ASYNCAPI_FILE)
        try:
            committed_doc = _existing_bytes(root / ASYNCAPI_FILE)
        except OSError as e:
            committed_doc = None
            report.unreadable.append(_unreadable(shown, e))
            reported.add(shown)
        if committed_doc is not None:
            _compare_wire_format(report, committed_doc, shown, None, reported)
    for name, text in generate(apps).items():
        target, shown = root / name, _in(root, name)
        if shown in reported or (not listed and name.startswith(f"{SCHEMAS_DIR}/")):
            continue
        try:
            if _existing_text(target) != text:
                report.stale.append(shown)
        except OSError as e:
            report.unreadable.append(_unreadable(shown, e))
    return report


def _schema_files(folder: Path) -> list[Path]:
    """The ``*.json`` files of the committed schemas folder, sorted (none if it is missing);
    :class:`OSError` if it cannot be listed (:meth:`Path.glob` would skip it silently)."""
    try:
        return sorted(path for path in folder.iterdir() if path.name.endswith(".json"))
    except (FileNotFoundError, NotADirectoryError):
        return []


def export(apps: Sequence[SubsystemApp[Any]], root: Path) -> list[str]:
    """Write every generated file under ``root``; returns the paths that changed."""
    changed: list[str] = []
    for name, text in generate(apps).items():
        target = root / name
        if _committed_text(target) == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(_in(root, name))
    return changed


def _check_against(
    events: Mapping[Identity, Published],
    root: Path,
    baseline: Baseline,
    report: Report,
    reported: set[str],
    *,
    listed: bool = True,
) -> None:
    """Hold the code to every schema published at ``baseline``; unless the schemas folder
    was ``listed`` (it is reported unreadable) no file is called deleted."""
    for name, data in sorted(baseline.schemas.items()):
        identity = parse_schema_file(name)
        if identity is None:
            continue
        event, shown = events.get(identity), _shown(root, name)
        if event is None:
            if listed and not (root / SCHEMAS_DIR / name).exists():  # else reported as retired
                _retirement(identity, baseline, report)
            continue
        if listed and not (root / SCHEMAS_DIR / name).is_file():
            report.removed.append(_deleted(event, shown, baseline.ref))
            reported.add(shown)
        try:
            _compare(report, event, _schema(data), since=baseline.ref)
        except _UNCOMPARABLE as e:
            where = f"{baseline.path(name)} at {baseline.ref}"
            report.unreadable.append(f"{where} {_problem(e)}: check against another revision")
            continue
        report.compared += 1


def _retirement(identity: Identity, baseline: Baseline, report: Report) -> None:
    """A version gone since the baseline, class and schema both: retired on purpose. (No
    ingress can still select it: :func:`shared.system.load_subsystems` refuses such a system.)"""
    event_type, version = identity
    report.retirements.append(
        f"{event_type} v{version}: retired since {baseline.ref} (class removed, schema deleted)"
    )


def _schema(data: bytes) -> dict[str, Any]:
    """A schema file's JSON object."""
    schema = json.loads(data.decode("utf-8"))
    if not isinstance(schema, dict):
        raise TypeError("not a JSON object")
    return schema


def _compare(report: Report, event: Published, old: dict[str, Any], since: str | None) -> None:
    """Add to ``report`` every change from ``old`` to the contract that breaks a reader."""
    new = schema_of(event)
    changes = [str(c) for c in breaking_changes(old, new)] + _wire_changes(old, new)
    report.breaking += [_breaking(event, change, since) for change in changes]


_WIRE_FORMAT = {
    asyncapi.ENVELOPE: ("envelope", envelope_schema),
    asyncapi.ATTRIBUTES: ("attributes", attributes_schema),
}
"""What every event travels in, by its name in ``components.schemas``: what the gate calls
it, and how the code generates it."""


def _compare_wire_format(
    report: Report, document: bytes, shown: str, since: str | None, reported: set[str]
) -> None:
    """Add to ``report`` every change from the envelope and attributes published in the
    AsyncAPI ``document`` (shown as ``shown``) that breaks a consumer.

    They are held to the same rules as a payload: every consumer reads the envelope, and
    its subscription filter selects on the attributes (one renamed or removed, and the
    filter silently matches nothing)."""
    try:
        published = from_yaml(document.decode("utf-8"))["components"]["schemas"]
        pairs = [
            (what, published[key], generated()) for key, (what, generated) in _WIRE_FORMAT.items()
        ]
        changes = [
            (what, str(change)) for what, old, new in pairs for change in breaking_changes(old, new)
        ]
    except _UNCOMPARABLE:
        way_out = (
            "restore it from version control" if since is None else "check against another revision"
        )
        report.unreadable.append(
            f"{shown} has no envelope and attributes the gate can compare: {way_out}"
        )
        reported.add(shown)
        return
    against = "" if since is None else f" against {since}"
    report.breaking += [
        f"the {what}{against}: {change} (every consumer reads the {what}: keep it, or "
        "publish a new envelope version)"
        for what, change in changes
    ]


_ON_THE_WIRE = (
    ("x-entity", "entity-renamed", "the payload travels under {now!r}, not {was!r}"),
    (
        "x-partition-key",
        "partition-key-changed",
        "events are keyed (and ordered) by {now!r}, not {was!r}",
    ),
)
"""The schema's ``x-`` fields that are part of the contract on the wire, with their rule:
the payload's envelope field, and the field whose value orders a consumer's events."""


def _wire_changes(committed: dict[str, Any], generated: dict[str, Any]) -> list[str]:
    """What changed on the wire outside the payload's own schema (see :data:`_ON_THE_WIRE`)."""
    changes: list[str] = []
    for key, rule, wording in _ON_THE_WIRE:
        was, now = committed.get(key), generated.get(key)
        if was is not None and now is not None and was != now:
            changes.append(f"$: {rule}: {wording.format(was=was, now=now)}")
    kept = set(generated.get("x-attributes", []))
    for gone in [a for a in committed.get("x-attributes", []) if a not in kept]:
        changes.append(
            f"$: attribute-removed: {gone!r} no longer travels as an attribute, so a "
            "subscription filtering on it receives nothing"
        )
    return changes


def _breaking(event: Published, change: str, since: str | None) -> str:
    v, against = event.version, "" if since is None else f" against {since}"
    way_out = f"bump the major version: publish v{v + 1} beside v{v}"
    return f"{event.type} v{v}{against}: {change} ({way_out})"


def _deleted(event: Published, shown: str, ref: str) -> str:
    v = event.version
    return (
        f"{event.type} v{v}: {shown} is deleted, but v{v} is still published (and was at "
        f"{ref}): run `{EXPORT_COMMAND}` to write it again, or retire v{v} by removing its "
        "contract class too, once no consumer selects it"
    )


def _shown(root: Path, name: str) -> str:
    return _in(root, f"{SCHEMAS_DIR}/{name}")


def _in(root: Path, name: str) -> str:
    """The file ``name`` of the contracts directory ``root``, as a developer finds it:
    ``contracts/README.md``, or ``README.md`` when ``root`` has no name (``--dir .``)."""
    return f"{root.name}/{name}" if root.name else name


def _existing_bytes(path: Path) -> bytes | None:
    """The committed file's bytes, or ``None`` when there is no such file; :class:`OSError`
    when there is one that cannot be read (no permission), which is no missing file."""
    return path.read_bytes() if path.is_file() else None


def _existing_text(path: Path) -> str | None:
    """The committed file's text, or ``None`` when there is no such text file; :class:`OSError`
    as :func:`_existing_bytes`."""
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except UnicodeDecodeError:
        return None


def _committed_text(path: Path) -> str | None:
    """The committed file's text, or ``None`` when there is no readable text file."""
    try:
        return _existing_text(path)
    except OSError:
        return None


def _unreadable(shown: str, error: Exception) -> str:
    if isinstance(error, PermissionError):
        return f"{shown} {_problem(error)}: make it readable (the gate cannot check it)"
    return (
        f"{shown} {_problem(error)}: restore it from version control "
        "(the gate cannot compare it with the contract)"
    )


def _problem(error: Exception) -> str:
    """What is wrong with a schema the gate could not compare, from what reading it raised."""
    if isinstance(error, json.JSONDecodeError):
        return f"is not valid JSON ({error.msg}, line {error.lineno} column {error.colno})"
    if isinstance(error, OSError):
        return f"cannot be read ({error.strerror or error})"
    if isinstance(error, UnicodeDecodeError):
        return "is not UTF-8 text"
    if isinstance(error, RecursionError):
        return "is nested too deeply to read"
    return "is not a JSON Schema the gate can compare"


def _stray(shown: str) -> str:
    return (
        f"{shown} is not a schema file the export writes (<type>.v<major>.json), so the gate "
        "cannot check it: delete it (a retired version's schema goes with its class)"
    )


def _retired(identity: Identity, path: Path) -> str:
    event_type, version = identity
    return (
        f"{event_type} v{version}: committed but no longer published; consumers may still "
        f"read it: publish it again, or delete {path.parent.name}/{path.name} once no "
        "consumer reads it"
    )
