"""``fooddelivery faults list`` and ``show`` for scripts: filters, pages and JSON."""

from __future__ import annotations

import json

import pytest

from shared.cli import main
from shared.exceptions import BusinessRuleViolation, EnvelopeError
from shared.lake.base import NamesTaken
from shared.lake.faults import writer_function
from shared.runtime import faults_command
from tests.unit import test_faults_command as base
from tests.unit.test_faults_command import (
    ACCEPTED,
    BUS_READER,
    BUS_SUBSCRIPTION,
    FROM_RESTAURANT,
    GARBAGE,
    MINUTE,
    PLACED,
    Order,
)

order = base.order  # the fixture


def listed(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line.split()[1] for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def three(order: Order, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A bus consumer's fault, its dead letter, an ingress's fault: a minute apart, the
    command run a minute after the last (oldest first)."""
    ids = [
        order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON")),
        order.dead_letter(PLACED),
        order.fault(FROM_RESTAURANT, ACCEPTED, BusinessRuleViolation("closed")),
    ]
    monkeypatch.setattr(faults_command, "_now_ms", lambda: order.clock.now_ms() + MINUTE)
    return ids


def test_list_pages_with_skip(three, capsys):
    assert main(["faults", "list", "order", "--limit", "2"]) == 0
    out = capsys.readouterr()
    assert [line.split()[1] for line in out.out.splitlines()] == three[:0:-1]
    assert "1 older (--skip 2)" in out.err
    assert main(["faults", "list", "order", "--limit", "2", "--skip", "2"]) == 0
    assert listed(capsys) == three[:1]
    assert main(["faults", "list", "order", "--skip", "3"]) == 0
    assert "past the newest 3" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "which"),
    [
        (BUS_READER, [1, 0]),  # as fault events name it: its dead letter too
        (BUS_READER.split("/", 1)[1], [1, 0]),  # service/function
        (BUS_SUBSCRIPTION, [1, 0]),  # as dead letters name it
        (FROM_RESTAURANT, [2]),
        ("order/no/such", []),
    ],
)
def test_list_filters_by_function_however_it_is_named(three, capsys, name, which):
    assert main(["faults", "list", "order", "--function", name]) == 0
    assert listed(capsys) == [three[i] for i in which]


@pytest.mark.parametrize("name", ["lake-writer", "kit/lake-writer", "order/kit/lake-writer"])
def test_list_finds_the_lake_writers_faults_by_its_short_names(order, capsys, name):
    # Only its full name found them: the lake writer is in no topology.
    taken = NamesTaken(["order/bus/x.jsonl"], [(0, PLACED.data)], "every name is taken")
    fault_id = order.fault(writer_function("order"), PLACED, taken)
    order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))

    assert main(["faults", "list", "order", "--function", name]) == 0
    assert listed(capsys) == [fault_id]


def test_a_function_name_that_designates_nothing_says_so(three, capsys):
    # A typo listed "no open faults", as if the function had none.
    assert main(["faults", "list", "order", "--function", "nosuch"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("no open faults in order\n(no function of order is named nosuch: ")
    assert main(["faults", "list", "order", "--function", FROM_RESTAURANT, "--skip", "9"]) == 0
    assert "is named" not in capsys.readouterr().err  # a known one with nothing to show


def test_list_filters_by_age(three, capsys):
    assert main(["faults", "list", "order", "--since", "150s"]) == 0
    assert listed(capsys) == [three[2], three[1]]
    assert main(["faults", "list", "order", "--older-than", "2m"]) == 0
    assert listed(capsys) == [three[1], three[0]]
    assert main(["faults", "list", "order", "--since", "1d", "--older-than", "150s"]) == 0
    assert listed(capsys) == [three[0]]


@pytest.mark.parametrize("age", ["2", "h", "-2h", "2w", "1.5h", ""])
def test_a_malformed_age_is_a_one_line_usage_error(order, capsys, age):
    with pytest.raises(SystemExit) as exit:
        main(["faults", "list", "order", f"--since={age}"])
    assert exit.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"not {age!r}")


def test_list_json_gives_one_object_a_line(three, order, capsys):
    assert main(["faults", "list", "order", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["id"] for row in rows] == three[::-1]
    assert rows[0] == {
        "time": rows[0]["time"],
        "id": three[2],
        "status": "open",
        "reason": "poison",
        "function": FROM_RESTAURANT,
        "error": {"type": "BusinessRuleViolation", "message": "closed"},
        "deliveryAttempt": 1,
        "recurrences": 0,
    }
    assert rows[1]["error"]["type"] == "MaxDeliveryAttemptsExceeded"


def test_show_json_is_one_document_with_the_details(three, capsys):
    assert main(["faults", "show", "order", three[0], "--json"]) == 0
    out = capsys.readouterr().out
    [line] = out.splitlines()
    shown = json.loads(line)
    assert shown["id"] == three[0]
    assert shown["message"]["data"] == "{not an envelope"
    assert "EnvelopeError" in shown["error"]["details"]


def test_what_a_stranger_sent_reaches_no_terminal_as_control_characters(order, capsys):
    # GIVEN a fault whose error quotes what was refused: a terminal's escape sequences
    sent = "\x1b]0;owned\x07\x1b[2K\rall fine\u202e"
    fault_id = order.fault(BUS_READER, GARBAGE, BusinessRuleViolation(f"bad note {sent!s}"))
    # WHEN it is listed and shown THEN they are printed as their escapes, not as themselves
    assert main(["faults", "list", "order"]) == 0
    line = capsys.readouterr().out
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert "\\u001b]0;owned\\u0007" in line and line.count("\n") == 1
    assert main(["faults", "show", "order", fault_id]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\r" not in shown and "\u202e" not in shown
    record, details = shown.split("\nerror details:\n")
    assert "bad note \\u001b]0;owned" in details
    assert json.loads(record)["error"]["message"] == f"bad note {sent}"


def test_list_by_function_reads_that_functions_faults_only(three, order, capsys, monkeypatch):
    # GIVEN a query that notes how many faults the store hands over
    query, read = order.store.query, []

    def noted(*args, **kwargs):
        found = query(*args, **kwargs)
        read.extend(found)
        return found

    monkeypatch.setattr(order.store, "query", noted)

    # WHEN the ingress's faults are listed THEN the store hands over its fault alone
    assert main(["faults", "list", "order", "--function", FROM_RESTAURANT]) == 0
    assert listed(capsys) == [three[2]]
    assert [doc.key for doc in read] == [three[2]]
