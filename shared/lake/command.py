"""``fooddelivery lake events``: an operator's look into a subsystem's event lake.

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
and ``--limit`` lists and reads one hour folder at a time, stopping at the first
that, by ``--max-lag``, can only hold events later than those it shows: an event
stored more than ``--max-lag`` after its own time is missed by ``--until`` and by
``--limit``, and found by a read with neither.
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
from shared.lake.window import LEVELS, folder_span
from shared.runtime.operator import SOURCE_ENV
from shared.settings import PREFIX, Settings
from shared.system import load_subsystems

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from shared.lake.base import AbstractLake

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
--limit; raise --max-lag, or leave both out, to find it. An event the lake holds
twice is shown once. A lake with lake_retention_days (GCP) has deleted what was
stored longer ago than that; an object deleted while it is being read, and the
lines of an object that are no envelope (corrupt, truncated), are skipped, each
object named once on stderr.

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


class LakeCommandError(KitError):
    """The command cannot read the lake it was asked about, or was asked wrongly."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lake events`` to the command line."""
    lake = commands.add_parser(
        "lake", help="read a subsystem's event lake: every event its bus carried"
    )
    actions = lake.add_subparsers(dest="action", required=True, metavar="ACTION")
    events = actions.add_parser(
        "events",
        help="print a subsystem's events, oldest first, by time, type or entity",
        description=textwrap.fill(DESCRIPTION, width=88),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the epilog's table
    )
    events.add_argument(
        "subsystem", metavar="SUBSYSTEM", help="a registered subsystem (`fooddelivery topology`)"
    )
    events.add_argument("--since", metavar="TIME", help="events at or after TIME")
    events.add_argument("--until", metavar="TIME", help="events before TIME")
    events.add_argument("--type", metavar="TYPE", help="only events of TYPE, e.g. order-placed")
    events.add_argument(
        "--key", metavar="KEY", help="only the events of one entity: its partition key, e.g. o-42"
    )
    events.add_argument(
        "--limit", type=_positive, metavar="N", help="at most N, the oldest (default: all)"
    )
    events.add_argument(
        "--max-lag",
        type=_positive,
        default=STORED_LATE_MS // HOUR_MS,
        metavar="HOURS",
        help="how long after it happened an event may have been stored, for --until and "
        "--limit (default: %(default)s)",
    )
    events.add_argument(
        "--json", action="store_true", help="one envelope per line (JSON Lines), for piping"
    )
    where = events.add_mutually_exclusive_group()
    where.add_argument(
        "--bucket", metavar="NAME", help="read the lake in this Cloud Storage bucket (or gs://NAME)"
    )
    where.add_argument(
        "--dir", type=Path, metavar="PATH", help="read the lake in this local directory"
    )
    events.set_defaults(run=_events)


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


def read_events(
    lake: AbstractLake,
    subsystem: str,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    event_type: str | None = None,
    key: str | None = None,
    limit: int | None = None,
    max_lag_ms: int = STORED_LATE_MS,
) -> tuple[list[Envelope], SkipNotes, bool]:
    """The chosen events, oldest first and each once (at most ``limit``), the objects
    skipped (gone when read) and lines skipped (no envelope) on the way, and whether
    more events than ``limit`` were chosen.

    With ``limit`` the objects are listed and read in time order, one hour folder at a
    time, only until the next one's hour folder starts more than ``max_lag_ms`` after
    the newest event kept: events stored there happened later than every event kept.
    """
    low, high = stored_window(since_ms, until_ms, max_lag_ms)
    if limit is None:
        names: Iterable[str] = lake.objects(subsystem, TOPIC, since_ms=low, until_ms=high)
    else:
        names = lake.objects_oldest_first(subsystem, TOPIC, since_ms=low, until_ms=high)
    found: dict[str, Envelope] = {}
    notes = SkipNotes()
    for name in names:
        if limit is not None and len(found) > limit:
            start = _folder_start(subsystem, name)
            newest = max(event.timestamp for event in found.values())
            if start is not None and start - max_lag_ms > newest:
                break
        for event in lake.read_envelopes(name, notes):
            if (
                (since_ms is None or event.timestamp >= since_ms)
                and (until_ms is None or event.timestamp < until_ms)
                and (event_type is None or event.type == event_type)
                and (key is None or event.partition_key == key)
            ):
                found.setdefault(event.id, event)
        if limit is not None and len(found) > limit + 1:
            found = _oldest(found, limit + 1)
    events = sorted(found.values(), key=lambda e: e.timestamp)
    if limit is None:
        return events, notes, False
    return events[:limit], notes, len(events) > limit


def _oldest(found: dict[str, Envelope], count: int) -> dict[str, Envelope]:
    """The ``count`` oldest of ``found``; of equal timestamps, the first found."""
    return dict(sorted(found.items(), key=lambda item: item[1].timestamp)[:count])


def _folder_start(subsystem: str, name: str) -> int | None:
    """Epoch ms at which the hour folder of object ``name`` starts (None: no layout name)."""
    parts = name.removeprefix(topic_prefix(subsystem, TOPIC)).split("/")
    span = folder_span(parts[:LEVELS]) if len(parts) == LEVELS + 1 else None
    return None if span is None else span[0]


def _events(args: argparse.Namespace) -> int:
    apps = sorted(app.name for app in load_subsystems())
    if args.subsystem not in apps:
        raise LakeCommandError(f"no subsystem {args.subsystem!r}: one of {', '.join(apps)}")
    since = None if args.since is None else parse_moment(args.since, "--since")
    until = None if args.until is None else parse_moment(args.until, "--until")
    if since is not None and until is not None and since >= until:
        raise LakeCommandError(f"--since {args.since} is not before --until {args.until}")
    lake = open_lake(args.subsystem, args.bucket, args.dir)
    try:
        shown, notes, more = read_events(
            lake,
            args.subsystem,
            since_ms=None if since is None else _ceil_ms(since),
            until_ms=None if until is None else _ceil_ms(until),
            event_type=args.type,
            key=args.key,
            limit=args.limit,
            max_lag_ms=args.max_lag * HOUR_MS,
        )
    except LakeError as error:
        raise LakeCommandError(" ".join(str(error).split())) from None  # one line, always
    if args.json:
        for event in shown:
            print(event.to_bytes().decode())
    else:
        for line in _lines(shown):
            print(line)
    if not shown:
        print(f"no events in {args.subsystem}'s lake{_chosen(args)}", file=sys.stderr)
        if args.dir is not None and not (args.dir / topic_prefix(args.subsystem, TOPIC)).is_dir():
            print(  # `--dir lake/order` instead of `--dir lake`: say where it looked
                f"(there is no {topic_prefix(args.subsystem, TOPIC)} under {args.dir}: --dir "
                "names the lake's root, which holds a folder per subsystem)",
                file=sys.stderr,
            )
    elif more:
        print(f"... and more, later (--limit {args.limit})", file=sys.stderr)
    for note in notes.describe():
        print(_printable(note), file=sys.stderr)
    return 0


def _lines(events: list[Envelope]) -> list[str]:
    keys = [_printable(e.partition_key) for e in events]
    type_width = max((len(e.type) for e in events), default=0)
    key_width = max((len(key) for key in keys), default=0)
    return [
        f"{_when(e.timestamp)}  {e.type:<{type_width}}  {key:<{key_width}}  {_printable(e.id)}"
        for e, key in zip(events, keys, strict=True)
    ]


def _printable(text: str) -> str:
    """``text`` as it is, or escaped as in Python (``\\n``, ``\\x1b``) when it holds a
    character that would break the line or reach the terminal as a control."""
    return text if text.isprintable() else repr(text)[1:-1]


def _when(ms: int) -> str:
    moment = _EPOCH + timedelta(milliseconds=ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def _chosen(args: argparse.Namespace) -> str:
    parts = [
        f"{label} {value}"
        for label, value in (
            ("since", args.since),
            ("until", args.until),
            ("of type", args.type),
            ("with key", args.key),
        )
        if value is not None
    ]
    return f" ({', '.join(parts)})" if parts else ""
