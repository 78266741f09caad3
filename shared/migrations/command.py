"""``fooddelivery migrate``: bring the documents subsystems stored up to their code.

Runs each named subsystem's :class:`~shared.migrations.Migration` s, in the order
declared, against the store its functions use (:func:`shared.runtime.operator.connect`:
a dev stack after ``source <state dir>/env.sh``, or GCP with ``FOODDELIVERY_MODE=gcp``
and ``FOODDELIVERY_PROJECT_<NAME>``), the kit's first. Migrations are idempotent: a second
run changes nothing. A backfill that found nothing to change is skipped afterwards, unless
``--force`` (:mod:`shared.migrations`).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.exceptions import KitError
from shared.migrations import Migration, RewriteFailed
from shared.migrations.done import done_at, record_done
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
    "after every apply. A backfill (documents only older versions wrote) is skipped once a "
    "run of it found nothing to change. Without SUBSYSTEM, every subsystem's."
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
    parser.add_argument(
        "--force",
        action="store_true",
        help="run the backfills found done too (after rolling back to a version older than "
        "one, and forward again)",
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    # refused whatever the command does: a subsystem without migrations never reads it
    Settings.from_env()
    apps = chosen(args.subsystems)
    if args.list:
        for app in apps:
            for migration in app.all_migrations:
                backfill = " (a backfill)" if migration.backfill else ""
                print(f"{app.name}/{migration.name}{backfill}: {migration.summary}")
        return 0
    migrate(apps, lambda name: operator.connect(name)[0], dry_run=args.dry_run, force=args.force)
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
    apps: Sequence[SubsystemApp[Any]],
    connect: Connect,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> Mapping[str, int]:
    """Run every migration of ``apps`` (:attr:`~shared.runtime.app.SubsystemApp.all_migrations`)
    on the store ``connect`` gives for each subsystem, printing a line each; returns the
    documents each migration changed, by ``subsystem/migration``. With ``dry_run``, each runs
    on the store read only (:class:`ReadOnlyStore`): what it would change is counted, and
    nothing is written.

    A backfill a run found nothing to change in before is skipped (and left out of what is
    returned) unless ``force``; one that changes nothing now is recorded so
    (:mod:`shared.migrations.done`), except in a dry run.

    The first migration that fails stops the run with a :class:`MigrationError` naming it.
    """
    changed: dict[str, int] = {}
    ran = False
    for app in apps:
        if not app.all_migrations:
            continue
        ran = True
        store = connect(app.name)
        if dry_run:
            store = ReadOnlyStore(store)
        for migration in app.all_migrations:
            name = f"{app.name}/{migration.name}"
            try:
                count = _run_one(migration, store, name, dry_run=dry_run, force=force)
            except Exception as error:  # a store error: stop and say which migration
                raise MigrationError(
                    f"{name} failed {_failure(error)}; the migrations after it did not run: "
                    "fix the cause and run `fooddelivery migrate` again"
                ) from error
            if count is not None:
                changed[name] = count
    if not ran:
        print("no migrations to run", file=sys.stderr)
    elif dry_run:
        print("dry run: nothing was written", file=sys.stderr)
    return changed


def _run_one(
    migration: Migration, store: AbstractDocumentStore, name: str, *, dry_run: bool, force: bool
) -> int | None:
    """Run ``migration`` and print what it did; ``None`` when it was skipped as done."""
    done = done_at(store, migration) if migration.backfill else None
    if done is not None and not force:
        at = done.astimezone(UTC)
        print(f"{name}: skipped, a backfill done ({at:%Y-%m-%d %H:%M} UTC found nothing to change)")
        return None
    started = datetime.now(UTC)
    count = migration.run(store)
    line = f"{name}: {_documents(count)} {'would change' if dry_run else 'changed'}"
    if migration.backfill and count == 0 and not dry_run:
        record_done(store, migration, started)
        line += " (done: later runs skip it)"
    print(line)
    return count


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
