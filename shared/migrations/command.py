"""``fooddelivery migrate``: bring the documents subsystems stored up to their code.

Runs each named subsystem's :class:`~shared.migrations.Migration` s, in the order
declared, against the store its functions use (:func:`shared.runtime.operator.connect`:
a dev stack after ``source <state dir>/env.sh``, or GCP with ``FOODDELIVERY_MODE=gcp``
and ``FOODDELIVERY_PROJECT_<NAME>``). Migrations are idempotent: a second run changes
nothing.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shared.exceptions import KitError
from shared.migrations import RewriteFailed
from shared.migrations.dry_run import ReadOnlyStore
from shared.runtime import operator
from shared.settings import Settings
from shared.system import load_subsystems

if TYPE_CHECKING:
    from shared.runtime.app import SubsystemApp
    from shared.stores.base import AbstractDocumentStore

DESCRIPTION = (
    "Run the subsystems' migrations: each brings documents an older version stored up to "
    "what the code reads now (a field a query orders by, a value spelt anew). They are "
    "idempotent, so running them again changes nothing; `fooddelivery deploy` runs them "
    "after every apply. Without SUBSYSTEM, every subsystem's."
)
EPILOG = """\
The store is the one the subsystem's functions use:
  a dev stack   source <state dir>/env.sh first (the state dir is .fooddelivery/dev)
  GCP           FOODDELIVERY_MODE=gcp, FOODDELIVERY_PROJECT_<NAME>=<its project id>,
                application-default credentials
"""

Connect = Callable[[str], "AbstractDocumentStore"]


class MigrationError(KitError):
    """A migration could not finish; the ones after it did not run."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``migrate`` to the command line."""
    parser = commands.add_parser(
        "migrate",
        help="bring the documents subsystems stored up to their code (idempotent)",
        description=textwrap.fill(DESCRIPTION, width=88),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the epilog's table
    )
    parser.add_argument(
        "subsystems",
        nargs="*",
        metavar="SUBSYSTEM",
        help="a registered subsystem (`fooddelivery topology`); default: all",
    )
    parser.add_argument(
        "--list", action="store_true", help="name each migration and what it does; run none"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="count the documents each migration would change, from the documents as stored "
        "(a migration does not see what the ones before it would change); write nothing",
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    # refused whatever the command does: a subsystem without migrations never reads it
    Settings.from_env()
    apps = chosen(args.subsystems)
    if args.list:
        for app in apps:
            for migration in app.migrations:
                print(f"{app.name}/{migration.name}: {migration.summary}")
        return 0
    migrate(apps, lambda name: operator.connect(name)[0], dry_run=args.dry_run)
    return 0


def chosen(names: Sequence[str]) -> list[SubsystemApp[Any]]:
    """The registered subsystems ``names`` (all when empty), or a :class:`KitError`."""
    apps = {app.name: app for app in load_subsystems()}
    unknown = [name for name in names if name not in apps]
    if unknown:
        raise MigrationError(
            f"no subsystem {', '.join(map(repr, unknown))}: one of {', '.join(sorted(apps))}"
        )
    return [apps[name] for name in dict.fromkeys(names)] if names else list(apps.values())


def migrate(
    apps: Sequence[SubsystemApp[Any]], connect: Connect, *, dry_run: bool = False
) -> Mapping[str, int]:
    """Run every migration of ``apps`` on the store ``connect`` gives for each subsystem,
    printing a line each; returns the documents each migration changed, by
    ``subsystem/migration``. A subsystem without migrations is not connected to. With
    ``dry_run``, each runs on the store read only (:class:`ReadOnlyStore`): what it would
    change is counted, and nothing is written.

    The first migration that fails stops the run with a :class:`MigrationError` naming it.
    """
    changed: dict[str, int] = {}
    for app in apps:
        if not app.migrations:
            continue
        store = connect(app.name)
        if dry_run:
            store = ReadOnlyStore(store)
        for migration in app.migrations:
            name = f"{app.name}/{migration.name}"
            try:
                changed[name] = migration.run(store)
            except Exception as error:  # a store error: stop and say which migration
                raise MigrationError(
                    f"{name} failed {_failure(error)}; the migrations after it did not run: "
                    "fix the cause and run `fooddelivery migrate` again"
                ) from error
            print(f"{name}: {_documents(changed[name])} {'would change' if dry_run else 'changed'}")
    if not changed:
        print("no migrations to run", file=sys.stderr)
    elif dry_run:
        print("dry run: nothing was written", file=sys.stderr)
    return changed


def _failure(error: Exception) -> str:
    """Why a migration failed, and at which document when it says."""
    if isinstance(error, RewriteFailed):
        cause = error.error
        return (
            f"({type(cause).__name__}: {cause}) at {error.document}, after changing "
            f"{_documents(error.changed)}"
        )
    return f"({type(error).__name__}: {error})"


def _documents(count: int) -> str:
    return f"{count} document{'s' * (count != 1)}"
