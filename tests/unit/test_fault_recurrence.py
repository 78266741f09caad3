"""A fault recorded again reopens its record, so a replay that did not help never looks done."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.clock import ManualClock
from shared.exceptions import BusinessRuleViolation
from shared.hub.message import Message, to_message
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.faults import (
    FAULTS_COLLECTION,
    FaultRecorder,
    fault_event,
    mark_replayed,
    message_from_json,
    recurrences,
    resubmit,
)
from shared.sample import alpha, beta
from shared.stores.memory import InMemoryDocumentStore
from shared.topology import Topic

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
    assert mark_replayed(faults.store, fault_id, REPLAY)
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
    assert mark_replayed(faults.store, fault_id, REPLAY)

    faults.refuse(BusinessRuleViolation("unknown restaurant"), "faults-1")

    record = faults.record(fault_id)
    assert (record["status"], recurrences(record)) == ("resubmitted", 0)


def test_a_replay_its_function_processed_is_done_though_a_redelivery_recurred_meanwhile(faults):
    # The function's answer is the verdict: a redelivery of the original message, refused
    # before the cause was fixed and recorded while the replay ran, does not undo it.
    fault_id = faults.refuse(BusinessRuleViolation("unknown restaurant"))
    faults.refuse(BusinessRuleViolation("unknown restaurant"))  # the redelivery

    assert mark_replayed(faults.store, fault_id, REPLAY)

    record = faults.record(fault_id)
    assert (record["status"], recurrences(record), record["replays"]) == (
        "resubmitted",
        1,
        [REPLAY],
    )


def test_a_replay_of_a_fault_whose_record_is_gone_is_not_marked(faults):
    assert not mark_replayed(faults.store, "no-such-fault", REPLAY)
    assert faults.store.query(FAULTS_COLLECTION) == []


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


class RefusedAtOnce:
    """A bus whose consumer refuses what is published and whose recorder stores that
    before the publisher returns: the quickest a refusal can be recorded."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.published: list[Message] = []

    def publish(self, topic: Topic, messages: list[Message]) -> list[str]:
        self.published.extend(messages)
        self.faults.refuse(BusinessRuleViolation("unknown restaurant, still"))
        return [f"bus-{len(self.published)}"]

    def close(self) -> None:
        pass


def test_a_resubmission_refused_before_it_is_marked_leaves_the_fault_open(faults):
    fault_id = faults.refuse(BusinessRuleViolation("unknown restaurant"))

    assert resubmit(faults.store, RefusedAtOnce(faults), fault_id) == "bus-1"

    record = faults.record(fault_id)
    assert (record["status"], recurrences(record), record["resubmissions"]) == (
        "open",
        1,
        ["bus-1"],
    )
    assert record["error"]["message"] == "unknown restaurant, still"


def test_a_bus_message_refused_again_after_its_resubmission_reopens_its_fault():
    # An undecodable message published by hand carries no event id: its fault is the same
    # whatever message id the bus gives each publication of it.
    system = EmbeddedSystem([alpha.APP, beta.APP], clock=ManualClock())
    poison = Message(data=b"{not an envelope", attributes={"type": "cart-checked-out"})
    system.hub.publish("alpha", Topic.BUS, [poison])
    system.run_until_quiet()
    [fault] = system.faults("alpha")

    message_id = resubmit(system.stores["alpha"], system.hub.publisher("alpha"), fault["id"])
    system.run_until_quiet()

    [record] = system.faults("alpha")
    assert (record["id"], record["status"], recurrences(record)) == (fault["id"], "open", 1)
    assert record["resubmissions"] == [message_id]
    assert message_from_json(record["message"]).message_id != message_id
