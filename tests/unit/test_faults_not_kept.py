"""A fault whose message was too large to keep (stored as its size and SHA-256 alone) cannot
go back: ``faults show`` and ``faults resubmit`` say so, and how else the message reaches its
function again (the event lake, the document written again), never a traceback."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.cli import main
from shared.exceptions import BusinessRuleViolation, EnvelopeError
from shared.runtime import faults_command
from shared.runtime.consumer import change_message
from shared.runtime.faults import (
    FAULTS_COLLECTION,
    NOT_KEPT,
    MessageNotKept,
    resubmit,
    without_data,
)
from tests.unit import test_faults_command as base
from tests.unit.test_faults_command import (
    ACCEPTED,
    BUS_READER,
    CALLBACK,
    FROM_RESTAURANT,
    PLACED,
    RELAY,
    Order,
)

order = base.order  # the fixture
HUGE = b"x" * 900_000
"""Data over a Firestore document in base64: its fault is kept without it."""


def too_large(order: Order, function: str, message: base.Message) -> str:
    """The fault of ``function`` refusing ``message`` with its data made :data:`HUGE`."""
    fault_id = order.fault(function, replace(message, data=HUGE), EnvelopeError("$", "not JSON"))
    assert NOT_KEPT in order.record(fault_id)["message"]
    return fault_id


def test_show_says_a_bus_event_too_large_to_keep_goes_back_from_the_lake(order, capsys):
    fault_id = too_large(order, BUS_READER, PLACED)
    event_id = PLACED.attributes["id"]

    assert main(["faults", "show", "order", fault_id]) == 0  # the record is shown all the same

    said = capsys.readouterr().err
    assert said.startswith(
        f"note: fault {fault_id}: its message (900000 bytes) was too large to keep, so it "
        "cannot be handed back; its event is in order's event lake: publish it on the bus "
        "again with `fooddelivery lake replay order --since TIME --type order-placed --key o-2`"
    )
    assert f"event {event_id} among them" in said
    assert f"`fooddelivery faults drop order {fault_id} --reason TEXT`" in said


def test_show_json_keeps_stdout_one_document_and_says_why_on_stderr(order, capsys):
    fault_id = too_large(order, BUS_READER, PLACED)

    assert main(["faults", "show", "order", fault_id, "--json"]) == 0

    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1
    assert "fooddelivery lake replay order" in err


def test_a_named_resubmit_refuses_it_saying_what_to_do_instead(order, capsys):
    fault_id = too_large(order, BUS_READER, PLACED)

    assert main(["faults", "resubmit", "order", fault_id]) == 2

    said = capsys.readouterr().err
    assert "was too large to keep, so it cannot be handed back" in said
    assert "`fooddelivery lake replay order --since TIME --type order-placed --key o-2`" in said
    assert "Traceback" not in said
    assert order.on_bus() == []
    assert order.status(fault_id) == "open"


def test_resubmit_all_open_leaves_it_open_saying_what_to_do_instead(order, capsys):
    fault_id = too_large(order, BUS_READER, PLACED)

    assert main(["faults", "resubmit", "order", "--all-open"]) == 1

    said = capsys.readouterr().err
    assert said.startswith(f"left open: fault {fault_id}: its message (900000 bytes)")
    assert "fooddelivery lake replay order --since TIME" in said
    assert order.on_bus() == []


def test_an_ingress_event_too_large_to_keep_goes_back_from_the_sisters_lake(order, capsys):
    fault_id = too_large(order, FROM_RESTAURANT, ACCEPTED)

    assert main(["faults", "resubmit", "order", fault_id]) == 2

    said = capsys.readouterr().err
    # the sister's lake holds its own events, of its own types: the key alone chooses
    assert (
        "it came from restaurant's external topic: publish it from restaurant's event lake "
        "again, and restaurant's egress passes it on to order with "
        "`fooddelivery lake replay restaurant --since TIME --key o-7`, TIME at or before the "
        "event's own time (it was published at 2026-01-01T12:00:00.000Z)"
    ) in said


def test_a_trigger_change_too_large_to_keep_goes_back_by_writing_its_document(order, capsys):
    fault_id = too_large(order, RELAY, change_message(CALLBACK))

    assert main(["faults", "show", "order", fault_id]) == 0

    assert f"write pos-inbox/{CALLBACK.key} again to have {RELAY} run on it" in (
        capsys.readouterr().err
    )


def test_resubmitting_a_record_without_its_data_is_refused_by_name_not_a_key_error(order):
    fault_id = too_large(order, BUS_READER, PLACED)

    with pytest.raises(MessageNotKept, match=f"fault {fault_id}: its message .* too large"):
        resubmit(order.store, order.hub.publisher(base.PROJECT), fault_id)
    assert order.on_bus() == []


def test_a_record_that_lost_its_data_while_being_handed_back_is_left_open_saying_why(
    order, capsys, monkeypatch
):
    # GIVEN a bus consumer's fault, kept whole when the command reads it, whose data the
    # recorder leaves out just after (a recurrence with a longer error, near the limit)
    fault_id = order.fault(BUS_READER, PLACED, BusinessRuleViolation("a bug"))
    claim = faults_command.claim

    def claim_then_shrink(store, claimed_id, *args, **kwargs):
        record = store.get(FAULTS_COLLECTION, claimed_id)
        store.put(FAULTS_COLLECTION, claimed_id, without_data(record))
        return claim(store, claimed_id, *args, **kwargs)

    monkeypatch.setattr(faults_command, "claim", claim_then_shrink)

    # WHEN it is resubmitted THEN it stays open, the reason and the other way on stderr
    assert main(["faults", "resubmit", "order", fault_id]) == 1

    said = capsys.readouterr().err
    assert said.startswith(f"left open: fault {fault_id}: its message (")
    assert "fooddelivery lake replay order --since TIME --type order-placed --key o-2" in said
    assert order.on_bus() == []
    assert "claim" not in order.record(fault_id)
