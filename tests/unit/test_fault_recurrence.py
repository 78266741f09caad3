"""A fault recorded again reopens its record, so a replay that did not help never looks done."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.clock import ManualClock
from shared.exceptions import BusinessRuleViolation
from shared.hub.message import Message, to_message
from shared.runtime.faults import (
    FAULTS_COLLECTION,
    FaultRecorder,
    fault_event,
    mark_replayed,
    message_from_json,
    recurrences,
)
from shared.stores.memory import InMemoryDocumentStore

REFUSED = Message(data=b'{"id": "o-1"}', attributes={"type": "x"}, message_id="m-1")
REPLAY = {"function": "order/intake-esg/from-customer", "url": "http://h/f", "at": 1}


class Faults:
    """A subsystem's faults collection fed through its recorder, the ``faults`` messages
    numbered as Pub/Sub numbers them."""

    def __init__(self) -> None:
        self.store = InMemoryDocumentStore()
        self.recorder = FaultRecorder(self.store)
        self.clock = ManualClock()
        self.sent = 0

    def refuse(self, error: Exception, faults_message_id: str | None = None) -> str:
        """The function refuses REFUSED with ``error``; the fault's id."""
        self.clock.advance(1000)
        event = fault_event(
            subsystem="order",
            function="order/intake-esg/from-customer",
            message=REFUSED,
            error=error,
            clock=self.clock,
        )
        self.sent += 1
        message_id = faults_message_id or f"faults-{self.sent}"
        self.recorder.handle(replace(to_message(event), message_id=message_id))
        return event.id

    def record(self, fault_id: str) -> dict:
        return self.store.get(FAULTS_COLLECTION, fault_id)


@pytest.fixture
def faults() -> Faults:
    return Faults()


def test_the_same_fault_recorded_again_is_one_record_open_with_the_latest_error(faults):
    fault_id = faults.refuse(BusinessRuleViolation("unknown restaurant"))
    assert mark_replayed(faults.store, fault_id, REPLAY, 0)
    assert faults.record(fault_id)["status"] == "resubmitted"

    again = faults.refuse(BusinessRuleViolation("restaurant closed"))

    assert again == fault_id
    record = faults.record(fault_id)
    assert (record["status"], recurrences(record)) == ("open", 1)
    assert record["error"]["message"] == "restaurant closed"
    assert record["replays"] == [REPLAY]
    assert len(faults.store.query(FAULTS_COLLECTION)) == 1


def test_the_same_faults_message_delivered_twice_is_no_recurrence(faults):
    fault_id = faults.refuse(BusinessRuleViolation("unknown restaurant"), "faults-1")
    assert mark_replayed(faults.store, fault_id, REPLAY, 0)

    faults.refuse(BusinessRuleViolation("unknown restaurant"), "faults-1")

    record = faults.record(fault_id)
    assert (record["status"], recurrences(record)) == ("resubmitted", 0)


def test_a_replay_is_not_marked_done_when_the_fault_recurred_meanwhile(faults):
    fault_id = faults.refuse(BusinessRuleViolation("unknown restaurant"))
    seen = recurrences(faults.record(fault_id))
    faults.refuse(BusinessRuleViolation("unknown restaurant"))  # the replay, refused again

    assert not mark_replayed(faults.store, fault_id, REPLAY, seen)

    record = faults.record(fault_id)
    assert (record["status"], recurrences(record), record.get("replays")) == ("open", 1, None)


def test_a_message_dead_lettered_twice_is_one_fault(faults):
    # Pub/Sub dead-letters on a best-effort basis: one message may be forwarded twice,
    # each time with a new message id on the faults topic.
    dead = {
        **REFUSED.attributes,
        "id": "e-1",
        "CloudPubSubDeadLetterSourceSubscription": "order-intake-esg-from-customer",
        "CloudPubSubDeadLetterSourceDeliveryCount": "5",
    }
    for message_id in ("faults-7", "faults-8"):
        letter = replace(REFUSED, attributes=dead, message_id=message_id)
        faults.recorder.handle(letter)

    [record] = [d.data for d in faults.store.query(FAULTS_COLLECTION)]
    assert record["reason"] == "dead-letter"
    assert record["message"]["attributes"] == {"type": "x", "id": "e-1"}


def test_a_message_with_attributes_firestore_cannot_name_is_stored_and_given_back(faults):
    odd = replace(REFUSED, attributes={"type": "x", "__kind__": "odd"}, message_id="m-9")
    event = fault_event(
        subsystem="order",
        function="order/intake-esg/from-customer",
        message=odd,
        error=BusinessRuleViolation("no"),
        clock=faults.clock,
    )
    faults.recorder.handle(replace(to_message(event), message_id="faults-1"))

    record = faults.record(event.id)
    assert record["message"]["attributes"] == {"type": "x"}
    assert message_from_json(record["message"]).attributes == odd.attributes


def test_one_event_refused_in_two_messages_is_one_fault(faults):
    # A redelivered ingress publishes the same envelope again, with a new message id
    carried = {**REFUSED.attributes, "id": "e-1"}
    ids = set()
    for message_id in ("m-1", "m-2"):
        event = fault_event(
            subsystem="delivery",
            function="delivery/dispatch-control/collector",
            message=replace(REFUSED, attributes=carried, message_id=message_id),
            error=BusinessRuleViolation("no address"),
            clock=faults.clock,
        )
        ids.add(event.id)
        faults.recorder.handle(replace(to_message(event), message_id=f"faults-{message_id}"))

    assert len(ids) == 1
    [record] = [d.data for d in faults.store.query(FAULTS_COLLECTION)]
    assert recurrences(record) == 1
