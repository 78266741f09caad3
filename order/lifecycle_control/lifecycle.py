"""The order lifecycle as a pure fold over the order's recorded events.

``placed -> accepted -> ready -> picked-up -> delivered``, and ``cancelled`` from
``placed`` (the customer cancelled, rejected, restaurant timeout), from
``accepted``/``ready`` (rejected after all, no driver, or the driver never came) or from
``picked-up`` (never delivered). While ``accepted``/``ready``, a driver may be assigned,
hand the order back before the pickup (``driver-released``) and another one be assigned;
the status stays.

Events are folded in timestamp order, ties broken by :data:`PRECEDENCE`. An event
that does not fit the state yet (anything before ``order-placed``, ``order-delivered``
before ``order-picked-up``) waits and is applied as soon as it fits; events that never
fit (duplicates, repeats, anything after ``delivered``/``cancelled``) are left aside.
So duplicates and late arrivals do not change the outcome. Delivery may publish one of its
statuses again after a later one: of two that say where they come in the delivery's course
(``revision``), one at or before the latest applied never fits.

Of the events that happen once to an order (its placing, and its restaurant's acceptance and
readiness, :data:`ONCE`), the one Order heard first counts and any other is left aside: one
sent again under a new id, stamped earlier, would otherwise take its place in the order's past
and move it back (an earlier acceptance moves ``readyBy``, leaving a ``ready`` announced since
overdue; another ``order-placed`` names another restaurant, whose answer never came).

An event after a deadline the order waits on (an answer sent too late) does not fit
either: only the deadline's timeout does (:func:`~.deadlines.overdue`). So the timeout,
not the order its writes land in, decides: the order stays as it was at the deadline
until the timeout, which the schedule proposes from that state, is folded. A driver's
assignment, the pickup and the delivery are facts, not answers (:data:`FACTS`): they
stand unless the deadline's timeout is recorded too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from order.events import (
    CANCEL_REQUESTED,
    DELIVERY_TIMED_OUT,
    DRIVER_ASSIGNED,
    DRIVER_RELEASED,
    DRIVER_TIMED_OUT,
    ORDER_DELIVERED,
    ORDER_PICKED_UP,
    ORDER_PLACED,
    PICKUP_TIMED_OUT,
    RESTAURANT_ACCEPTED,
    RESTAURANT_READY,
    RESTAURANT_REJECTED,
    RESTAURANT_TIMED_OUT,
)
from order.lifecycle_control.deadlines import DEADLINE_OF, overdue
from order.lifecycle_control.transitions import TRANSITIONS, Order, Recorded

FINAL = frozenset({"delivered", "cancelled"})
FACTS = frozenset({DRIVER_ASSIGNED, ORDER_PICKED_UP, ORDER_DELIVERED})
"""What happened, not an answer to a deadline: a driver on the way, a driver holding the
food, the customer holding it. Such an event after its deadline stands unless that
deadline's timeout is recorded too (the schedule read the order before the event); a
deadline seen to have passed only later (a ``ready`` heard late moves the driver's
deadline earlier than an assignment already taken) never undoes it."""
PRECEDENCE = (
    ORDER_PLACED,
    CANCEL_REQUESTED,
    RESTAURANT_ACCEPTED,
    RESTAURANT_REJECTED,
    RESTAURANT_TIMED_OUT,
    RESTAURANT_READY,
    DRIVER_ASSIGNED,
    DRIVER_RELEASED,
    DRIVER_TIMED_OUT,
    ORDER_PICKED_UP,
    PICKUP_TIMED_OUT,
    ORDER_DELIVERED,
    DELIVERY_TIMED_OUT,
)
"""Event types in lifecycle order: a deadline loses a tie against the answer it waits for,
and the restaurant's answer loses one against the customer's cancellation."""
ONCE = (RESTAURANT_ACCEPTED, RESTAURANT_READY)
"""The restaurant's answers that happen once to an order: of several from its restaurant (the
one the ``order-placed`` Order heard first names), the one Order heard first counts."""


@dataclass(frozen=True, slots=True)
class Folded:
    """The order after the fold (``None`` until it was placed) and the events left aside."""

    order: Order | None
    left_aside: tuple[Recorded, ...]


def fold(events: Iterable[Recorded]) -> Folded:
    """Fold an order's events, in any arrival order, into its state."""
    events = list(events)
    repeats = _repeats(events)
    left_out = {id(event) for event in repeats}  # by identity: a duplicate may be equal
    order: Order | None = None
    waiting: list[Recorded] = []
    for event in sorted((e for e in events if id(e) not in left_out), key=_fold_order):
        waiting.append(event)
        order = _settle(order, waiting)
    return Folded(order, (*waiting, *repeats))


def _repeats(events: list[Recorded]) -> list[Recorded]:
    """The events of a kind that happens once that Order heard after the first of the kind."""
    placings = sorted((e for e in events if e.type == ORDER_PLACED), key=_heard_order)
    repeats = placings[1:]
    if not placings:
        return repeats
    restaurant_id = placings[0].body["restaurant"]["id"]
    for type in ONCE:
        answers = [
            e for e in events if e.type == type and e.body.get("restaurantId") == restaurant_id
        ]
        repeats.extend(sorted(answers, key=_heard_order)[1:])
    return repeats


def _heard_order(event: Recorded) -> tuple[int, int, str]:
    heard = event.timestamp if event.heard_at is None else event.heard_at
    return heard, event.timestamp, event.id


def _fold_order(event: Recorded) -> tuple[int, int, str]:
    rank = PRECEDENCE.index(event.type) if event.type in PRECEDENCE else len(PRECEDENCE)
    return event.timestamp, rank, event.id


def _settle(order: Order | None, waiting: list[Recorded]) -> Order | None:
    """Apply the earliest waiting event that fits, again and again, until none does."""
    applied = True
    while applied:
        applied = False
        for event in waiting:
            after = step(order, event)
            if after is not None:
                order, applied = after, True
                waiting.remove(event)
                break
    return order


def step(order: Order | None, event: Recorded) -> Order | None:
    """The order after ``event``, or ``None`` when the event does not fit it."""
    if event.type == ORDER_PLACED:
        return _placed(event) if order is None else None
    transition = TRANSITIONS.get(event.type)
    if order is None or transition is None or order["status"] not in transition.sources:
        return None
    if not transition.fits(order, event):
        return None
    if (
        event.type not in DEADLINE_OF
        and event.type not in FACTS
        and overdue(order, event.timestamp)
    ):
        return None
    at = max(event.timestamp, order["updatedAt"])
    after = {
        **order,
        **transition.changes(order, event, at),
        "updatedAt": at,
        "heardAt": max(order.get("heardAt") or 0, _heard(event, at)),
    }
    if transition.target is not None:
        after.update(status=transition.target, changedAt=at)
        after["history"] = [*order["history"], _entry(after)]
    return after


def _entry(order: Order) -> dict[str, object]:
    """The history entry of the status ``order`` has just reached: the status, its time and
    the order's ``readyBy`` then, which a later status may change (an entry announced late
    is announced as the order was at it)."""
    return {"status": order["status"], "at": order["changedAt"], "readyBy": order["readyBy"]}


def _heard(event: Recorded, at: int) -> int:
    """When Order heard ``event``; ``at`` for an event recorded before that was kept."""
    return at if event.heard_at is None else event.heard_at


def _placed(event: Recorded) -> Order:
    at = event.timestamp
    return {
        **event.body,
        "status": "placed",
        "reason": None,
        "detail": None,
        "acceptedAt": None,
        "readyBy": None,
        "driverAssigned": False,
        "assignedAt": None,
        "driverId": None,
        "releasedAt": None,
        "changedAt": at,
        "updatedAt": at,
        "heardAt": _heard(event, at),
        "history": [{"status": "placed", "at": at, "readyBy": None}],
    }
