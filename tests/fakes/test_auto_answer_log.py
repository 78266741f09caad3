"""The point of sale's autopilot says, on each failed callback, whether it tries again, and
on the last one that it gave up and how the order is answered by hand: otherwise the order
just stays unanswered with three alike warnings and no word of it."""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import pytest

from fakes.point_of_sale.auto_answer import MAX_ATTEMPTS, AutoAnswerer
from fakes.point_of_sale.callbacks import CallbackFailed
from fakes.point_of_sale.orders import PointOfSale


class FailingPointOfSale:
    """A point of sale whose every callback fails."""

    def __init__(self) -> None:
        self.on_received: list[Any] = []
        self.accepts = 0

    def accept(self, order_id: str, prep_minutes: int) -> None:
        self.accepts += 1
        raise CallbackFailed("503 from the platform")


def warnings_of_a_failing_accept(caplog: pytest.LogCaptureFixture) -> list[str]:
    pos = FailingPointOfSale()
    with caplog.at_level(logging.WARNING, logger="fakes.point_of_sale"):
        answerer = AutoAnswerer(cast(PointOfSale, pos), delay_s=0.0)
        try:
            answerer.schedule("o-1")
            deadline = time.monotonic() + 5
            while len(caplog.records) < MAX_ATTEMPTS and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.05)  # an attempt too many would show by now
        finally:
            answerer.stop()
    assert pos.accepts == MAX_ATTEMPTS
    return [r.getMessage() for r in caplog.records]


def test_a_failed_callback_says_it_tries_again_then_that_it_gave_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    messages = warnings_of_a_failing_accept(caplog)

    assert len(messages) == MAX_ATTEMPTS
    assert all("o-1" in m and "the callback failed: 503" in m for m in messages)
    assert all(m.endswith("; trying again") for m in messages[:-1])
    assert messages[-1].endswith("gave up: answer it by hand (POST /orders/o-1/accept)")
    assert f"attempt {MAX_ATTEMPTS} of {MAX_ATTEMPTS}" in messages[-1]
