"""``fooddelivery faults list|show|resubmit``: an operator's way back for faulted messages.

It reaches a subsystem's ``faults`` collection and bus as that subsystem's
function host does (:func:`shared.runtime.operator.connect`): on a running
``fooddelivery dev`` stack after ``source .fooddelivery/dev/env.sh``, on GCP with
``FOODDELIVERY_MODE=gcp``, ``FOODDELIVERY_PROJECT_<NAME>`` and application-default
credentials.

``resubmit`` hands each fault's stored message back the way it first came
(:mod:`shared.runtime.fault_replay`), once the cause is fixed:

* refused by a consumer of the subsystem's own bus, or by the dev stack's lake writer
  (:data:`~shared.runtime.fault_replay.LAKE_WRITER`): published on the bus again;
* refused by an ingress (its message came from a sister's ``external`` topic) or a
  database-first trigger (a document change): POSTed to that very function as its
  Pub/Sub push request or Eventarc CloudEvent, on the dev stack's host or the deployed
  function (:mod:`shared.runtime.fault_delivery`, with an ID token on GCP);
* refused by a schedule: the schedule runs once more.

Consumers skip what they processed already, so a replay of a handled message
changes nothing. A fault handed to its function is marked ``resubmitted`` only when
the function answered that it processed it: a 2xx whose headers name no fault
(:func:`~shared.runtime.faults.refusal`); one whose function is gone, whose host does
not answer, or whose function refuses it again (non-2xx, or a 2xx naming the fault it
recorded) stays ``open``, with the reason on stderr and a non-zero exit. A bus
consumer's fault is marked ``resubmitted`` once the bus took its message: what the
consumers do with it comes later, and one that refuses it again reopens the record
(:mod:`shared.runtime.faults`). A named fault that is ``resubmitted`` already is left
alone, with a word on stderr, unless ``--force``: a refusal since would have reopened it,
so handing it back again would only publish what its consumers skip.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import getpass
import json
import sys
import textwrap
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from shared.exceptions import KitError, PublishError
from shared.runtime.fault_delivery import (
    DEFAULT_REGION,
    REGION_SETTING,
    FunctionUrl,
    ReplayError,
    deliver,
    function_url,
)
from shared.runtime.fault_replay import (
    NoWayBack,
    Origin,
    ReplayRequest,
    Way,
    functions_with_faults,
    not_kept,
    origin,
    replay_request,
)
from shared.runtime.faults import (
    ARISEN_AT,
    DROPPED,
    FAULTS_COLLECTION,
    NOT_KEPT,
    MessageNotKept,
    claim,
    claimed,
    drop,
    fault_time,
    mark_replayed,
    refusal,
    release,
    resubmit,
)
from shared.runtime.operator import connect
from shared.settings import PREFIX, Settings
from shared.stores.base import MAX_IN_VALUES, Doc, Document, Where
from shared.system import load_subsystems

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from shared.hub.base import AbstractPublisher
    from shared.runtime.app import SubsystemApp
    from shared.stores.base import AbstractDocumentStore

STATUSES = ("open", "resubmitted", DROPPED, "all")
CLOSED = ("resubmitted", DROPPED)
"""The statuses of a fault that a named ``resubmit`` leaves alone unless ``--force``."""
TRIM = 100
"""The characters of an error message a listed fault shows."""
RESUBMIT_EPILOG = """\
each fault's message goes back the way it came, to the function that refused it:
  a bus consumer's   published on the subsystem's bus again
  an ingress's       the same message POSTed to the function as its Pub/Sub push request
  a trigger's        the stored document change POSTed to it as its Eventarc CloudEvent
  a schedule's       the schedule runs once more
A message the dev stack's lake writer could never store goes back on the bus too, where the
lake writer's subscription takes it again once the objects in its way are moved.

On a dev stack the function is served by the subsystem's host (FOODDELIVERY_HOST_<NAME>,
from env.sh); on GCP it is https://REGION-PROJECT.cloudfunctions.net/NAME, called with
an ID token of the service account in GOOGLE_APPLICATION_CREDENTIALS (or the metadata
server's). A fault handed to its function is marked resubmitted once the function
answers that it processed it; one it refuses again (an error, or a 2xx naming the fault
it recorded) stays open, the reason goes to stderr and the exit code is 1 (2, before
anything is handed back, when a named fault has no way back). A bus consumer's fault is
marked resubmitted once the bus took it: a consumer refusing it again reopens it later
(see `faults list`). A named fault that is resubmitted or dropped already (no function
refused it since) is left alone, said so on stderr, unless --force hands it back again.
A fault another command is handing back right now is left alone, --force or not. A fault
whose message was too large to keep has none to hand back: the command says how else it
reaches its function (`fooddelivery lake replay`, or its document written again).
"""


class FaultsError(KitError):
    """The command cannot reach the faults it was asked about, or refuses to replay one."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``faults list``, ``show``, ``resubmit`` and ``drop`` to the command line."""
    faults = commands.add_parser(
        "faults",
        help="list, inspect, resubmit and drop the messages a subsystem's functions refused",
    )
    actions = faults.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = _action(actions, "list", "one line per fault, newest first", _list)
    listing.add_argument(
        "--status",
        choices=STATUSES,
        default="open",
        help="which faults: open, resubmitted or dropped ones, or all (default open)",
    )
    listing.add_argument(
        "--limit", type=_positive, default=50, metavar="N", help="at most N (default 50)"
    )
    listing.add_argument(
        "--skip", type=_whole, default=0, metavar="N", help="after the newest N (a next page)"
    )
    listing.add_argument(
        "--function",
        metavar="NAME",
        help="refused by this function (service/function, or as the record names it)",
    )
    listing.add_argument(
        "--since", type=_age, metavar="AGE", help="arisen within AGE (30m, 2h, 7d...)"
    )
    listing.add_argument(
        "--older-than", type=_age, metavar="AGE", help="arisen more than AGE ago (30m, 2h, 7d...)"
    )
    listing.add_argument("--json", action="store_true", help=f"one JSON object a line: {COLUMNS}")
    show = _action(actions, "show", "a fault's whole record, its message decoded", _show)
    show.add_argument("fault_id", metavar="FAULT_ID", help="a fault's id (`faults list`)")
    show.add_argument(
        "--json", action="store_true", help="the record alone as one JSON document, details in it"
    )
    again = _action(
        actions,
        "resubmit",
        "hand faults' messages back: a bus consumer's to the bus, an ingress's, trigger's or "
        "schedule's to that function",
        _resubmit,
        epilog=RESUBMIT_EPILOG,
    )
    again.add_argument(
        "fault_ids", nargs="*", metavar="FAULT_ID", help="a fault's id (`faults list`)"
    )
    again.add_argument("--all-open", action="store_true", help="every open fault, oldest first")
    again.add_argument(
        "--force",
        action="store_true",
        help="hand back a named fault resubmitted or dropped already (else it is left alone)",
    )
    again.add_argument(
        "--region",
        default=None,
        help=f"on GCP, the functions' region (default ${PREFIX}{REGION_SETTING}, "
        f"else {DEFAULT_REGION})",
    )
    dropping = _action(
        actions,
        "drop",
        "close faults that are not to go back, the reason kept in each record for audit",
        _drop,
    )
    dropping.add_argument(
        "fault_ids", nargs="+", metavar="FAULT_ID", help="a fault's id (`faults list`)"
    )
    dropping.add_argument(
        "--reason", required=True, type=_reason, help="why (kept in the record's drops)"
    )


def _action(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help: str,
    run: Any,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    parser = actions.add_parser(
        name,
        help=help,
        description=textwrap.fill(f"{help}.", width=88),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the epilog's table
    )
    parser.add_argument("subsystem", help="a registered subsystem (`fooddelivery topology`)")
    parser.set_defaults(run=run)
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return int(text)


def _whole(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}")
    return int(text)


AGE_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _age(text: str) -> int:
    """``30m``, ``2h``, ``7d``... in milliseconds."""
    number, unit = text[:-1], text[-1:]
    if unit not in AGE_UNITS or not number.isdigit():
        raise argparse.ArgumentTypeError(
            f"must be a whole number and s, m, h or d (2h, 7d), not {text!r}"
        )
    return int(number) * AGE_UNITS[unit]


def _reason(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must say why")
    return " ".join(text.split())


@contextlib.contextmanager
def _connected(subsystem: str) -> Iterator[tuple[AbstractDocumentStore, AbstractPublisher]]:
    store, publisher = connect(subsystem)
    try:
        yield store, publisher
    finally:
        publisher.close()


def _app(name: str) -> SubsystemApp[Any]:
    apps = {app.name: app for app in load_subsystems()}
    if name not in apps:
        raise FaultsError(f"no subsystem {name!r}: one of {', '.join(sorted(apps))}")
    return apps[name]


def _list(args: argparse.Namespace) -> int:
    app = _app(args.subsystem)
    functions = sorted(_function_names(app, args.function)) if args.function else None
    queries = _listing_queries(args, functions, _now_ms())
    wanted = args.skip + args.limit + 1  # one more than the page tells whether older ones are
    with _connected(args.subsystem) as (store, _):
        found = _newest(store, queries, wanted)
        page = found[args.skip : args.skip + args.limit]
        for doc in page:
            print(json.dumps(_summary(doc), ensure_ascii=True) if args.json else _line(doc))
        if not page:
            shown = "" if args.status == "all" else f"{args.status} "
            more = f" past the newest {args.skip}" if found else ""
            print(f"no {shown}faults in {args.subsystem}{more}", file=sys.stderr)
            if functions == [args.function]:  # it designates no function the subsystem has
                print(
                    f"(no function of {args.subsystem} is named {args.function}: name one as "
                    "service/function, e.g. "
                    f"{_example_function(app)}, or as a fault names it)",
                    file=sys.stderr,
                )
        elif len(found) > args.skip + args.limit:
            matching = sum(
                store.count(FAULTS_COLLECTION, where, order_by=ARISEN_AT, descending=True)
                for where in queries
            )
            # at least those read: a fault may have changed status since the page was read
            older = max(matching, len(found)) - args.skip - args.limit
            print(f"... and {older} older (--skip {args.skip + args.limit})", file=sys.stderr)
    return 0


def _listing_queries(
    args: argparse.Namespace, functions: list[str] | None, now: int
) -> list[list[Where]]:
    """The conditions of the queries ``faults list`` makes, one a batch of ``--function``'s
    names (:data:`MAX_IN_VALUES` to an ``in``; they find disjoint faults), each ordered by
    :data:`ARISEN_AT` (:data:`~shared.runtime.faults.FAULT_INDEXES`): ``--since`` and
    ``--older-than`` are a range on it, which every record holds a number in."""
    where = [] if args.status == "all" else [Where("status", "==", args.status)]
    since = 0 if args.since is None else now - args.since
    where.append(Where(ARISEN_AT, ">=", since))
    if args.older_than is not None:
        where.append(Where(ARISEN_AT, "<=", now - args.older_than))
    if functions is None:
        return [where]
    batches = range(0, len(functions), MAX_IN_VALUES)
    return [[*where, Where("function", "in", functions[i : i + MAX_IN_VALUES])] for i in batches]


def _newest(store: AbstractDocumentStore, queries: list[list[Where]], wanted: int) -> list[Doc]:
    """The newest ``wanted`` faults the ``queries`` find, newest first: ``wanted`` of each
    read at most."""
    found = [
        document
        for where in queries
        for document in store.query(
            FAULTS_COLLECTION, where, order_by=ARISEN_AT, descending=True, limit=wanted
        )
    ]
    found.sort(key=lambda d: (d.data[ARISEN_AT], d.key), reverse=True)
    return [document.data for document in found[:wanted]]


def _example_function(app: SubsystemApp[Any]) -> str:
    """A function of ``app`` as ``service/function``, to show how one is named."""
    service, fn = next(iter(app.topology.functions()))
    return f"{service.name}/{fn.name}"


def _function_names(app: SubsystemApp[Any], name: str) -> set[str]:
    """The names fault records give the functions ``name`` designates: fault events'
    ``subsystem/service/function``, dead letters' ``service-function``."""
    names = {name}
    for service, fn in functions_with_faults(app.topology):
        qualified, dead_letter = f"{app.name}/{service.name}/{fn.name}", f"{service.name}-{fn.name}"
        if name in (qualified, f"{service.name}/{fn.name}", dead_letter, fn.name):
            names |= {qualified, dead_letter}
    return names


COLUMNS = "time, id, status, reason, function, error (type: message)"
"""What a line of ``faults list`` says, two spaces apart (the error last, trimmed)."""


def _summary(doc: Doc) -> dict[str, Any]:
    """What ``faults list --json`` prints of a fault: a line's columns, the error whole."""
    error = doc.get("error", {})
    return {
        "time": None if fault_time(doc) is None else _when(fault_time(doc)),
        "id": doc["id"],
        "status": doc.get("status", "?"),
        "reason": doc.get("reason", "?"),
        "function": doc.get("function") or "",
        "error": {"type": error.get("type", "?"), "message": error.get("message", "")},
        "deliveryAttempt": doc.get("deliveryAttempt", 0),
        "recurrences": doc.get("recurrences", 0),
    }


def _line(doc: Doc) -> str:
    error = doc.get("error", {})
    message = " ".join(str(error.get("message", "")).split())
    if len(message) > TRIM:
        message = message[: TRIM - 3] + "..."
    fields = [
        _when(fault_time(doc)),
        doc["id"],
        doc.get("status", "?"),
        doc.get("reason", "?"),
        doc.get("function") or "-",
        f"{error.get('type', '?')}: {message}",
    ]
    return _printable("  ".join(str(field) for field in fields))


def _printable(text: str, keep: str = "") -> str:
    """``text`` with each control, format or surrogate character but those in ``keep``
    written as its JSON escape (``\\u001b``): an error may quote what a stranger sent, and
    the terminal it is printed to must not take it for commands (colours, a title, a line
    rewritten, text reversed). JSON text stays the same JSON."""
    return "".join(
        char
        if char in keep or unicodedata.category(char) not in ("Cc", "Cf", "Cs")
        else _escape(char)
        for char in text
    )


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def _when(ms: int | None) -> str:
    if ms is None:
        return "????-??-??T??:??:??Z"
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _show(args: argparse.Namespace) -> int:
    app = _app(args.subsystem)
    with _connected(args.subsystem) as (store, _):
        doc = _fault(store, args.subsystem, args.fault_id)
    error = dict(doc.get("error", {}))
    details = error.pop("details", "")
    message = dict(doc.get("message", {}))
    if NOT_KEPT not in message:  # else it says why there is no data, with its size and hash
        message["data"], message["dataEncoding"] = _decoded(str(message.get("data", "")))
    if args.json:  # one document, whole: the details in its error
        record = {**doc, "error": {**error, "details": details}, "message": message}
        print(json.dumps(record, ensure_ascii=True, default=str))
    else:
        record = {**doc, "error": error, "message": message}
        # A lone surrogate (refused data may hold one, escaped) is printed as its JSON
        # escape, and so is any control or format character.
        shown = json.dumps(record, indent=2, ensure_ascii=False, default=str)
        print(_printable(shown, keep="\n"))
        if details:
            shown_details = _printable(str(details).rstrip(), keep="\n\t")
            print(f"\nerror details:\n{shown_details}")
    left_out = not_kept(app.topology, doc)
    if left_out is not None:  # the record is shown all the same: exit 0
        print(_printable(f"note: {left_out}"), file=sys.stderr)
    return 0


def _decoded(data: str) -> tuple[Any, str]:
    """A message's data as JSON (an envelope, mostly), else text, else the base64 it is."""
    try:
        raw = base64.b64decode(data, validate=True)
        text = raw.decode()
    except (binascii.Error, UnicodeDecodeError):
        return data, "base64"
    try:
        return json.loads(text), "json"
    except ValueError:
        return text, "text"


def _fault(store: AbstractDocumentStore, subsystem: str, fault_id: str) -> Doc:
    doc = store.get(FAULTS_COLLECTION, fault_id) if fault_id else None
    if doc is None:
        raise FaultsError(f"{subsystem} has no fault {fault_id!r} (see `fooddelivery faults list`)")
    return doc


def _drop(args: argparse.Namespace) -> int:
    app = _app(args.subsystem)
    by = _operator()
    with _connected(app.name) as (store, _):
        chosen = [_fault(store, app.name, fault_id) for fault_id in dict.fromkeys(args.fault_ids)]
        kept = 0
        for doc in chosen:
            if drop(store, doc["id"], args.reason, at=_now_ms(), by=by) is not None:
                print(f"{doc['id']} dropped: {args.reason}")
                continue
            print(_not_claimed(store, doc["id"]), file=sys.stderr)
            now = store.get(FAULTS_COLLECTION, doc["id"])
            kept += now is None or now.get("status") != DROPPED
    return 1 if kept else 0


def _operator() -> str:
    """Who runs the command, as a dropped fault notes it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name, nor user in the password database
        return "unknown"


def _resubmit(args: argparse.Namespace) -> int:
    if args.fault_ids and args.all_open:
        raise FaultsError("give the FAULT_IDs to resubmit or --all-open, not both")
    if not args.fault_ids and not args.all_open:
        raise FaultsError("give the FAULT_IDs to resubmit, or --all-open")
    app = _app(args.subsystem)
    settings = Settings.from_env()
    region = args.region or settings.extra.get(REGION_SETTING) or DEFAULT_REGION

    def planned(doc: Doc) -> Plan | str:
        """How ``doc`` goes back, or why it cannot."""
        try:
            return _plan(app, settings, region, doc)
        except (NoWayBack, ReplayError) as error:
            return str(error)

    with _connected(app.name) as (store, publisher):
        chosen: Iterable[Doc]
        plans: dict[str, Plan | str] = {}
        if args.all_open:
            chosen = _open_faults(store, app.name)  # read a page at a time, as they go back
        else:
            named = dict.fromkeys(args.fault_ids)  # each once, in the order given
            chosen = [_fault(store, app.name, fault_id) for fault_id in named]
            if not args.force:
                for doc in chosen:
                    if doc.get("status") in CLOSED:
                        print(_already(doc), file=sys.stderr)
                chosen = [doc for doc in chosen if doc.get("status") not in CLOSED]
            plans = {doc["id"]: planned(doc) for doc in chosen}
            refusals = [why for why in plans.values() if isinstance(why, str)]
            if refusals:  # nothing named is handed back unless all can be
                raise FaultsError(_printable("; ".join(refusals)))
        left_open = 0
        with replay_session() as session:
            for doc in chosen:
                plan = plans.get(doc["id"]) or planned(doc)
                if isinstance(plan, str):
                    why = plan
                else:
                    token = uuid.uuid4().hex
                    if claim(store, doc["id"], token, _now_ms(), force=args.force) is None:
                        print(_not_claimed(store, doc["id"]), file=sys.stderr)
                        continue
                    try:
                        print(_hand_back(store, publisher, session, plan, doc))
                        continue
                    except (FaultsError, ReplayError) as error:
                        why = f"fault {doc['id']}: {error}"
                    except MessageNotKept as error:  # its data left out since it was read
                        now = store.get(FAULTS_COLLECTION, doc["id"]) or doc
                        why = not_kept(app.topology, now) or str(error)
                    finally:  # a fault marked handed back holds no claim any more
                        release(store, doc["id"], token)
                print(_printable(f"left open: {why}"), file=sys.stderr)
                left_open += 1
    return 1 if left_open else 0


PAGE = 100
"""The faults read at once: by ``resubmit --all-open``, and at most by the dev hosts'
``/_dev/faults``."""


def fault_page(
    store: AbstractDocumentStore,
    where: list[Where],
    limit: int,
    after: tuple[int, str] | None = None,
) -> list[Document]:
    """The newest ``limit`` fault records the conditions ``where`` find, newest first (by
    :data:`ARISEN_AT`, then by key, descending), after ``after``: the (:data:`ARISEN_AT`,
    key) of the last record of the page before. Ordered by :data:`ARISEN_AT` as
    ``faults list`` orders, on the same indexes (:data:`~shared.runtime.faults.FAULT_INDEXES`);
    records with the same time as the page's last are read apart, so a page ending among
    them misses none and repeats none, whatever order the store gives such ties."""
    found: dict[str, Document] = {}
    older = list(where)
    if after is not None:
        older.append(Where(ARISEN_AT, "<", after[0]))
        found |= {d.key: d for d in _arisen_at(store, where, after[0]) if d.key < after[1]}
    for doc in store.query(
        FAULTS_COLLECTION, older, order_by=ARISEN_AT, descending=True, limit=limit
    ):
        found[doc.key] = doc
    page = sorted(found.values(), key=_newest_first, reverse=True)[:limit]
    if len(page) == limit and (after is None or page[-1].data[ARISEN_AT] != after[0]):
        last = page[-1].data[ARISEN_AT]  # the store's limit may have cut these ties anyhow
        found |= {d.key: d for d in _arisen_at(store, where, last)}
        page = sorted(found.values(), key=_newest_first, reverse=True)[:limit]
    return page


def _arisen_at(store: AbstractDocumentStore, where: list[Where], at: int) -> list[Document]:
    """The records ``where`` finds that arose at ``at`` exactly."""
    return store.query(FAULTS_COLLECTION, [*where, Where(ARISEN_AT, "==", at)])


def _newest_first(doc: Document) -> tuple[int, str]:
    return doc.data[ARISEN_AT], doc.key


def _open_faults(store: AbstractDocumentStore, subsystem: str) -> Iterator[Doc]:
    """The open faults, oldest first, each read again just before it is yielded (another
    command may have handed it back since): their keys are found a page of :data:`PAGE`
    at a time, newest first (the index's order), without their records kept."""
    keys: list[str] = []
    after: tuple[int, str] | None = None
    while True:
        page = fault_page(store, [Where("status", "==", "open")], PAGE, after)
        keys += [doc.key for doc in page]
        if len(page) < PAGE:
            break
        after = _newest_first(page[-1])
    if not keys:
        print(f"no open faults in {subsystem}: nothing to resubmit", file=sys.stderr)
    for key in reversed(keys):
        doc = store.get(FAULTS_COLLECTION, key)
        if doc is None or doc.get("status") != "open":
            print(_not_claimed(store, key), file=sys.stderr)
            continue
        yield doc


def _not_claimed(store: AbstractDocumentStore, fault_id: str) -> str:
    """Why a fault could not be claimed (:func:`claim`) or dropped (:func:`drop`)."""
    doc = store.get(FAULTS_COLLECTION, fault_id)
    if doc is None:
        return f"{fault_id} is gone: left alone"
    if claimed(doc, _now_ms()):
        return f"{fault_id} is being handed back by another command right now: left alone"
    if doc.get("status") in CLOSED:
        return _already(doc)
    return f"{fault_id} is {doc.get('status')} now: left alone"


def _already(doc: Doc) -> str:
    """What a named fault that was resubmitted or dropped already says instead of going back."""
    drops = doc.get("drops") or []
    if doc.get("status") == DROPPED and drops and isinstance(drops[-1], dict):
        last = drops[-1]
        return (
            f"{doc['id']} was dropped at {_when(last.get('at'))} by {last.get('by')} "
            f"({last.get('reason')}) and not refused since: left alone (--force hands it back)"
        )
    replays, resubmissions = doc.get("replays") or [], doc.get("resubmissions") or []
    if replays and isinstance(replays[-1], dict):
        last = replays[-1]
        how = f"replayed to {last.get('function')} at {_when(last.get('at'))}"
    elif resubmissions:
        how = f"published on the bus as message {resubmissions[-1]}"
    else:
        how = "marked resubmitted"
    return (
        f"{doc['id']} was resubmitted already ({how}) and not refused since: left alone "
        "(--force hands it back again)"
    )


def replay_session() -> requests.Session:
    """The HTTP session replays are POSTed through (a test mounts its transport on it)."""
    return requests.Session()


@dataclass(frozen=True, slots=True)
class Plan:
    """How one fault goes back: its function and, unless by the bus, where and what."""

    origin: Origin
    function: FunctionUrl | None = None
    request: ReplayRequest | None = None


def _plan(app: SubsystemApp[Any], settings: Settings, region: str, doc: Doc) -> Plan:
    """How the fault ``doc`` goes back; raises NoWayBack or ReplayError if it cannot."""
    found = origin(app.topology, doc)
    if found.way is Way.BUS:
        return Plan(found)
    project = settings.projects[app.name]
    function = function_url(app.name, found.target, settings, region)
    return Plan(found, function, replay_request(found, project, doc))


def _hand_back(
    store: AbstractDocumentStore,
    publisher: AbstractPublisher,
    session: requests.Session,
    plan: Plan,
    doc: Doc,
) -> str:
    """Hand one fault back as planned; what happened, for stdout. Raises ReplayError or
    FaultsError (the fault stays open) when the function did not process it."""
    fault_id, found = doc["id"], plan.origin
    if plan.function is None or plan.request is None:
        try:
            message_id = resubmit(store, publisher, fault_id)
        except PublishError as error:  # this message, or the bus for now: the others may go
            raise FaultsError(f"the {found.subsystem} bus refused it: {error}") from None
        return f"{fault_id} resubmitted to the {found.subsystem} bus as message {message_id}"
    at = _now_ms()
    answer = deliver(plan.function, plan.request, session, found.qualified)
    status, refused = answer.status_code, refusal(answer.headers)
    if refused is not None:
        recorded = "" if refused.fault_id == fault_id else f" as fault {refused.fault_id}"
        raise FaultsError(
            f"{found.qualified} refused it again{recorded} (HTTP {status}): {refused.error}"
        )
    replay = {"function": found.qualified, "url": plan.function.url, "at": at}
    if not mark_replayed(store, fault_id, replay):
        raise FaultsError(f"{found.qualified} took it (HTTP {status}); its record is gone")
    done = "ran once more" if found.way is Way.TICK else "took it"
    return (
        f"{fault_id} replayed to {found.qualified} at {plan.function.url}: {done} (HTTP {status})"
    )


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
