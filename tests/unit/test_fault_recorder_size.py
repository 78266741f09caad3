"""The fault recorder keeps a fault whatever the size of the message it is about.

A poison message may be as large as Pub/Sub carries, and its fault event (the message in
base64, the error, a traceback) larger still; a fault record is one Firestore document.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from shared.clock import ManualClock
from shared.exceptions import InvalidDocument, PoisonError
from shared.hub.message import Message, check_publishable, to_message
from shared.runtime.fault_replay import NoWayBack, origin
from shared.runtime.faults import (
    CLAIM,
    CLAIM_TOKEN_CHARS,
    FAULTS_COLLECTION,
    FaultRecorder,
    claim,
    data_left_out,
    fault_event,
    fault_record,
    message_from_json,
)
from shared.stores import InMemoryDocumentStore
from shared.stores.document_rules import check_size
from shared.topology.model import Topic
from tests.unit.test_faults_command import ORDER, order_consumer

INGRESS, _ = order_consumer(Topic.EXTERNAL)


def recorded(size: int) -> dict[str, object]:
    """The fault record of a poison message of ``size`` bytes refused by Order's ingress."""
    poison = Message(data=b"x" * size, attributes={"type": "customer.order-placed", "id": "e-1"})
    event = fault_event(
        subsystem="order",
        function=INGRESS,
        message=poison,
        error=PoisonError("not an order"),
        clock=ManualClock(1_000),
    )
    store = InMemoryDocumentStore()
    assert FaultRecorder(store).handle(to_message(event))
    [doc] = store.query(FAULTS_COLLECTION)
    return doc.data


def test_the_fault_of_a_large_message_names_its_function_and_keeps_the_message() -> None:
    doc = recorded(220_000)  # its fault event is over the 256 KiB a bus event may be

    assert (doc["reason"], doc["function"]) == ("poison", INGRESS)
    assert message_from_json(doc["message"]).data == b"x" * 220_000  # type: ignore[arg-type]


def test_a_message_too_large_to_keep_leaves_a_fault_that_says_so_and_is_not_handed_back() -> None:
    doc = recorded(900_000)  # over a Firestore document, in base64

    assert (doc["reason"], doc["function"]) == ("poison", INGRESS)
    assert doc["error"]["message"] == "not an order"  # type: ignore[index]
    kept = doc["message"]
    assert "data" not in kept  # type: ignore[operator]
    assert kept["bytes"] == 900_000  # type: ignore[index]
    assert kept["attributes"] == {"type": "customer.order-placed", "id": "e-1"}  # type: ignore[index]
    with pytest.raises(NoWayBack, match="too large to keep"):
        origin(ORDER.topology, doc)


def test_a_message_too_large_for_its_fault_event_is_recorded_at_once_without_its_data() -> None:
    # GIVEN a poison message of 8 MB: in base64 its fault event would be over Pub/Sub's limit
    poison = Message(
        data=b"x" * 8_000_000, attributes={"type": "customer.order-placed", "id": "e-1"}
    )
    event = fault_event(
        subsystem="order",
        function=INGRESS,
        message=poison,
        error=PoisonError("not an order"),
        clock=ManualClock(1_000),
    )

    # THEN the fault event is one Pub/Sub takes, so the refusal is recorded, not retried
    check_publishable([to_message(event)], "projects/order-dev/topics/faults")
    store = InMemoryDocumentStore()
    assert FaultRecorder(store).handle(to_message(event))
    [doc] = store.query(FAULTS_COLLECTION)
    assert (doc.data["reason"], doc.data["error"]["message"]) == ("poison", "not an order")
    kept = doc.data["message"]
    assert "data" not in kept
    assert (kept["bytes"], kept["sha256"]) == (8_000_000, hashlib.sha256(poison.data).hexdigest())
    assert kept["attributes"] == {"type": "customer.order-placed", "id": "e-1"}


def test_an_error_quoting_a_huge_value_is_kept_by_its_start_and_the_fault_published() -> None:
    refused = "x" * 11_000_000
    event = fault_event(
        subsystem="order",
        function=INGRESS,
        message=Message(data=b"{}", attributes={"type": "customer.order-placed", "id": "e-2"}),
        error=PoisonError(f"not an order: {refused}"),
        clock=ManualClock(1_000),
    )

    check_publishable([to_message(event)], "projects/p/topics/faults")
    said = event.body["error"]["message"]
    assert said.startswith("not an order: xxx")
    assert said.endswith(f"… ({len(refused) + 14 - 4000} more characters)")


def test_a_recurrence_that_makes_a_record_too_large_is_still_recorded_without_the_data() -> None:
    # GIVEN the fault of a message just small enough to be kept whole in its record
    poison = Message(data=b"x" * 784_000, attributes={"type": "customer.order-placed", "id": "e-3"})
    store = InMemoryDocumentStore()
    recorder = FaultRecorder(store)

    def refused(why: str, message_id: str) -> dict[str, object]:
        event = fault_event(
            subsystem="order",
            function=INGRESS,
            message=poison,
            error=PoisonError(why),
            clock=ManualClock(1_000),
        )
        assert recorder.handle(replace(to_message(event), message_id=message_id))
        recorded = store.get(FAULTS_COLLECTION, event.id)
        assert recorded is not None
        return recorded

    first = refused("not an order", "m-1")
    assert message_from_json(first["message"]).data == poison.data  # type: ignore[arg-type]
    # WHEN its replay is refused again, with an error long enough to push the record over
    again = refused("not an order: " + "y" * 3_900, "m-2")
    # THEN the recurrence is recorded (open again), the message's data left out, not retried
    assert (again["status"], again["recurrences"]) == ("open", 1)
    assert again["error"]["message"].startswith("not an order: yyy")  # type: ignore[index]
    kept = again["message"]
    assert "data" not in kept and kept["bytes"] == 784_000  # type: ignore[operator,index]


def test_a_recurrence_that_leaves_room_for_the_data_again_keeps_it() -> None:
    # GIVEN a fault kept without its message's data: its first error left no room for it
    poison = Message(data=b"x" * 784_000, attributes={"type": "customer.order-placed", "id": "e-5"})
    store = InMemoryDocumentStore()
    recorder = FaultRecorder(store)

    def refused(why: str, message_id: str) -> dict[str, object]:
        event = fault_event(
            subsystem="order",
            function=INGRESS,
            message=poison,
            error=PoisonError(why),
            clock=ManualClock(1_000),
        )
        assert recorder.handle(replace(to_message(event), message_id=message_id))
        recorded = store.get(FAULTS_COLLECTION, event.id)
        assert recorded is not None
        return recorded

    first = refused("not an order: " + "y" * 3_900, "m-1")
    assert data_left_out(first) is not None
    # WHEN it is refused again with a short error, its data fitting the record once more
    again = refused("not an order", "m-2")
    # THEN the record keeps the data, so the fault can be handed back
    assert (again["status"], again["recurrences"]) == ("open", 1)
    assert data_left_out(again) is None
    assert message_from_json(again["message"]).data == poison.data  # type: ignore[arg-type]
    kept = set(first["message"]) - {"notKept", "bytes", "sha256"}  # type: ignore[call-overload]
    assert set(again["message"]) == kept | {"data"}  # type: ignore[call-overload]


def largest_kept_whole(extra: int = 0) -> Message:
    """The poison message whose fault record, plus ``extra`` bytes of padding, is as large
    as a Firestore document may be (by the store's own count)."""
    low, high = 0, 1_000_000
    while high - low > 1:
        middle = (low + high) // 2
        event = fault_event(
            subsystem="order",
            function=INGRESS,
            message=Message(data=b"x" * middle, attributes={"id": "e-4"}),
            error=PoisonError("not an order"),
            clock=ManualClock(1_000),
        )
        key, doc = fault_record(to_message(event), 1_000)
        try:
            check_size(FAULTS_COLLECTION, key, {**doc, "pad": "p" * extra})
            low = middle
        except InvalidDocument:
            high = middle
    return Message(data=b"x" * low, attributes={"id": "e-4"})


@pytest.mark.parametrize("room", [0, 40], ids=["at the limit", "a claim's room short"])
def test_a_record_with_no_room_for_a_claim_is_kept_without_its_data_and_can_be_claimed(
    room: int,
) -> None:
    """A claim on a record that Firestore takes whole but not with the claim could not be
    written: the record was handed back unclaimed, so two commands could hand it back."""
    poison = largest_kept_whole(room)
    event = fault_event(
        subsystem="order",
        function=INGRESS,
        message=poison,
        error=PoisonError("not an order"),
        clock=ManualClock(1_000),
    )
    store = InMemoryDocumentStore()

    assert FaultRecorder(store).handle(to_message(event))

    record = store.get(FAULTS_COLLECTION, event.id)
    assert record is not None
    assert data_left_out(record) == (
        f"its message ({len(poison.data)} bytes) was too large to keep with room for a claim"
    )
    assert record["message"]["sha256"] == hashlib.sha256(poison.data).hexdigest()
    token = "c" * CLAIM_TOKEN_CHARS
    assert claim(store, event.id, token, 2_000) is not None
    held = store.get(FAULTS_COLLECTION, event.id)
    assert held is not None and held[CLAIM]["token"] == token  # the claim is written


def test_a_record_with_room_for_a_claim_keeps_its_data_and_holds_the_claim() -> None:
    poison = largest_kept_whole(CLAIM_TOKEN_CHARS + 30)  # a claim takes the token and 21
    event = fault_event(
        subsystem="order",
        function=INGRESS,
        message=poison,
        error=PoisonError("not an order"),
        clock=ManualClock(1_000),
    )
    store = InMemoryDocumentStore()
    assert FaultRecorder(store).handle(to_message(event))

    token = "c" * CLAIM_TOKEN_CHARS
    claimed = claim(store, event.id, token, 2_000)

    assert claimed is not None
    assert message_from_json(claimed["message"]).data == poison.data
    held = store.get(FAULTS_COLLECTION, event.id)
    assert held is not None and held[CLAIM]["token"] == token


def test_a_claim_token_longer_than_a_record_leaves_room_for_is_refused() -> None:
    with pytest.raises(ValueError, match=f"at most {CLAIM_TOKEN_CHARS} characters"):
        claim(InMemoryDocumentStore(), "f-1", "t" * (CLAIM_TOKEN_CHARS + 1), 2_000)
