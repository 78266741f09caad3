"""The fault recorder stores whatever arrives on ``faults``, whoever sent it.

Its subscription has no attempt limit and no dead-letter topic: a ``faults`` message it
cannot store comes back for ever. So a message that merely looks like a fault event (of
type ``fault``, not shaped as the kit makes them) or a dead letter (with a delivery count
``int`` cannot read) is kept as it came, like any other stray message.
"""

from __future__ import annotations

import base64

from shared.envelope import new_event
from shared.hub.message import DEAD_LETTER_PREFIX, Message, to_message
from shared.runtime.faults import FAULTS_COLLECTION, FaultRecorder
from shared.stores.memory import InMemoryDocumentStore


def test_an_event_of_type_fault_not_shaped_as_one_is_kept_as_it_came_each_time():
    # GIVEN a `fault` event some other publisher put on faults, twice
    stray = new_event("fault", "fault", {"note": "hand-made"}, partition_key="k", timestamp=5)
    store = InMemoryDocumentStore()
    recorder = FaultRecorder(store)
    first = Message(data=stray.to_bytes(), attributes=to_message(stray).attributes, message_id="1")
    again = Message(data=first.data, attributes=first.attributes, message_id="2")
    # WHEN the recorder gets both THEN it stores each, with the message whole
    assert recorder.handle(first)
    assert recorder.handle(again)
    records = [d.data for d in store.query(FAULTS_COLLECTION)]
    assert [(r["reason"], r["function"]) for r in records] == [("unexpected", "")] * 2
    assert {base64.b64decode(r["message"]["data"]) for r in records} == {stray.to_bytes()}


def test_a_dead_letter_whose_delivery_count_is_no_number_is_kept():
    store = InMemoryDocumentStore()
    dead = Message(
        data=b"{}",
        attributes={
            f"{DEAD_LETTER_PREFIX}Subscription": "projects/p/subscriptions/kitchen-bff-listener",
            f"{DEAD_LETTER_PREFIX}DeliveryCount": "\u00b2",  # a digit to str.isdigit, not int
        },
        message_id="3",
    )
    assert FaultRecorder(store).handle(dead)
    [record] = [d.data for d in store.query(FAULTS_COLLECTION)]
    assert (record["reason"], record["deliveryAttempt"]) == ("dead-letter", 0)
