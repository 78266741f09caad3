"""A fault event's ordering key is one Pub/Sub takes, whatever identifies its message.

A fault event is ordered by what identifies the message it is about: the message's
partition key, else its id. A CloudEvent sent by hand may carry an id (``ce-id``) longer
than Pub/Sub's 1,024-byte limit on an ordering key: its fault must still be published,
so the function acknowledges what it refused instead of answering 500 (Eventarc would
retry it for a day, then drop it).
"""

from __future__ import annotations

import json

import pytest

from shared.clock import ManualClock
from shared.envelope import MAX_ATTRIBUTE_BYTES
from shared.exceptions import PoisonError
from shared.hub.message import Message, check_publishable, to_message
from shared.runtime.faults import FAULT_HEADER, FaultRecorder, fault_event
from shared.stores.memory import InMemoryDocumentStore
from shared.topology import Topic
from tests.unit.test_runtime_cloudevents import CartTrigger, binary

LONG_ID = "e" * (MAX_ATTRIBUTE_BYTES + 100)


@pytest.fixture
def trigger(monkeypatch: pytest.MonkeyPatch) -> CartTrigger:
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")
    return CartTrigger()


def test_a_cloudevent_with_an_id_over_the_limit_becomes_a_fault_like_any_other(
    trigger: CartTrigger,
) -> None:
    headers = {**binary("application/json"), "ce-id": LONG_ID}

    response = trigger.post(json.dumps({"value": {"name": "carts/c1"}}).encode(), headers)

    assert response.status_code == 200  # acknowledged, not retried for a day
    [fault] = trigger.published[Topic.FAULTS]
    assert len(fault.ordering_key.encode()) <= MAX_ATTRIBUTE_BYTES
    assert response.headers[FAULT_HEADER] == fault.attributes["id"]
    stored = json.loads(fault.data)["fault"]["message"]
    assert stored["messageId"] == LONG_ID  # kept whole, to be replayed as it came


@pytest.mark.parametrize(
    "message",
    [
        Message(data=b"{", message_id=LONG_ID),
        Message(data=b"{", attributes={"partitionKey": "\u00e9" * 600}),
        Message(data=b"{", attributes={"id": LONG_ID}),
    ],
    ids=[
        "long-message-id",
        "partition-key-over-1024-bytes-in-utf8",
        "long-id-attribute",
    ],
)
def test_a_fault_event_is_publishable_and_stable_whatever_identifies_its_message(
    message: Message,
) -> None:
    def fault() -> Message:
        event = fault_event(
            subsystem="alpha",
            function="alpha/carts/cart_bff_trigger",
            message=message,
            error=PoisonError("refused"),
            clock=ManualClock(1_000),
        )
        return to_message(event)

    first, again = fault(), fault()

    check_publishable([first], "projects/alpha-dev/topics/faults")
    assert (first.ordering_key, first.attributes["id"]) == (
        again.ordering_key,
        again.attributes["id"],
    )
    store = InMemoryDocumentStore()
    assert FaultRecorder(store).handle(first)


def test_a_short_key_stays_the_ordering_key() -> None:
    event = fault_event(
        subsystem="alpha",
        function="alpha/carts/cart_bff_trigger",
        message=Message(data=b"{", attributes={"partitionKey": "c1"}),
        error=PoisonError("refused"),
        clock=ManualClock(1_000),
    )
    assert event.partition_key == "c1"
