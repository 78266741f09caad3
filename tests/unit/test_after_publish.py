"""Context.after_publish: a handler's record of what it published is written only once the
events are published (publish-then-record), never when their publication failed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from shared.clock import ManualClock
from shared.envelope import Envelope, new_event
from shared.exceptions import PublishError
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message, to_message
from shared.hub.routing import on_types
from shared.runtime.consumer import ConsumerRuntime
from shared.runtime.context import Context
from shared.runtime.outcome import Outcome
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic

HAPPENED = replace(
    to_message(new_event("thing-happened", "thing", {"id": "t-1"}, partition_key="t-1")),
    message_id="m-1",
    delivery_attempt=1,
)


class Bus(AbstractPublisher):
    """Keeps what is published; refuses everything while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[Message] = []

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        if self.down:
            raise PublishError(f"{topic}: 503 the service is unavailable")
        self.sent.extend(messages)
        return [m.message_id for m in messages]


def runtime(bus: Bus, handler: Callable[[Envelope, Context[Any]], None]) -> ConsumerRuntime[Any]:
    """A listener running ``handler`` on ``thing-happened``, publishing to ``bus``."""
    consumer = Consumer(
        "listener", Role.LISTENER, Channel(on_types("thing-happened")), handlers=(handler,)
    )
    service = Service("things", ServiceKind.CONTROL, (consumer,))
    subsystem = Subsystem("things", (service,))
    return ConsumerRuntime(subsystem, service, consumer, None, bus, ManualClock(), "test")


def test_what_a_handler_records_after_publishing_waits_for_the_publication() -> None:
    bus, recorded = Bus(), []

    def handle(event: Envelope, ctx: Context[Any]) -> None:
        ctx.emit("thing-told", "thing", event.body, partition_key="t-1")
        ctx.after_publish(lambda: recorded.append(event.body["id"]))

    bus.down = True
    assert runtime(bus, handle).handle(HAPPENED) is Outcome.RETRY
    assert recorded == []

    bus.down = False
    assert runtime(bus, handle).handle(HAPPENED) is Outcome.ACK
    assert (recorded, len(bus.sent)) == (["t-1"], 1)


def test_a_record_that_fails_asks_for_redelivery() -> None:
    bus, tried = Bus(), []

    def handle(event: Envelope, ctx: Context[Any]) -> None:
        def record() -> None:
            tried.append(event.body["id"])
            raise ConnectionError("the store is unavailable")

        ctx.after_publish(record)

    assert runtime(bus, handle).handle(HAPPENED) is Outcome.RETRY
    assert tried == ["t-1"]
