"""``fooddelivery contracts``: export the generated contract files, or check them.

``export`` writes the schemas, the AsyncAPI document, the catalog and the
diagram; it refuses to overwrite a committed schema with a breaking change
(unless ``--allow-breaking``, which ``CI=true`` refuses), so a breaking change
is never exported by habit. ``check`` exits 1 on a breaking change, a retired
version, an unreadable committed schema or a stale file; ``check --against REF``
(like ``buf breaking --against``) holds the code to the schemas published at
the git revision ``REF`` instead of the committed ones, and also fails when a
version published there is gone without being retired; ``check --against-branch
BRANCH`` does the same at the revision the change started from (where ``HEAD``
left ``BRANCH``, else the previous commit; on a first commit, the working tree
only). A ``--dir`` that is not a directory, a ``REF`` git cannot read, a
``BRANCH`` that names nothing (unless it is ``origin``'s, ``origin/main``, in a
repository with no remote yet) or a shallow clone under ``--against-branch`` is
a usage error (exit 2): a mistyped branch is never swapped for another base.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shared.catalog.gate import EXPORT_COMMAND, Report, check, export
from shared.catalog.history import Baseline, published_at, start_of_change
from shared.exceptions import KitError
from shared.paths import PROJECT_ROOT
from shared.system import load_subsystems

DEFAULT_DIR = PROJECT_ROOT / "contracts"
"""The committed contracts, wherever the command runs (like the dev key and the tfvars)."""


class ContractsError(KitError):
    """The command cannot work on the contracts directory it was given."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``contracts export`` and ``contracts check`` to the command line."""
    contracts = commands.add_parser(
        "contracts", help="export or check the published event contracts and their catalog"
    )
    actions = contracts.add_subparsers(dest="action", required=True, metavar="ACTION")
    export_parser = actions.add_parser("export", help="write every generated contract file")
    export_parser.add_argument(
        "--allow-breaking",
        action="store_true",
        help=(
            "overwrite committed schemas even when broken or unreadable (for versions not "
            "published yet: `check --against` still refuses a published one; refused if CI=true)"
        ),
    )
    check_parser = actions.add_parser(
        "check", help="fail on breaking changes and stale generated files"
    )
    base = check_parser.add_mutually_exclusive_group()
    base.add_argument(
        "--against",
        metavar="REF",
        help=(
            "the git revision whose published schemas the code must not break, e.g. "
            "origin/main (default: the committed files in the working tree)"
        ),
    )
    base.add_argument(
        "--against-branch",
        metavar="BRANCH",
        help=(
            "the same, at the revision this change started from: where HEAD left BRANCH "
            "(e.g. origin/main) or, on BRANCH itself or for origin's BRANCH in a repository "
            "with no remote, the previous commit; a BRANCH that names nothing, or a shallow "
            "clone, is refused"
        ),
    )
    for parser in (export_parser, check_parser):
        parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the contracts directory")
    export_parser.set_defaults(run=_export)
    check_parser.set_defaults(run=_check)


def _export(args: argparse.Namespace) -> int:
    if args.dir.exists() and not args.dir.is_dir():
        raise ContractsError(f"{args.dir} is not a directory: --dir names the contracts directory")
    if args.allow_breaking and _in_ci():
        raise ContractsError(
            "--allow-breaking is refused when CI=true: published schemas are rewritten "
            "on purpose, by a person, in a reviewed change"
        )
    apps = load_subsystems()
    report = check(apps, args.dir)
    refused = [*report.unreadable, *report.breaking]
    if refused and not args.allow_breaking:
        _print_problems(refused)
        print("contracts: nothing written", file=sys.stderr)
        return 1
    try:
        changed = export(apps, args.dir)
    except OSError as e:
        where = e.filename or args.dir
        raise ContractsError(f"cannot write {where}: {e.strerror or e}") from e
    for path in changed:
        print(f"wrote {path}")
    print(f"contracts: {len(changed)} file(s) written, the rest up to date")
    for line in [*report.retired, *report.stray]:  # never deleted for you: `check` refuses them
        print(f"contracts: {line}", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    if not args.dir.is_dir():
        problem = "is not a directory" if args.dir.exists() else "does not exist"
        raise ContractsError(f"{args.dir} {problem}: --dir names the committed contracts directory")
    baseline = _baseline(args)
    apps = load_subsystems()
    report = check(apps, args.dir, baseline)
    if not report.ok:
        _print_problems(report.lines(), report)
        return 1
    for line in report.retirements:
        print(f"contracts: {line}")
    if baseline is None:
        print(f"contracts OK: {report.compared} schema(s) compatible, catalog up to date")
    else:
        at = f"{baseline.ref} ({baseline.commit})"
        compatible = f"{report.compared} schema(s) published at {at} still compatible"
        print(f"contracts OK: {compatible}, catalog up to date")
    return 0


def _baseline(args: argparse.Namespace) -> Baseline | None:
    """What ``--against`` or ``--against-branch`` names, ``None`` for the working tree."""
    if args.against is not None:
        return published_at(args.dir, args.against)
    if args.against_branch is None:
        return None
    start = start_of_change(args.dir, args.against_branch)
    if start.ref is None:
        print(f"contracts: {start.how}: checking the working tree only")
        return None
    print(f"contracts: checking against {start.ref}, {start.how}")
    return published_at(args.dir, start.ref)


def _print_problems(lines: list[str], report: Report | None = None) -> None:
    for line in lines:
        print(f"contracts: {line}", file=sys.stderr)
    if report is not None and report.only_stale:
        print(f"contracts: after a compatible change, run `{EXPORT_COMMAND}`", file=sys.stderr)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}
