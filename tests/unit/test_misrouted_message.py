"""A message whose envelope contradicts its attributes never reaches a handler.

A consumer selects messages by their attributes (the routing rule, as the broker's filter
does), then hands its handlers the envelope. The kit's publishers put the envelope's own
type and tags in the attributes; a message from another publisher whose attributes say
one type (or tag value) and whose envelope another would run handlers on an event the
subscription does not carry. It is refused as poison, its fault naming both values.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.envelope import Envelope, new_event
from shared.hub.message import Message, from_message, to_message
from shared.hub.routing import on_types
from shared.runtime.consumer import ConsumerRuntime
from shared.runtime.context import Context
from shared.runtime.outcome import Outcome
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic
from tests.unit.test_fault_publishing import FaultsTopicDown


def listener(rule: Any) -> tuple[ConsumerRuntime, list[str], FaultsTopicDown]:
    """A listener routed by ``rule``; the events its handler ran on; its publisher."""
    ran: list[str] = []

    def handle(event: Envelope, ctx: Context[None]) -> None:
        ran.append(f"{event.type}:{event.tags.get('status', '-')}")

    consumer = Consumer("listener", Role.LISTENER, Channel(rule), handlers=(handle,))
    service = Service("orders-bff", ServiceKind.BFF, (consumer,))
    subsystem = Subsystem(name="gamma", services=(service,))
    publisher = FaultsTopicDown()
    publisher.down = False
    runtime = ConsumerRuntime(subsystem, service, consumer, None, publisher, ManualClock(), "test")
    return runtime, ran, publisher


def event(kind: str, **tags: str) -> Message:
    return to_message(new_event(kind, "order", {"id": "o-1"}, partition_key="o-1", tags=tags))


def test_an_envelope_of_another_type_than_its_attributes_say_is_refused_as_poison() -> None:
    runtime, ran, publisher = listener(on_types("order-placed"))
    # an envelope of a type the subscription does not carry, in attributes that it does
    real = event("order-cancelled")
    forged = replace(real, attributes={**real.attributes, "type": "order-placed"})

    assert runtime.handle(forged) is Outcome.ACK

    assert ran == []  # no handler ran on it
    [published] = publisher.sent[Topic.FAULTS]
    fault = from_message(published)
    said = fault.body["error"]["message"]
    assert fault.body["reason"] == "poison"
    assert "type='order-placed'" in said and "'order-cancelled'" in said
    kept = json.loads(base64.b64decode(fault.body["message"]["data"]))
    assert kept["type"] == "order-cancelled"  # the message is kept as it came
    assert publisher.sent[Topic.BUS] == []


def test_an_envelope_whose_routed_tag_differs_from_its_attribute_is_refused() -> None:
    runtime, ran, publisher = listener(on_types("order-status-changed", status="delivered"))
    real = event("order-status-changed", status="ready")
    forged = replace(real, attributes={**real.attributes, "status": "delivered"})

    assert runtime.handle(forged) is Outcome.ACK

    assert ran == []
    [published] = publisher.sent[Topic.FAULTS]
    said = from_message(published).body["error"]["message"]
    assert "status='delivered'" in said and "'ready'" in said


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (on_types("order-placed"), ["order-placed:-"]),
        (
            on_types("order-status-changed", status="delivered") | on_types("order-placed"),
            ["order-placed:-", "order-status-changed:delivered"],
        ),
    ],
    ids=["one-rule", "any-of"],
)
def test_what_the_kit_publishes_runs_its_handlers(rule: Any, expected: list[str]) -> None:
    runtime, ran, publisher = listener(rule)

    assert runtime.handle(event("order-placed", source="kitchen-bff")) is Outcome.ACK
    assert runtime.handle(event("order-status-changed", status="delivered")) is Outcome.ACK

    assert ran == expected
    assert publisher.sent[Topic.FAULTS] == []
