"""Poison at the edges of text and JSON: each becomes one fault event, at once.

A message whose bytes can never be an envelope (a lone surrogate escaped in its JSON, a
number beyond a double, nesting deeper than the decoder goes) is poison like any other
undecodable message: the consumer records its fault and acknowledges it, instead of
raising and having the broker redeliver it until it is dead-lettered. So is an event a
handler refuses with an error that quotes such text.
"""

from __future__ import annotations

import base64

import pytest

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.exceptions import BusinessRuleViolation
from shared.hub.memory import InMemoryHub
from shared.hub.message import Message, from_message
from shared.hub.routing import on_types
from shared.runtime.consumer import ConsumerRuntime
from shared.runtime.outcome import Outcome
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic

PROJECT = "alpha"


def envelope_text(body: str, event_id: str = "e-1") -> str:
    return (
        f'{{"id": "{event_id}", "type": "order-placed", "timestamp": 1764150000000, '
        f'"partitionKey": "o-1", "tags": {{}}, "order": {body}}}'
    )


def listener(handler: object) -> tuple[ConsumerRuntime[None], list[Message]]:
    """A consumer of ``order-placed`` running ``handler``; the messages put on ``faults``."""
    clock = ManualClock()
    hub = InMemoryHub(clock)
    for topic in Topic:
        hub.create_topic(PROJECT, topic)
    faults: list[Message] = []
    hub.observers.append(lambda project, topic, m: topic == Topic.FAULTS and faults.append(m))
    consumer = Consumer(
        "listener", Role.LISTENER, Channel(on_types("order-placed")), handlers=(handler,)
    )
    service = Service("kitchen-bff", ServiceKind.BFF, (consumer,))
    topology = Subsystem(PROJECT, (service,))
    runtime = ConsumerRuntime(
        topology, service, consumer, None, hub.publisher(PROJECT), clock, "test"
    )
    return runtime, faults


def never_called(event: Envelope, ctx: object) -> None:
    raise AssertionError("a poison message reached the handler")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (envelope_text("{}", event_id="\\ud800"), "id: is not valid UTF-8"),
        (envelope_text('{"dish": "\\udc00"}'), "order.dish: is not valid UTF-8"),
        (envelope_text('{"total": 1e999}'), "1e999 is out of a double's range"),
        (envelope_text('{"n": ' + "[" * 50_000 + "]" * 50_000 + "}"), "nested too deeply"),
    ],
    ids=["lone-surrogate-id", "lone-surrogate-in-payload", "number-beyond-a-double", "deep"],
)
def test_an_envelope_that_can_never_decode_becomes_one_fault_at_once(data, problem):
    runtime, faults = listener(never_called)
    message = Message(data=data.encode(), attributes={"type": "order-placed"}, message_id="m-1")
    assert runtime.handle(message) is Outcome.ACK
    [published] = faults
    fault = from_message(published)
    assert fault.body["error"]["type"] == "EnvelopeError"
    assert problem in fault.body["error"]["message"]
    assert base64.b64decode(fault.body["message"]["data"]) == message.data  # nothing lost


def refuse_quoting_odd_text(event: Envelope, ctx: object) -> None:
    # text a handler may come to hold from elsewhere (a lookup, an API's JSON)
    raise BusinessRuleViolation("no dish named ph\udcf4")


def test_a_refusal_quoting_a_lone_surrogate_is_still_recorded_as_a_fault():
    # GIVEN a handler whose refusal quotes text holding a lone surrogate
    runtime, faults = listener(refuse_quoting_odd_text)
    message = Message(
        data=envelope_text('{"dish": "pho"}').encode(),
        attributes={"type": "order-placed"},
        message_id="m-2",
    )
    # WHEN it is delivered THEN it is acknowledged, its fault published with the text escaped
    assert runtime.handle(message) is Outcome.ACK
    [published] = faults
    error = from_message(published).body["error"]
    assert error["type"] == "BusinessRuleViolation"
    assert error["message"] == "no dish named ph\\udcf4"
    assert "ph\\udcf4" in error["details"]
