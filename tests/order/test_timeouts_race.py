"""A deadline against the answer it waits for, whatever order their writes land in.

The schedule decides a timeout from the folded order it reads, which may be stale (the
answer is recorded but not folded yet) or fresh (the answer is folded). Which one wins
must follow from the timestamps alone: an answer at or before the deadline wins while
the order is not cancelled yet; one after it loses, whichever write lands first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

import pytest

from order.contracts import OrderStatus
from order.lifecycle_control.deadlines import DEADLINE_OF
from order.lifecycle_control.event_store import record
from order.lifecycle_control.lifecycle import FACTS
from order.lifecycle_control.timeouts import ANSWER_GRACE_MS
from shared.envelope import Envelope, derive_id, new_event
from shared.topology import Topic
from tests.order.conftest import MINUTE, OrderSystem

PREP_MINUTES = 15


def place(order_system: OrderSystem) -> None:
    order_system.send("customer", order_system.order_placed())


def accept(order_system: OrderSystem) -> None:
    place(order_system)
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=PREP_MINUTES))


def assign(order_system: OrderSystem) -> None:
    accept(order_system)
    order_system.send("delivery", order_system.delivery("assigned"))


def pick_up(order_system: OrderSystem) -> None:
    assign(order_system)
    order_system.send("delivery", order_system.delivery("picked-up"))


@dataclass(frozen=True)
class Case:
    """A deadline, how an order comes to wait on it, the answer that stops it, and the
    order each outcome leaves."""

    timeout: str
    arrange: Callable[[OrderSystem], None]
    answer: str
    won: dict[str, Any]
    lost: dict[str, Any]
    body: tuple[tuple[str, Any], ...] = ()


CASES = {
    "restaurant accepts": Case(
        "restaurant-timed-out",
        place,
        "restaurant-accepted",
        {"status": "accepted"},
        {"status": "cancelled", "reason": "restaurant-timeout"},
        (("restaurantId", "r-1"), ("prepMinutes", 5)),
    ),
    "restaurant rejects": Case(
        "restaurant-timed-out",
        place,
        "restaurant-rejected",
        {"status": "cancelled", "reason": "rejected"},
        {"status": "cancelled", "reason": "restaurant-timeout"},
        (("restaurantId", "r-1"), ("reason", "closed")),
    ),
    "driver assigned": Case(
        "driver-timed-out",
        accept,
        "driver-assigned",
        {"status": "accepted", "driverAssigned": True},
        {"status": "cancelled", "reason": "no-driver"},
    ),
    "food ready (moves the driver deadline)": Case(
        "driver-timed-out",
        accept,
        "restaurant-ready",
        {"status": "ready"},
        {"status": "cancelled", "reason": "no-driver"},
        (("restaurantId", "r-1"),),
    ),
    "picked up": Case(
        "pickup-timed-out",
        assign,
        "order-picked-up",
        {"status": "picked-up"},
        {"status": "cancelled", "reason": "driver-no-show"},
    ),
    "driver hands back (moves the deadline)": Case(
        "pickup-timed-out",
        assign,
        "driver-released",
        {"status": "accepted", "driverAssigned": False},
        {"status": "cancelled", "reason": "driver-no-show"},
    ),
    "delivered": Case(
        "delivery-timed-out",
        pick_up,
        "order-delivered",
        {"status": "delivered"},
        {"status": "cancelled", "reason": "not-delivered"},
    ),
}


def answer(case: Case, at: int) -> Envelope:
    """The answer, as intake hands it to the collector, stamped with its producer's time."""
    body = {"id": "o-1", **dict(case.body)}
    return new_event(case.answer, "order", body, partition_key="o-1", timestamp=at)


def stale_timeout(case: Case, due: int) -> Envelope:
    """The timeout a tick that read the order before the answer was folded records."""
    return Envelope(
        id=derive_id("o-1", case.timeout, str(due)),
        type=case.timeout,
        timestamp=due,
        partition_key="o-1",
        entity="order",
        body={"id": "o-1"},
    )


def arrive(order_system: OrderSystem, due: int, at: int) -> None:
    """Bring the clock to the deadline, or to the answer's time if that is later: an answer
    reaches Order no sooner than it was given (Order stamps none later than it heard it)."""
    order_system.clock.advance_to(max(due, at))


def deliver(order_system: OrderSystem, event: Envelope) -> None:
    order_system.system.inject("order", Topic.BUS, event)
    order_system.system.run_until_quiet()


def write_stale_timeout(order_system: OrderSystem, case: Case, due: int) -> None:
    record(order_system.store, stale_timeout(case, due), order_system.clock.now_ms())
    order_system.system.run_until_quiet()


def answer_then_fresh_tick(order_system: OrderSystem, case: Case, due: int, at: int) -> None:
    """The answer is folded before the tick that would time the order out reads it."""
    arrive(order_system, due, at)
    deliver(order_system, answer(case, at))
    order_system.advance(3)


def answer_then_late_tick(order_system: OrderSystem, case: Case, due: int, at: int) -> None:
    """The schedule lags: its first tick after the deadline comes 20 minutes late."""
    arrive(order_system, due, at)
    deliver(order_system, answer(case, at))
    order_system.clock.advance(20 * MINUTE)
    order_system.advance(1)


def answer_then_stale_timeout(order_system: OrderSystem, case: Case, due: int, at: int) -> None:
    """The answer is recorded first; a tick that read the order before it records the
    timeout; later ticks read the order again."""
    arrive(order_system, due, at)
    deliver(order_system, answer(case, at))
    write_stale_timeout(order_system, case, due)
    order_system.advance(3)


def answer_then_redelivered_timeouts(
    order_system: OrderSystem, case: Case, due: int, at: int
) -> None:
    """As above, with the stale timeout written again after the ticks."""
    answer_then_stale_timeout(order_system, case, due, at)
    write_stale_timeout(order_system, case, due)


def timeout_then_answer(order_system: OrderSystem, case: Case, due: int, at: int) -> None:
    """The ticks time the order out first; the answer arrives after the grace."""
    order_system.clock.advance_to(due - MINUTE)
    order_system.advance(1 + (ANSWER_GRACE_MS + MINUTE) / MINUTE)
    deliver(order_system, answer(case, at))
    write_stale_timeout(order_system, case, due)


WRITE_ORDERS = {
    "answer, fresh tick": answer_then_fresh_tick,
    "answer, tick 20 minutes late": answer_then_late_tick,
    "answer, stale timeout": answer_then_stale_timeout,
    "answer, redelivered timeout": answer_then_redelivered_timeouts,
    "timeout, answer": timeout_then_answer,
}


def arrange(order_system: OrderSystem, case: Case) -> int:
    """Bring the order to wait on the case's deadline; when that deadline passes."""
    case.arrange(order_system)
    deadline = DEADLINE_OF[case.timeout]
    order = order_system.order()
    assert deadline.waits_on(order)
    return deadline.due_at(order)


def expect(order_system: OrderSystem, want: dict[str, Any]) -> None:
    order = order_system.order()
    assert {field: order[field] for field in want} == want


ANSWERS = [case for case in CASES if CASES[case].answer not in FACTS]
"""The cases whose event answers a deadline; the others report what happened (a driver on
the way, the food picked up or delivered)."""


@pytest.mark.parametrize("write_order", WRITE_ORDERS, ids=str)
@pytest.mark.parametrize("case", ANSWERS, ids=str)
def test_an_answer_after_the_deadline_loses_whichever_write_lands_first(
    order_system: OrderSystem, case: str, write_order: str
) -> None:
    arranged = CASES[case]
    due = arrange(order_system, arranged)
    WRITE_ORDERS[write_order](order_system, arranged, due, due + 1)
    expect(order_system, arranged.lost)
    assert order_system.order()["changedAt"] == due


@pytest.mark.parametrize("case", [case for case in CASES if case not in ANSWERS], ids=str)
def test_a_fact_after_the_deadline_stands_when_the_schedule_reads_it_first(
    order_system: OrderSystem, case: str
) -> None:
    arranged = CASES[case]
    due = arrange(order_system, arranged)
    answer_then_fresh_tick(order_system, arranged, due, due + 1)
    expect(order_system, arranged.won)


@pytest.mark.parametrize("case", [case for case in CASES if case not in ANSWERS], ids=str)
def test_a_fact_after_the_deadline_is_too_late_once_its_timeout_is_folded(
    order_system: OrderSystem, case: str
) -> None:
    arranged = CASES[case]
    due = arrange(order_system, arranged)
    timeout_then_answer(order_system, arranged, due, due + 1)
    expect(order_system, arranged.lost)


@pytest.mark.parametrize(
    ("case", "stands"),
    [("driver assigned", False), ("picked up", False), ("delivered", True)],
)
def test_a_stale_timeout_recorded_after_a_late_fact_wins_unless_the_order_ended(
    order_system: OrderSystem, case: str, stands: bool
) -> None:
    """The schedule read the order before the fact: its timeout, stamped at the deadline,
    sorts first; a delivered order, final and announced, stays as it is."""
    arranged = CASES[case]
    due = arrange(order_system, arranged)
    answer_then_stale_timeout(order_system, arranged, due, due + 1)
    expect(order_system, arranged.won if stands else arranged.lost)


@pytest.mark.parametrize("write_order", [w for w in WRITE_ORDERS if w != "timeout, answer"])
@pytest.mark.parametrize("offset", [-1, 0], ids=["just before", "on the deadline"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_answer_by_the_deadline_wins_whichever_write_lands_first(
    order_system: OrderSystem, case: str, offset: int, write_order: str
) -> None:
    arranged = CASES[case]
    due = arrange(order_system, arranged)
    WRITE_ORDERS[write_order](order_system, arranged, due, due + offset)
    expect(order_system, arranged.won)


def test_a_cancellation_that_undoes_an_announced_pickup_is_the_latest_status(
    order_system: OrderSystem,
) -> None:
    """The pickup after the deadline was folded and announced before the stale timeout
    landed: consumers keep the latest status by ``changedAt`` (``cancelled`` last within a
    millisecond), so the cancellation must not be stamped before the pickup."""
    arranged = CASES["picked up"]
    due = arrange(order_system, arranged)
    answer_then_stale_timeout(order_system, arranged, due, due + 1)
    expect(order_system, arranged.lost)
    rank = get_args(OrderStatus)
    for version in (1, 2):
        published = [event.body for event in order_system.published(version=version)]
        assert "picked-up" in [body["status"] for body in published]
        latest = max(published, key=lambda body: (body["changedAt"], rank.index(body["status"])))
        assert latest["status"] == "cancelled"
