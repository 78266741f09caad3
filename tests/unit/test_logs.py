from __future__ import annotations

import json
import logging

import pytest

from shared import logs


@pytest.fixture
def captured(capsys):
    def read():
        return capsys.readouterr().out.strip().splitlines()

    yield read
    logging.getLogger(logs.ROOT).handlers.clear()


def test_json_lines_carry_cloud_logging_fields_and_event_labels(captured):
    logs.configure("json", project="order-dev")
    log = logs.event_logger(
        "order.lifecycle.listener",
        {"eventId": "e1", "eventType": "order-placed", "correlationId": "o-7"},
    )
    log.warning("slow partner %s", "pos")
    [line] = captured()
    entry = json.loads(line)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "slow partner pos"
    assert entry["logging.googleapis.com/labels"] == {
        "eventId": "e1",
        "eventType": "order-placed",
        "correlationId": "o-7",
    }
    assert entry["logging.googleapis.com/trace"] == (
        f"projects/order-dev/traces/{logs.trace_id('o-7')}"
    )
    assert len(logs.trace_id("o-7")) == 32


def test_every_function_of_one_flow_shares_the_trace(captured):
    logs.configure("json", project="p")
    logs.event_logger("a", {"correlationId": "flow"}).info("one")
    logs.event_logger("b", {"correlationId": "flow"}).info("two")
    traces = {json.loads(line)["logging.googleapis.com/trace"] for line in captured()}
    assert len(traces) == 1


def test_exceptions_are_included(captured):
    logs.configure("json")
    try:
        raise ValueError("bad")
    except ValueError:
        logs.event_logger("x", {}).exception("failed")
    entry = json.loads(captured()[0])
    assert entry["severity"] == "ERROR"
    assert "ValueError: bad" in entry["stack_trace"]


def test_terminal_form_is_one_readable_line(captured):
    logs.configure("text")
    logs.event_logger("customer.checkout.api", {"eventType": "order-placed"}).info("accepted")
    [line] = captured()
    assert "INFO" in line
    assert "customer.checkout.api  accepted  eventType=order-placed" in line
