"""The way back for a recorded fault: which function refused it, and what it is handed again.

A fault record names the function that refused its message: a fault event as
``subsystem/service/function``, a dead letter by its subscription
``service-function`` (a trigger's dead letters name it the same way, whichever runtime
gave up on the change: :meth:`~shared.runtime.consumer.TriggerRuntime.dead_letter`).
That function gets the message back the way it came first:

* a consumer of the subsystem's own ``bus``: published on the bus again;
* an ingress, which reads a sister subsystem's ``external`` topic (the subsystem
  cannot publish there): the Pub/Sub push request its subscription delivered, the
  same message with the same id, POSTed to the function;
* a database-first trigger: the Eventarc CloudEvent of the stored document change
  (:mod:`shared.runtime.change_events`), unless the change was kept with fields masked
  (its trigger's ``redact``): the trigger would run on the mask, not the values;
* a schedule: one more tick (a tick carries nothing but its time, so it runs now).

The dev stack's lake writer (``devstack/lake.py``) reads every bus too, but is no function
of a topology: a message it could never store is its fault (:data:`LAKE_WRITER`), handed
back on the bus, where its subscription takes the message again.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from shared.exceptions import EnvelopeError, KitError
from shared.hub.message import push_json
from shared.hub.routing import Rule
from shared.lake.faults import WRITER
from shared.runtime.change_events import StoredChange, cloudevent_headers, document_event_data
from shared.runtime.consumer import REDACTED_ATTRIBUTE
from shared.runtime.faults import REDACTED, data_left_out, message_from_json
from shared.stores.eventarc import CONTENT_TYPE, PROTOBUF
from shared.topology.model import (
    Channel,
    Consumer,
    Endpoint,
    Function,
    Role,
    Schedule,
    Service,
    ServiceKind,
    Topic,
    Trigger,
)

if TYPE_CHECKING:
    from shared.stores.base import Doc
    from shared.topology.model import Subsystem


class Way(StrEnum):
    """How a fault's message reaches its function again."""

    BUS = "bus"
    PUSH = "push"
    CLOUDEVENT = "cloudevent"
    TICK = "tick"


LAKE_WRITER = Service(
    "kit",
    ServiceKind.CONTROL,
    (Consumer(WRITER, Role.LISTENER, channel=Channel(Rule()), handlers=()),),
    "a lake writer (the dev stack's, the embedded hub's): every bus event into the event lake",
)
"""The kit's reader of a subsystem's whole bus, in no topology: its faults name it
``{subsystem}/kit/lake-writer`` (:func:`~shared.lake.faults.writer_function`) and go back on
the bus."""


class NoWayBack(KitError):
    """The fault names no function of the subsystem that could take its message again."""


@dataclass(frozen=True, slots=True)
class Origin:
    """The function of ``subsystem`` that refused a fault's message."""

    subsystem: str
    service: Service
    function: Function

    @property
    def qualified(self) -> str:
        """``subsystem/service/function``, as fault events name it."""
        return f"{self.subsystem}/{self.service.name}/{self.function.name}"

    @property
    def target(self) -> str:
        """Its functions-framework target (the dev host's path, the function's entry point)."""
        return self.function.target(self.service)

    @property
    def way(self) -> Way:
        """How its message goes back to it."""
        fn = self.function
        if isinstance(fn, Consumer):
            own_bus = fn.channel.topic is Topic.BUS and fn.channel.subsystem is None
            return Way.BUS if own_bus else Way.PUSH
        if isinstance(fn, Trigger):
            return Way.CLOUDEVENT
        assert isinstance(fn, Schedule), fn  # endpoints are no origin (see origin())
        return Way.TICK


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """The HTTP request that hands a fault's message to its function."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def origin(topology: Subsystem, doc: Doc) -> Origin:
    """The function that refused the fault ``doc``; :class:`NoWayBack` if there is none now,
    or if its message was stored without its data (:func:`not_kept`)."""
    left_out = not_kept(topology, doc)
    if left_out is not None:
        raise NoWayBack(left_out)
    return _refuser(topology, doc)


def functions_with_faults(topology: Subsystem) -> list[tuple[Service, Function]]:
    """The functions whose faults ``topology``'s subsystem may record: its own, then the
    kit's readers of its bus in no topology (:data:`LAKE_WRITER`)."""
    return [*topology.functions(), *((LAKE_WRITER, fn) for fn in LAKE_WRITER.functions)]


def _refuser(topology: Subsystem, doc: Doc) -> Origin:
    function = str(doc.get("function") or "")
    if not function:
        raise NoWayBack(
            f"fault {doc.get('id')}: its message was published straight onto {topology.name}'s "
            "faults topic, not refused by a function, so no function can take it back"
        )
    for service, fn in functions_with_faults(topology):
        names = {f"{topology.name}/{service.name}/{fn.name}", f"{service.name}-{fn.name}"}
        if function in names and not isinstance(fn, Endpoint):  # an endpoint records none
            return Origin(topology.name, service, fn)
    raise NoWayBack(
        f"fault {doc.get('id')}: {function} is no function of {topology.name} any more "
        "(removed or renamed), so nothing can take its message back"
    )


def replay_request(found: Origin, project: str, doc: Doc) -> ReplayRequest:
    """What ``found`` is sent again for the fault ``doc``: what its push subscription,
    Eventarc or Cloud Scheduler sent it the first time.

    ``project`` is the subsystem's project. Raises :class:`NoWayBack` for a bus
    consumer (its message goes back on the bus, not to one function) or when the
    stored change cannot be rebuilt.
    """
    message = message_from_json(doc["message"])
    way = found.way
    if way is Way.PUSH:
        assert isinstance(found.function, Consumer)
        subscription = (
            f"projects/{project}/subscriptions/{found.function.subscription(found.service)}"
        )
        return ReplayRequest(push_json(subscription, message), {"Content-Type": "application/json"})
    if way is Way.CLOUDEVENT:
        masked = message.attributes.get(REDACTED_ATTRIBUTE)
        if masked:
            raise NoWayBack(
                f"fault {doc.get('id')}: its change was kept with {masked} masked, so "
                f"{found.qualified} would run on {REDACTED!r} in their place; write the "
                "document again to have the trigger run on it"
            )
        event_id = message.message_id or hashlib.sha256(message.data).hexdigest()
        change = StoredChange.from_data(message.data)
        if change is None:  # the CloudEvent's data did not parse: hand back what came
            content_type = message.attributes.get(CONTENT_TYPE, PROTOBUF)
            headers = cloudevent_headers(event_id, project, content_type=content_type)
            return ReplayRequest(message.data, headers)
        try:
            data = document_event_data(change, project)
        except EnvelopeError as error:
            raise NoWayBack(
                f"fault {doc.get('id')}: its change cannot be sent again: {error}"
            ) from None
        subject = f"{change.collection}/{change.key}"
        return ReplayRequest(data, cloudevent_headers(event_id, project, subject))
    if way is Way.TICK:
        return ReplayRequest(b"")
    raise NoWayBack(f"fault {doc.get('id')}: {found.qualified} reads the bus; publish it there")


def not_kept(topology: Subsystem, doc: Doc) -> str | None:
    """Why the fault ``doc`` cannot be handed back when its record holds no data of its
    message (too large to keep: :func:`~shared.runtime.faults.data_left_out`), and the other
    way the message can reach its function again; ``None`` when the record holds the data.

    A bus consumer's event is in the subsystem's event lake, an ingress's came from the
    sister's (its egress passes it on again): ``fooddelivery lake replay`` publishes it
    again, its id unchanged. A trigger runs again when its document is written again.
    """
    left_out = data_left_out(doc)
    if left_out is None:
        return None
    fault_id = str(doc.get("id"))
    why = f"fault {fault_id}: {left_out}, so it cannot be handed back"
    try:
        way_back = _another_way(topology, _refuser(topology, doc), doc["message"])
    except NoWayBack:
        return why
    close = f"`fooddelivery faults drop {topology.name} {shlex.quote(fault_id)} --reason TEXT`"
    return f"{why}; {way_back}; then close the fault with {close}"


def _another_way(topology: Subsystem, found: Origin, message: Doc) -> str:
    """How the message ``found`` refused reaches it again, other than from its fault."""
    if found.service is LAKE_WRITER:  # the message is in no lake: its fault kept it alone
        raise NoWayBack(f"{found.qualified} stored it nowhere else")
    attributes = message.get("attributes") or {}
    way = found.way
    if way is Way.CLOUDEVENT:
        assert isinstance(found.function, Trigger)
        document = attributes.get("document")
        which = f"{found.function.collection}/{document}" if document else "its document"
        return f"write {which} again to have {found.qualified} run on it"
    if way is Way.TICK:
        return f"{found.qualified} runs again on its next tick"
    assert isinstance(found.function, Consumer)
    subsystem = found.function.channel.subsystem or topology.name
    options = "".join(
        f" --{option} {shlex.quote(attributes[attribute])}"
        for option, attribute in (("type", "type"), ("key", "partitionKey"))
        if attributes.get(attribute) and (way is Way.BUS or option == "key")
    )
    command = f"`fooddelivery lake replay {subsystem} --since TIME{options}`"
    published = message.get("publishTime")
    when = f" (it was published at {published})" if published else ""
    if way is Way.BUS:
        where = f"its event is in {topology.name}'s event lake: publish it on the bus again"
        seen = f", event {attributes['id']} among them" if attributes.get("id") else ""
    else:  # an ingress's event is the sister's egress's, from the sister's own
        where = (
            f"it came from {subsystem}'s external topic: publish it from {subsystem}'s event "
            f"lake again, and {subsystem}'s egress passes it on to {topology.name}"
        )
        seen = ""
    return (
        f"{where} with {command}, TIME at or before the event's own time{when}, with "
        f"--dry-run first to see what would go{seen} (consumers skip what they processed)"
    )
