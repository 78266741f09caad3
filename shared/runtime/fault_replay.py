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
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from shared.exceptions import EnvelopeError, KitError
from shared.hub.message import push_json
from shared.runtime.change_events import StoredChange, cloudevent_headers, document_event_data
from shared.runtime.consumer import REDACTED, REDACTED_ATTRIBUTE
from shared.runtime.faults import NOT_KEPT, message_from_json
from shared.stores.eventarc import CONTENT_TYPE, PROTOBUF
from shared.topology.model import (
    Consumer,
    Endpoint,
    Function,
    Schedule,
    Service,
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
    """The function that refused the fault ``doc``; :class:`NoWayBack` if there is none now."""
    function = str(doc.get("function") or "")
    not_kept = doc.get("message", {}).get(NOT_KEPT)
    if not_kept:
        raise NoWayBack(
            f"fault {doc.get('id')}: its message ({doc['message'].get('bytes')} bytes) was "
            f"{not_kept}, so it cannot be handed back"
        )
    if not function:
        raise NoWayBack(
            f"fault {doc.get('id')}: its message was published straight onto {topology.name}'s "
            "faults topic, not refused by a function, so no function can take it back"
        )
    for service, fn in topology.functions():
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
