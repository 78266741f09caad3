"""What Order's schedule logs when a deadline passes: a time an operator can read."""

from __future__ import annotations

import logging

import pytest

from order.lifecycle_control.deadlines import RESTAURANT_DEADLINE_MS
from shared.clock import utc_text
from tests.order.conftest import MINUTE, OrderSystem


def test_utc_text_is_rfc3339_in_utc_to_the_millisecond() -> None:
    assert utc_text(0) == "1970-01-01T00:00:00.000Z"
    assert utc_text(1_767_225_600_123) == "2026-01-01T00:00:00.123Z"
    assert utc_text(-1) == "1969-12-31T23:59:59.999Z"


def test_a_timeout_is_logged_with_its_deadline_as_a_date(
    order_system: OrderSystem, caplog: pytest.LogCaptureFixture
) -> None:
    placed = order_system.order_placed()
    order_system.send("customer", placed)
    received = order_system.order()["history"][0]["at"]
    caplog.set_level(logging.INFO)
    order_system.advance(RESTAURANT_DEADLINE_MS / MINUTE + 2)
    lines = [r.getMessage() for r in caplog.records if "restaurant-timed-out" in r.getMessage()]
    deadline = utc_text(received + RESTAURANT_DEADLINE_MS)
    assert lines == [f"order o-1: restaurant-timed-out (deadline {deadline})"]
