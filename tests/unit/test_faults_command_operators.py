"""``fooddelivery faults``: what two operators (or two commands) doing the same at once get.

A fault is handed back by one command at a time: a command claims it in one transaction
before it hands it back (:func:`shared.runtime.faults.claim`), so a second command that
meets it meanwhile leaves it alone instead of handing it back twice.
"""

from __future__ import annotations

from typing import Any

from shared.cli import main
from shared.exceptions import BusinessRuleViolation, EnvelopeError
from shared.runtime import faults_command
from shared.runtime.faults import CLAIM, FAULTS_COLLECTION
from shared.topology.model import Topic
from tests.unit import test_faults_command as base
from tests.unit.test_faults_command import (
    ACCEPTED,
    BUS_READER,
    FROM_RESTAURANT,
    GARBAGE,
    Order,
)

functions = base.functions  # the fixture
order = base.order  # the fixture


def test_two_commands_resubmitting_a_bus_fault_at_once_publish_it_once(order: Order, capsys):
    # GIVEN a fault, and a second operator resubmitting it while the first one publishes it
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    second: list[int] = []

    def meanwhile(project: str, topic: str, message: Any) -> None:
        if topic == Topic.BUS and not second:
            second.append(-1)
            second[0] = main(["faults", "resubmit", "order", fault_id])

    order.hub.observers.append(meanwhile)
    # WHEN the first command runs
    assert main(["faults", "resubmit", "order", fault_id]) == 0
    # THEN the message went back once, and the second command said why it left it alone
    assert len(order.on_bus()) == 1
    assert second == [0]
    assert "being handed back by another command" in capsys.readouterr().err
    record = order.record(fault_id)
    assert record["status"] == "resubmitted" and len(record["resubmissions"]) == 1
    assert CLAIM not in record


def test_two_commands_replaying_a_fault_at_once_post_it_once(order, functions, monkeypatch):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("fixed since"))
    deliver, second = faults_command.deliver, []

    def deliver_while_another_command_runs(*args: Any) -> Any:
        if not second:
            second.append(main(["faults", "resubmit", "order", "--all-open"]))
        return deliver(*args)

    monkeypatch.setattr(faults_command, "deliver", deliver_while_another_command_runs)
    assert main(["faults", "resubmit", "order", fault_id]) == 0
    assert len(functions.received) == 1
    assert second == [0]
    assert len(order.record(fault_id)["replays"]) == 1


def test_a_claim_is_given_up_when_the_function_refuses_so_the_next_try_goes_at_once(
    order, functions, capsys
):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("fixed since"))
    functions.refuse["intake_esg_from_restaurant"] = (500, "boom")
    assert main(["faults", "resubmit", "order", fault_id]) == 1
    assert CLAIM not in order.record(fault_id)
    del functions.refuse["intake_esg_from_restaurant"]
    assert main(["faults", "resubmit", "order", fault_id]) == 0
    assert order.status(fault_id) == "resubmitted"


def test_the_claim_of_a_command_that_died_lapses(order: Order, capsys):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    record = order.record(fault_id)
    lapsed = {**record, CLAIM: {"token": "dead", "until": 1}}
    order.store.put(FAULTS_COLLECTION, fault_id, lapsed)
    assert main(["faults", "resubmit", "order", fault_id]) == 0
    assert len(order.on_bus()) == 1 and CLAIM not in order.record(fault_id)


def test_a_claim_held_by_another_command_is_respected_even_with_force(order: Order, capsys):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    held = {**order.record(fault_id), CLAIM: {"token": "other", "until": 2**53}}
    order.store.put(FAULTS_COLLECTION, fault_id, held)
    assert main(["faults", "resubmit", "order", fault_id, "--force"]) == 0
    assert order.on_bus() == []
    assert "being handed back by another command" in capsys.readouterr().err


# -- dropping a fault ----------------------------------------------------------------


def test_a_dropped_fault_keeps_its_reason_and_is_listed_as_dropped(order: Order, capsys):
    # GIVEN two open faults
    dropped = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    kept = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("fixed since"))
    # WHEN one is dropped, with a reason
    reason = "test  garbage\nfrom a load test"
    assert main(["faults", "drop", "order", dropped, "--reason", reason]) == 0
    # THEN it is closed, the reason (who, when) kept in its record, and no longer open
    assert capsys.readouterr().out.strip() == f"{dropped} dropped: test garbage from a load test"
    record = order.record(dropped)
    [mark] = record["drops"]
    assert record["status"] == "dropped" and mark["reason"] == "test garbage from a load test"
    assert mark["by"] and isinstance(mark["at"], int)
    assert main(["faults", "list", "order"]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == [kept]
    assert main(["faults", "list", "order", "--status", "dropped"]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == [dropped]
    # AND resubmitting it leaves it alone unless forced
    assert main(["faults", "resubmit", "order", dropped]) == 0
    assert order.on_bus() == []
    assert "was dropped at" in capsys.readouterr().err
    assert main(["faults", "resubmit", "order", dropped, "--force"]) == 0
    assert len(order.on_bus()) == 1 and order.status(dropped) == "resubmitted"


def test_a_dropped_fault_refused_again_is_reopened_its_drop_kept(order: Order, capsys):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    assert main(["faults", "drop", "order", fault_id, "--reason", "noise"]) == 0
    assert order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "still not JSON")) == fault_id
    record = order.record(fault_id)
    assert record["status"] == "open" and record["drops"][0]["reason"] == "noise"


def test_drop_needs_a_reason_and_known_faults_and_drops_nothing_otherwise(order: Order, capsys):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    drop = ["faults", "drop", "order", fault_id]
    for argv in (drop, [*drop, "--reason", " "]):
        try:
            main(argv)
        except SystemExit as exit:
            assert exit.code == 2
        else:
            raise AssertionError(f"{argv} did not exit")
    assert main(["faults", "drop", "order", fault_id, "nope", "--reason", "x"]) == 2
    assert "order has no fault 'nope'" in capsys.readouterr().err
    assert order.status(fault_id) == "open"


def test_a_fault_being_handed_back_is_not_dropped(order: Order, capsys):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    held = {**order.record(fault_id), CLAIM: {"token": "other", "until": 2**53}}
    order.store.put(FAULTS_COLLECTION, fault_id, held)
    assert main(["faults", "drop", "order", fault_id, "--reason", "x"]) == 1
    assert "being handed back by another command" in capsys.readouterr().err
    assert order.status(fault_id) == "open"


def test_dropping_a_dropped_fault_again_keeps_the_first_reason(order: Order, capsys):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    assert main(["faults", "drop", "order", fault_id, "--reason", "first"]) == 0
    assert main(["faults", "drop", "order", fault_id, "--reason", "second"]) == 0
    assert [d["reason"] for d in order.record(fault_id)["drops"]] == ["first"]
    assert "was dropped at" in capsys.readouterr().err


def test_a_refusal_quoting_control_characters_is_reported_escaped(order, functions, capsys):
    fault_id = order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("fixed since"))
    functions.refuse["intake_esg_from_restaurant"] = (500, "bad \x1b[2J\x1b]0;owned\x07")
    assert main(["faults", "resubmit", "order", fault_id]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "bad \\u001b[2J" in err
