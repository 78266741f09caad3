"""``fooddelivery lake events|replay``: an operator's look into a subsystem's event lake,
and its way to publish the lake's events on the bus again (:mod:`shared.lake.republish`).

The lake is a directory (``--dir``), a bucket (``--bucket``), or by default the
bucket of the environment the subsystem's functions run in:

* on a dev stack (``source <state dir>/env.sh``: ``FOODDELIVERY_MODE=emulator``,
  ``STORAGE_EMULATOR_HOST``) the stack's bucket ``fooddelivery-<FOODDELIVERY_ENV>-lake``
  on the Storage emulator (``fooddelivery-dev-lake``: one bucket, a folder per subsystem);
* on GCP (``FOODDELIVERY_MODE=gcp``, ``FOODDELIVERY_PROJECT_<NAME>``,
  application-default credentials) the bucket Terraform creates in the subsystem's
  project, ``<project>-lake``.

Events are chosen by their envelope's timestamp (``--since`` inclusive, ``--until``
exclusive, as :meth:`AbstractLake.replay`), but the lake is foldered by the hour
an event was *stored*, which is later than the event. A window reads only the hour
folders from :data:`~shared.lake.base.STORED_EARLY_MS` before ``--since`` to
``--max-lag`` (default :data:`~shared.lake.base.STORED_LATE_MS`) after ``--until``,
listed and read one hour folder at a time as a stream (:mod:`shared.lake.stream`:
in time order, each id once, in bounded memory, for events stored within ``--max-lag``);
``--limit`` stops at the first folder that, by ``--max-lag``, can only hold events later
than those it shows: an event stored more than ``--max-lag`` after its own time is missed
by ``--until`` and by ``--limit``, and found (out of order) by a read with neither.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from shared.emulators import STORAGE, listens
from shared.envelope import Envelope
from shared.exceptions import KitError, LakeError
from shared.lake.base import STORED_LATE_MS, SkipNotes, stored_window, topic_prefix
from shared.lake.local import LocalDirectoryLake
from shared.runtime.operator import SOURCE_ENV
from shared.settings import PREFIX, Settings
from shared.system import load_subsystems

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from shared.hub.base import AbstractPublisher
    from shared.lake.base import AbstractLake
    from shared.lake.republish import Republisher
    from shared.lake.stream import OrderedEvents

TOPIC = "bus"
HOUR_MS = 3_600_000
DEV_BUCKET = "fooddelivery-{env}-lake"
"""The lake bucket of a dev stack, by its ``FOODDELIVERY_ENV`` (``dev``)."""
GCP_BUCKET = "{project}-lake"
"""The lake bucket Terraform creates in a subsystem's project."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DESCRIPTION = (
    "Print the events a subsystem's bus carried, as its event lake keeps them: oldest "
    "first, one line each (UTC time, type, partition key, id), or one envelope per "
    "line with --json."
)
EPILOG = f"""\
TIME is ISO 8601: a date (2026-01-31) or a date and time (2026-01-31T14:30,
2026-01-31T14:30:05.250+02:00); UTC unless it has an offset. --since is inclusive,
--until exclusive. The lake is foldered by the hour an event was stored, a little
after it happened: a window reads only the hour folders from an hour before --since
to --max-lag hours (default 1) after --until, and --limit stops reading once the
folders left, by --max-lag, can only hold later events. An event stored more than
--max-lag hours late (a backlog, a writer's outage) is missed by --until and
--limit; raise --max-lag, or leave both out, to find it.

It streams: it reads the lake an hour folder at a time, oldest first, and prints as
it goes, holding in memory only the events of about --max-lag + 2 hours, so any
window fits. Events come in time order as long as each was stored within --max-lag
of happening; one stored later is printed when it is read, behind newer ones. An
event the lake holds twice is shown once, unless its copies were stored more than
--max-lag apart. The first 1000 lines are held to align their columns; later ones
widen a column when they need it. Should a read of the lake fail after events were
printed, the command says the --since to run it again with (exit code 2).

A lake with lake_retention_days (GCP) has deleted what was stored longer ago than
that; an object deleted while it is being read, one not in the lake's line format (a
file copied in, with a Content-Encoding its content does not have), and the lines of
an object that are no envelope (corrupt, truncated, a foreign file), are skipped,
each object named once on stderr.

The lake, unless --bucket or --dir names it:
  on a dev stack  the stack's bucket on the Storage emulator, fooddelivery-dev-lake
                  (after `{SOURCE_ENV}`: {PREFIX}MODE=emulator,
                  {PREFIX}ENV=dev, STORAGE_EMULATOR_HOST)
  on GCP          <project>-lake in the subsystem's project ({PREFIX}MODE=gcp,
                  {PREFIX}PROJECT_<NAME>, application-default credentials)

examples:
  fooddelivery lake events order --since 2026-01-31T14:00 --until 2026-01-31T15:00
  fooddelivery lake events order --key o-42 --json | jq .type
"""

REPLAY_DESCRIPTION = (
    "Publish a subsystem's events from its event lake on its bus again, oldest first, "
    "chosen as `lake events` chooses them: to rebuild a view that was dropped, or fill a "
    "new one. Each event keeps its id, so a consumer that processed it already skips it."
)
REPLAY_EPILOG = f"""\
--since is required (--since 1970-01-01 replays the whole lake). TIME, --until, --type,
--key, --max-lag, --bucket and --dir are as for `lake events`.

It streams: it reads the lake an hour folder at a time, oldest first, and publishes
as it goes, holding in memory only the events of about --max-lag + 2 hours, so any
window fits. Events go out in time order as long as each was stored within --max-lag
of happening; one stored later goes out when it is read, behind newer ones. An event
the lake holds twice is published once, unless its copies were stored more than
--max-lag apart (consumers skip the second). Objects stored after the replay started
(its own events, stored again) are not read.

Every consumer of the bus receives the events again, egress gateways too (which pass
them on to sister subsystems): consumers are idempotent, so this changes nothing but
what was lost. A rebuilt view that a database-first trigger watches runs that trigger
again (its documents are created anew). The lake writer stores the events again; the
lake's readers keep each id once. The bus is reached as `fooddelivery faults
resubmit` reaches it, but with no store (no Firestore access needed): on a dev stack
after `{SOURCE_ENV}`; on GCP with {PREFIX}MODE=gcp,
{PREFIX}PROJECT_<NAME> and application-default credentials.

An event the bus would not take (over Pub/Sub's limits) is named on stderr and not
published, and the exit code is 1. An object skipped (as by `lake events`: gone, not in
the lake's line format, or lines that are no envelope) is named on stderr and counted
in the summary. Should the bus refuse a batch, or a read of the lake fail, the command
says how many events were published and the --since to run it again with, and exits 2.

examples:
  fooddelivery lake replay order --since 2026-01-31T14:00 --dry-run
  fooddelivery lake replay order --since 2026-01-31 --key o-42
"""


class LakeCommandError(KitError):
    """The command cannot read the lake it was asked about, or was asked wrongly."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lake events`` and ``lake replay`` to the command line."""
    lake = commands.add_parser(
        "lake", help="read a subsystem's event lake, or publish its events on the bus again"
    )
    actions = lake.add_subparsers(dest="action", required=True, metavar="ACTION")
    events = actions.add_parser(
        "events",
        help="print a subsystem's events, oldest first, by time, type or entity",
        description=textwrap.fill(DESCRIPTION, width=88),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the epilog's table
    )
    _choice_arguments(events, since_required=False)
    events.add_argument(
        "--limit", type=_positive, metavar="N", help="at most N, the oldest (default: all)"
    )
    events.add_argument(
        "--json", action="store_true", help="one envelope per line (JSON Lines), for piping"
    )
    events.set_defaults(run=_events)
    replay = actions.add_parser(
        "replay",
        help="publish a subsystem's events from its lake on its bus again, to rebuild views",
        description=textwrap.fill(REPLAY_DESCRIPTION, width=88),
        epilog=REPLAY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _choice_arguments(replay, since_required=True)
    replay.add_argument(
        "--dry-run",
        action="store_true",
        help="print the events that would be published (as `lake events` does), publish none",
    )
    replay.set_defaults(run=_replay)


def _choice_arguments(parser: argparse.ArgumentParser, *, since_required: bool) -> None:
    """The arguments that choose a subsystem's events and name its lake."""
    parser.add_argument(
        "subsystem", metavar="SUBSYSTEM", help="a registered subsystem (`fooddelivery topology`)"
    )
    parser.add_argument(
        "--since", metavar="TIME", required=since_required, help="events at or after TIME"
    )
    parser.add_argument("--until", metavar="TIME", help="events before TIME")
    parser.add_argument("--type", metavar="TYPE", help="only events of TYPE, e.g. order-placed")
    parser.add_argument(
        "--key", metavar="KEY", help="only the events of one entity: its partition key, e.g. o-42"
    )
    parser.add_argument(
        "--max-lag",
        type=_positive,
        default=STORED_LATE_MS // HOUR_MS,
        metavar="HOURS",
        help="how long after it happened an event may have been stored, for --until and "
        "--limit (default: %(default)s)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--bucket", metavar="NAME", help="read the lake in this Cloud Storage bucket (or gs://NAME)"
    )
    where.add_argument(
        "--dir", type=Path, metavar="PATH", help="read the lake in this local directory"
    )


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) == 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return int(text)


def parse_moment(text: str, option: str) -> datetime:
    """The ISO 8601 date or date-time ``text`` (UTC unless it has an offset)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LakeCommandError(
            f"{option} {text!r} is not an ISO 8601 date or time "
            "(e.g. 2026-01-31, 2026-01-31T14:30 or 2026-01-31T14:30+02:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_time(text: str, option: str) -> int:
    """Epoch ms of the ISO 8601 date or date-time ``text`` (UTC unless it has an offset),
    rounded up: event times are whole ms, so ``t >= since`` and ``t < until`` choose the
    same events with the rounded bound as with the exact one (--since 10:00:00.0005
    keeps an event at 10:00:00.000 out; --until 10:00:00.0005 keeps it in)."""
    return _ceil_ms(parse_moment(text, option))


def _ceil_ms(moment: datetime) -> int:
    return -((_EPOCH - moment) // timedelta(milliseconds=1))


def open_lake(
    subsystem: str,
    bucket: str | None = None,
    directory: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> AbstractLake:
    """The lake named by ``directory`` or ``bucket``, else the one of the environment."""
    if directory is not None:
        if not directory.is_dir():
            problem = "is not a directory" if directory.exists() else "does not exist"
            raise LakeCommandError(f"--dir {directory} {problem}")
        return LocalDirectoryLake(directory)
    env = os.environ if environ is None else environ
    if bucket is None:
        name = default_bucket(subsystem, env)
    else:
        name = bucket.removeprefix("gs://").rstrip("/")
        if not is_bucket_name(name):
            raise LakeCommandError(
                f"--bucket {bucket!r} is not a Cloud Storage bucket name ({BUCKET_RULE}): "
                "give NAME or gs://NAME"
            )
    emulator = env.get(STORAGE.env_var)
    if emulator and not listens(_host_port(emulator)):
        raise LakeCommandError(
            f"nothing listens at {STORAGE.env_var}={emulator} (has the stack stopped?)"
        )
    from shared.lake.gcs import GcsLake  # only now: google.cloud loads slowly

    return GcsLake(name)


def default_bucket(subsystem: str, environ: Mapping[str, str]) -> str:
    """The lake bucket of the dev stack or GCP project the environment points at."""
    settings = Settings.from_env(environ)
    if settings.mode == "emulator":
        if not environ.get(STORAGE.env_var):
            raise LakeCommandError(
                f"{STORAGE.env_var} is not set, so there is no lake to read (a stack started "
                "with --no-lake keeps none): give --dir PATH or --bucket NAME"
            )
        return DEV_BUCKET.format(env=settings.env)
    project_var = f"{PREFIX}PROJECT_{subsystem.upper()}"
    if settings.mode == "gcp":
        if subsystem not in settings.projects:
            raise LakeCommandError(
                f"{project_var} is not set: name the subsystem's project, or give --bucket NAME"
            )
        project = settings.projects[subsystem]
        name = GCP_BUCKET.format(project=project)
        if not is_bucket_name(name):
            raise LakeCommandError(
                f"{project_var}={project!r} is not a Google Cloud project id (its lake bucket "
                f"would be {name!r}, no bucket name): name the subsystem's project, or give "
                "--bucket NAME"
            )
        return name
    mode = environ.get(f"{PREFIX}MODE")
    why = f"{PREFIX}MODE is {mode}" if mode else f"{PREFIX}MODE is not set"
    raise LakeCommandError(
        f"{why}, so no lake is known: give --dir PATH or --bucket NAME, run `{SOURCE_ENV}` "
        f"first (with `fooddelivery dev` running), or set {PREFIX}MODE=gcp and "
        f"{project_var}=<its project id> (with application-default credentials)"
    )


_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*[a-z0-9]")
BUCKET_RULE = (
    "3 to 63 lower-case letters, digits, '-', '_' and '.', starting and ending with a letter "
    "or digit"
)


def is_bucket_name(name: str) -> bool:
    """Whether ``name`` is a Cloud Storage bucket name (up to 222 characters with dots, no
    part between them longer than 63)."""
    return (
        3 <= len(name) <= 222
        and _BUCKET_NAME.fullmatch(name) is not None
        and all(len(part) <= 63 for part in name.split("."))
    )


def _host_port(value: str) -> str:
    """``host:port`` of an emulator address given as a URL or as ``host:port`` (a URL that
    does not parse is left as it is, where nothing listens)."""
    try:
        return urllib.parse.urlsplit(value).netloc if "://" in value else value
    except ValueError:  # http://[::1:8080, an IPv6 address without its closing bracket
        return value


def ordered_events(
    lake: AbstractLake,
    args: argparse.Namespace,
    names: Iterable[str],
    notes: SkipNotes,
    window: tuple[int | None, int | None],
) -> OrderedEvents:
    """The events of objects ``names`` chosen by time (``window``: since inclusive, until
    exclusive), ``--type`` and ``--key``, oldest first as far as ``--max-lag`` allows
    (:class:`~shared.lake.stream.OrderedEvents`): what `lake events` prints and `lake replay`
    publishes."""
    from shared.lake.stream import OrderedEvents

    since_ms, until_ms = window
    return OrderedEvents(
        lake,
        args.subsystem,
        TOPIC,
        names,
        notes,
        chosen=lambda e: _is_chosen(e, since_ms, until_ms, args.type, args.key),
        max_lag_ms=args.max_lag * HOUR_MS,
    )


def _window(args: argparse.Namespace) -> tuple[int | None, int | None]:
    """``--since`` and ``--until`` in epoch ms, once the subsystem and both are checked."""
    apps = sorted(app.name for app in load_subsystems())
    if args.subsystem not in apps:
        raise LakeCommandError(f"no subsystem {args.subsystem!r}: one of {', '.join(apps)}")
    since = None if args.since is None else parse_moment(args.since, "--since")
    until = None if args.until is None else parse_moment(args.until, "--until")
    if since is not None and until is not None and since >= until:
        raise LakeCommandError(f"--since {args.since} is not before --until {args.until}")
    since_ms = None if since is None else _ceil_ms(since)
    return since_ms, (None if until is None else _ceil_ms(until))


def _events(args: argparse.Namespace) -> int:
    """Print the chosen events as they are read, an hour folder at a time (``--limit N``:
    the first N, then whether another follows)."""
    since_ms, until_ms = _window(args)
    max_lag_ms = args.max_lag * HOUR_MS
    notes = SkipNotes()
    reader: OrderedEvents | None = None
    shown, more = 0, False
    table = None if args.json else _Table()
    try:
        lake = open_lake(args.subsystem, args.bucket, args.dir)
        low, high = stored_window(since_ms, until_ms, max_lag_ms)
        names = lake.objects_oldest_first(args.subsystem, TOPIC, since_ms=low, until_ms=high)
        reader = ordered_events(lake, args, names, notes, (since_ms, until_ms))
        for chunk in reader.chunks():
            if args.limit is not None and shown + len(chunk) > args.limit:
                chunk, more = chunk[: args.limit - shown], True
            if table is None:
                for event in chunk:
                    print(event.to_bytes().decode())
            else:
                table.add(chunk)
            sys.stdout.flush()
            shown += len(chunk)
            if more:
                break
    except LakeError as error:
        why = " ".join(str(error).split())  # one line, always
        raise LakeCommandError(_stopped_printing(why, shown, reader, since_ms)) from None
    finally:
        if table is not None:
            table.close()
    if not shown:
        _say_none(args)
    elif more:
        print(f"... and more, later (--limit {args.limit})", file=sys.stderr)
    for note in notes.describe():
        print(_printable(note), file=sys.stderr)
    return 0


def _stopped_printing(
    why: str, shown: int, reader: OrderedEvents | None, since_ms: int | None
) -> str:
    """One line: why `lake events` stopped and, once it printed events, where to go on."""
    if shown == 0:
        return why
    why = f"{why}; {shown} event(s) were printed before it"
    resume = None if reader is None else _resume(reader.pending_since(), since_ms)
    if resume is None:
        return why
    return (
        f"{why}, every event before {_when(resume)} among them: run the command again with "
        f"--since {_when(resume)} to go on"
    )


def _resume(pending: int | None, since_ms: int | None) -> int | None:
    """The --since to go on from: the earliest time an event not yet handled may have,
    within the window."""
    return pending if pending is None or since_ms is None else max(pending, since_ms)


def _say_none(args: argparse.Namespace) -> None:
    print(f"no events in {args.subsystem}'s lake{_chosen(args)}", file=sys.stderr)
    if args.dir is not None and not (args.dir / topic_prefix(args.subsystem, TOPIC)).is_dir():
        print(  # `--dir lake/order` instead of `--dir lake`: say where it looked
            f"(there is no {topic_prefix(args.subsystem, TOPIC)} under {args.dir}: --dir "
            "names the lake's root, which holds a folder per subsystem)",
            file=sys.stderr,
        )


def _replay(args: argparse.Namespace) -> int:
    from shared.lake import republish  # the hub's modules load only for this command
    from shared.lake.stream import replay_objects

    since_ms, until_ms = _window(args)
    publisher = None if args.dry_run else _bus_publisher(args.subsystem)
    notes = SkipNotes()
    max_lag_ms = args.max_lag * HOUR_MS
    sender = republish.Republisher(publisher, f"projects/{_project(args.subsystem)}/topics/{TOPIC}")
    reader: OrderedEvents | None = None
    table = _Table() if publisher is None else None
    try:
        lake = open_lake(args.subsystem, args.bucket, args.dir)
        low, high = stored_window(since_ms, until_ms, max_lag_ms)
        names = replay_objects(
            lake, args.subsystem, TOPIC, since_ms=low, until_ms=high, now_ms=_now_ms()
        )
        reader = ordered_events(lake, args, names, notes, (since_ms, until_ms))
        for chunk in reader.chunks():
            for event_id, why in sender.queue(chunk):
                print(f"not published: {_printable(event_id)}: {_printable(why)}", file=sys.stderr)
            if table is not None:
                table.add(chunk)
            sender.send()
        sender.send(all_queued=True)
    except LakeError as error:  # a RepublishError too
        raise LakeCommandError(_stopped(error, args, sender, reader, since_ms)) from None
    finally:
        if table is not None:
            table.close()
        if publisher is not None:
            publisher.close()
    _say_replayed(args, sender, notes)
    for note in notes.describe():
        print(_printable(note), file=sys.stderr)
    return 1 if sender.refused else 0


def _is_chosen(
    event: Envelope,
    since_ms: int | None,
    until_ms: int | None,
    event_type: str | None,
    key: str | None,
) -> bool:
    return (
        (since_ms is None or event.timestamp >= since_ms)
        and (until_ms is None or event.timestamp < until_ms)
        and (event_type is None or event.type == event_type)
        and (key is None or event.partition_key == key)
    )


def _now_ms() -> int:
    return _ceil_ms(datetime.now(UTC))


def _stopped(
    error: LakeError,
    args: argparse.Namespace,
    sender: Republisher,
    reader: OrderedEvents | None,
    since_ms: int | None,
) -> str:
    """One line: why the replay stopped and, once it published events, how to go on."""
    from shared.lake.republish import RepublishError

    why = " ".join(str(error).split())
    if sender.published == 0 or args.dry_run:
        refused = isinstance(error, RepublishError)
        return f"{why}; none was published: run the same command again" if refused else why
    why = f"{why}; {sender.published} event(s) were published before it"
    times = [sender.pending_since(), None if reader is None else reader.pending_since()]
    resume = _resume(min((t for t in times if t is not None), default=None), since_ms)
    if resume is None:
        return f"{why}: run the same command again (consumers skip what they processed)"
    return (
        f"{why}, every event before {_when(resume)} among them: run the command again with "
        f"--since {_when(resume)} to go on (consumers skip what they processed)"
    )


def _say_replayed(args: argparse.Namespace, sender: Republisher, notes: SkipNotes) -> None:
    skipped = f"; {notes.objects} object(s) of the lake skipped, named below" if notes else ""
    if sender.published + sender.refused == 0:
        _say_none(args)
        if skipped:
            print(skipped.removeprefix("; "), file=sys.stderr)
    elif args.dry_run:
        print(
            f"--dry-run: {sender.published} event(s) would be published on "
            f"{args.subsystem}'s bus{skipped}",
            file=sys.stderr,
        )
    else:
        print(
            f"published {sender.published} event(s) from {args.subsystem}'s lake on its bus "
            f"again (ids unchanged: consumers skip those they processed){skipped}",
            file=sys.stderr,
        )


def _bus_publisher(subsystem: str) -> AbstractPublisher:
    """The publisher of ``subsystem``'s bus, as its function host builds it (no store: a
    replay needs no access to Firestore)."""
    from shared.runtime.operator import UnreachableError, connect_bus

    try:
        return connect_bus(subsystem)
    except UnreachableError as error:
        raise LakeCommandError(f"cannot reach {subsystem}'s bus: {error}") from None


def _project(subsystem: str) -> str:
    """The project of ``subsystem``'s bus as the environment names it (the subsystem's name
    when none does): it counts towards a publish request's size."""
    try:
        return Settings.from_env(os.environ).projects.get(subsystem) or subsystem
    except ValueError:
        return subsystem


ALIGNED_LINES = 1000
"""How many event lines are held back to align their columns as one table: a longer
output is printed as it is read, its columns widening for a later line that needs it."""


class _Table:
    """Event lines (UTC time, type, partition key, id) printed as one table: the type and key
    columns as wide as the widest of the first ``held`` lines, which are printed together (at
    :meth:`close` if there are fewer); each later chunk is printed at once, widening a column
    that a line of it needs wider (a stream's columns only grow)."""

    def __init__(self, held: int | None = None) -> None:
        self._held = ALIGNED_LINES if held is None else held
        self._rows: list[tuple[str, str, str, str]] = []
        self._holding = True
        self._widths = (0, 0)

    def add(self, events: Iterable[Envelope]) -> None:
        """Print ``events``, or hold them while fewer than ``held`` lines came."""
        rows = [
            (_when(e.timestamp), e.type, _printable(e.partition_key), _printable(e.id))
            for e in events
        ]
        if self._holding:
            self._rows += rows
            if len(self._rows) < self._held:
                return
            rows, self._rows, self._holding = self._rows, [], False
        self._print(rows)

    def close(self) -> None:
        """Print the lines still held."""
        rows, self._rows, self._holding = self._rows, [], False
        self._print(rows)

    def _print(self, rows: list[tuple[str, str, str, str]]) -> None:
        type_width = max((len(row[1]) for row in rows), default=0)
        key_width = max((len(row[2]) for row in rows), default=0)
        self._widths = max(type_width, self._widths[0]), max(key_width, self._widths[1])
        types, keys = self._widths
        for when, kind, key, event_id in rows:
            print(f"{when}  {kind:<{types}}  {key:<{keys}}  {event_id}")


def _printable(text: str) -> str:
    """``text`` as it is, or escaped as in Python (``\\n``, ``\\x1b``) when it holds a
    character that would break the line or reach the terminal as a control."""
    return text if text.isprintable() else repr(text)[1:-1]


def _when(ms: int) -> str:
    moment = _EPOCH + timedelta(milliseconds=ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def _chosen(args: argparse.Namespace) -> str:
    parts = [
        f"{label} {_printable(value)}"
        for label, value in (
            ("since", args.since),
            ("until", args.until),
            ("of type", args.type),
            ("with key", args.key),
        )
        if value is not None
    ]
    return f" ({', '.join(parts)})" if parts else ""
