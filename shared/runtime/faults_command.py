"""``fooddelivery faults list|show|resubmit``: an operator's way back for faulted messages.

It reaches a subsystem's ``faults`` collection and bus as that subsystem's
function host does (:class:`~shared.settings.Settings` from the ``FOODDELIVERY_*``
environment, the same adapters): on a running ``fooddelivery dev`` stack after
``source .fooddelivery/dev/env.sh``, on GCP with ``FOODDELIVERY_MODE=gcp``,
``FOODDELIVERY_PROJECT_<NAME>`` and application-default credentials.

Only a fault whose message came from the subsystem's own bus is resubmitted
there: one refused by an ingress (a sister's ``external`` topic) or a trigger (a
document change) would reach no function on the bus, so it is refused.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.emulators import FIRESTORE, PUBSUB, listens
from shared.exceptions import KitError
from shared.runtime.faults import FAULTS_COLLECTION, fault_time, resubmit
from shared.runtime.functions import adapters as host_adapters
from shared.settings import PREFIX, Settings
from shared.stores.base import Doc, Where
from shared.system import load_subsystems
from shared.topology.model import Topic

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from shared.hub.base import AbstractPublisher
    from shared.runtime.app import SubsystemApp
    from shared.stores.base import AbstractDocumentStore

SOURCE_ENV = "source <state dir>/env.sh"
"""What loads a dev stack's environment (the state dir is `.fooddelivery/dev` by default)."""
STATUSES = ("open", "resubmitted", "all")
TRIM = 100
"""The characters of an error message a listed fault shows."""


class FaultsError(KitError):
    """The command cannot reach the faults it was asked about, or refuses to replay one."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``faults list``, ``faults show`` and ``faults resubmit`` to the command line."""
    faults = commands.add_parser(
        "faults", help="list, inspect and resubmit the messages a subsystem's functions refused"
    )
    actions = faults.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = _action(actions, "list", "one line per fault, newest first", _list)
    listing.add_argument("--status", choices=STATUSES, default="open", help="(default open)")
    listing.add_argument(
        "--limit", type=_positive, default=50, metavar="N", help="at most N (default 50)"
    )
    show = _action(actions, "show", "a fault's whole record, its message decoded", _show)
    show.add_argument("fault_id", metavar="FAULT_ID")
    again = _action(actions, "resubmit", "publish faults' messages to the bus again", _resubmit)
    again.add_argument("fault_ids", nargs="*", metavar="FAULT_ID")
    again.add_argument("--all-open", action="store_true", help="every open fault from the bus")


def _action(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help: str,
    run: Any,
) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help, description=f"{help}.")
    parser.add_argument("subsystem", help="a registered subsystem (`fooddelivery topology`)")
    parser.set_defaults(run=run)
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return int(text)


def connect(
    subsystem: str, environ: Mapping[str, str] | None = None
) -> tuple[AbstractDocumentStore, AbstractPublisher]:
    """``subsystem``'s store and publisher, built from the settings as its function host does.

    Its project must be named (``FOODDELIVERY_PROJECT_<NAME>``): ``FOODDELIVERY_PROJECT``
    and ``GOOGLE_CLOUD_PROJECT`` name the one project a function runs in, not a subsystem.
    """
    env = os.environ if environ is None else environ
    try:
        settings = Settings.from_env(env)
    except ValueError as error:
        raise FaultsError(str(error)) from None
    problem = _unreachable(subsystem, settings, env)
    if problem:
        raise FaultsError(
            f"{problem}: run `{SOURCE_ENV}` first (with `fooddelivery dev` running; the state dir "
            "is .fooddelivery/dev by default), or set "
            f"{PREFIX}MODE=gcp and {PREFIX}PROJECT_{subsystem.upper()}=<its project id> "
            "(with application-default credentials)"
        )
    return host_adapters(subsystem, settings)


def _unreachable(subsystem: str, settings: Settings, env: Mapping[str, str]) -> str | None:
    """What keeps the command from ``subsystem``'s store and bus, if anything."""
    if settings.mode == "memory":  # a store in another process's memory is out of reach
        mode = env.get(f"{PREFIX}MODE")
        return f"{PREFIX}MODE is {mode}" if mode else f"{PREFIX}MODE is not set"
    if subsystem not in settings.projects:
        return f"{PREFIX}PROJECT_{subsystem.upper()} is not set"
    if settings.mode == "emulator":
        for spec in (FIRESTORE, PUBSUB):
            where = env.get(spec.env_var)
            if not where:
                return f"{spec.env_var} is not set"
            if not listens(where):
                return f"nothing listens at {spec.env_var}={where} (has the stack stopped?)"
    return None


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
    _app(args.subsystem)
    where = [] if args.status == "all" else [Where("status", "==", args.status)]
    with _connected(args.subsystem) as (store, _):
        documents = store.query(FAULTS_COLLECTION, where)
    found = sorted((d.data for d in documents), key=lambda d: fault_time(d) or 0, reverse=True)
    for doc in found[: args.limit]:
        print(_line(doc))
    if not found:
        shown = "" if args.status == "all" else f"{args.status} "
        print(f"no {shown}faults in {args.subsystem}", file=sys.stderr)
    elif len(found) > args.limit:
        print(f"... and {len(found) - args.limit} older (--limit)", file=sys.stderr)
    return 0


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
    return "  ".join(fields)


def _when(ms: int | None) -> str:
    if ms is None:
        return "????-??-??T??:??:??Z"
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _show(args: argparse.Namespace) -> int:
    _app(args.subsystem)
    with _connected(args.subsystem) as (store, _):
        doc = _fault(store, args.subsystem, args.fault_id)
    error = dict(doc.get("error", {}))
    details = error.pop("details", "")
    message = dict(doc.get("message", {}))
    message["data"], message["dataEncoding"] = _decoded(str(message.get("data", "")))
    record = {**doc, "error": error, "message": message}
    print(json.dumps(record, indent=2, ensure_ascii=False, default=str))
    if details:
        print(f"\nerror details:\n{details.rstrip()}")
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


def _resubmit(args: argparse.Namespace) -> int:
    if bool(args.fault_ids) == args.all_open:
        raise FaultsError("give the FAULT_IDs to resubmit, or --all-open")
    app = _app(args.subsystem)
    with _connected(app.name) as (store, publisher):
        if args.all_open:
            open_faults = store.query(FAULTS_COLLECTION, [Where("status", "==", "open")])
            chosen = sorted((d.data for d in open_faults), key=lambda d: fault_time(d) or 0)
        else:
            named = dict.fromkeys(args.fault_ids)  # each once, in the order given
            chosen = [_fault(store, app.name, fault_id) for fault_id in named]
        refusals = {d["id"]: why for d in chosen if (why := _not_from_bus(app, d))}
        if refusals and not args.all_open:
            raise FaultsError("; ".join(refusals.values()))
        for doc in chosen:
            if doc["id"] in refusals:
                print(f"left open: {refusals[doc['id']]}", file=sys.stderr)
            else:
                message_id = resubmit(store, publisher, doc["id"])
                print(f"{doc['id']} resubmitted to the {app.name} bus as message {message_id}")
    return 0


def _not_from_bus(app: SubsystemApp[Any], doc: Doc) -> str | None:
    """Why a fault's message would reach no function on ``app``'s bus; ``None`` if it would.

    A fault event names its function ``subsystem/service/function``; a dead letter
    its subscription, ``service-function``.
    """
    readers = set()
    for service, consumer in app.topology.consumers():
        if consumer.channel.topic is Topic.BUS and consumer.channel.subsystem is None:
            readers |= {
                f"{app.name}/{service.name}/{consumer.name}",
                consumer.subscription(service),
            }
    function = doc.get("function") or ""
    if function in readers:
        return None
    origin = f"{function} does not read" if function else "its message did not come from"
    return (
        f"fault {doc['id']}: {origin} the {app.name} bus, so resubmitting it there reaches no one"
    )
