"""What each event does to an order: the transitions of the lifecycle, as data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from order.events import (
    CANCEL_REQUESTED,
    DELIVERY_TIMED_OUT,
    DRIVER_ASSIGNED,
    DRIVER_RELEASED,
    DRIVER_TIMED_OUT,
    ORDER_DELIVERED,
    ORDER_PICKED_UP,
    PICKUP_TIMED_OUT,
    RESTAURANT_ACCEPTED,
    RESTAURANT_READY,
    RESTAURANT_REJECTED,
    RESTAURANT_TIMED_OUT,
)
from order.lifecycle_control.deadlines import DEADLINE_OF

Order = dict[str, Any]
"""An order's state: the placed order's data plus its lifecycle fields (camelCase)."""
DELIVERY_REVISION = "deliveryRevision"
"""The field in which an order keeps the greatest ``revision`` of the delivery's statuses
applied to it (missing until one that has a revision is)."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """One event of the order's micro event store, as the fold needs it: ``heard_at`` is when
    Order recorded it, by its own clock (``None`` for events recorded before that was kept)."""

    id: str
    type: str
    timestamp: int
    body: dict[str, Any] = field(default_factory=dict)
    heard_at: int | None = None


Changes = Callable[[Order, Recorded, int], dict[str, Any]]
Guard = Callable[[Order, Recorded], bool]


def _always(order: Order, event: Recorded) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Transition:
    """What an event does: from which statuses, to which (``None``: same), with which changes."""

    sources: frozenset[str]
    target: str | None
    changes: Changes
    fits: Guard = _always


def _nothing(order: Order, event: Recorded, at: int) -> dict[str, Any]:
    return {}


def _accepted(order: Order, event: Recorded, at: int) -> dict[str, Any]:
    """The restaurant says when the food will be ready: ``readyBy``."""
    prep_minutes = event.body.get("prepMinutes")
    ready_by = None if prep_minutes is None else at + prep_minutes * 60_000
    return {"acceptedAt": at, "readyBy": ready_by}


def _ready(order: Order, event: Recorded, at: int) -> dict[str, Any]:
    """The food is ready now, whatever was said when the order was accepted."""
    return {"readyBy": at}


def _rejected(order: Order, event: Recorded, at: int) -> dict[str, Any]:
    return {"reason": "rejected", "detail": event.body.get("reason")}


def _cancelled(reason: str) -> Changes:
    return lambda order, event, at: {"reason": reason}


def _assigned(order: Order, event: Recorded, at: int) -> dict[str, Any]:
    return {"driverAssigned": True, "assignedAt": at, "driverId": event.body.get("driverId")}


def _released(order: Order, event: Recorded, at: int) -> dict[str, Any]:
    """The driver handed the order back: it waits for another one, from now."""
    driver = event.body.get("driverId")
    handed_back = [*order.get("handedBackBy", []), *([] if driver is None else [driver])]
    return {
        "driverAssigned": False,
        "assignedAt": None,
        "releasedAt": at,
        "driverId": None,
        "handedBackBy": handed_back,
    }


def _from_its_restaurant(order: Order, event: Recorded) -> bool:
    return bool(event.body.get("restaurantId") == order["restaurant"]["id"])


def _without_driver(order: Order, event: Recorded) -> bool:
    return not order["driverAssigned"]


def _new_driver(order: Order, event: Recorded) -> bool:
    """No driver is assigned, and this one never handed the order back: Delivery never offers
    an order again to a driver who did, so their assignment heard again is a stale repeat.
    When both carry a revision, :func:`_in_course` decides instead: an assignment later in the
    delivery's course than every status applied is a new one, whoever it names."""
    return _without_driver(order, event) and (
        _revised(order, event) or event.body.get("driverId") not in order.get("handedBackBy", [])
    )


def _with_driver(order: Order, event: Recorded) -> bool:
    return bool(order["driverAssigned"])


def _by_its_driver(order: Order, event: Recorded) -> bool:
    """A driver is assigned and the event is theirs: a hand-back of an earlier assignment,
    heard after the next driver's, never frees the next driver (an order assigned before the
    driver was kept, or an event that names none, is not told apart)."""
    assigned, releasing = order.get("driverId"), event.body.get("driverId")
    return _with_driver(order, event) and (None in (assigned, releasing) or releasing == assigned)


def _revised(order: Order, event: Recorded) -> bool:
    """Both the delivery's status ``event`` and a status applied to ``order`` say where they
    come in the delivery's course (their ``revision``)."""
    return event.body.get("revision") is not None and order.get(DELIVERY_REVISION) is not None


def _in_course(guard: Guard) -> Guard:
    """``guard``, and the delivery's status comes after every one applied, by revision when
    both have one: Delivery may publish a status again after a later one (a hand-back after
    the next assignment), which would move the order back."""

    def fits(order: Order, event: Recorded) -> bool:
        later = not _revised(order, event) or event.body["revision"] > order[DELIVERY_REVISION]
        return later and guard(order, event)

    return fits


def _noted(changes: Changes) -> Changes:
    """``changes``, and the delivery's status's ``revision``, if it has one, as the latest
    applied."""

    def noting(order: Order, event: Recorded, at: int) -> dict[str, Any]:
        revision = event.body.get("revision")
        noted = {} if revision is None else {DELIVERY_REVISION: revision}
        return {**changes(order, event, at), **noted}

    return noting


def _due(guard: Guard) -> Guard:
    """``guard``, and the timeout is stamped at or after the order's own deadline as it stands
    now: one proposed for a deadline that moved later since (a driver handed the order back,
    the food is ready later than said) never fits."""

    def fits(order: Order, event: Recorded) -> bool:
        return guard(order, event) and event.timestamp >= DEADLINE_OF[event.type].due_at(order)

    return fits


_PLACED = frozenset({"placed"})
_PREPARING = frozenset({"accepted", "ready"})
TRANSITIONS: dict[str, Transition] = {
    CANCEL_REQUESTED: Transition(_PLACED, "cancelled", _cancelled("customer")),
    RESTAURANT_ACCEPTED: Transition(_PLACED, "accepted", _accepted, _from_its_restaurant),
    RESTAURANT_REJECTED: Transition(
        _PLACED | _PREPARING, "cancelled", _rejected, _from_its_restaurant
    ),
    RESTAURANT_TIMED_OUT: Transition(
        _PLACED, "cancelled", _cancelled("restaurant-timeout"), _due(_always)
    ),
    RESTAURANT_READY: Transition(frozenset({"accepted"}), "ready", _ready, _from_its_restaurant),
    DRIVER_ASSIGNED: Transition(_PREPARING, None, _noted(_assigned), _in_course(_new_driver)),
    DRIVER_RELEASED: Transition(_PREPARING, None, _noted(_released), _in_course(_by_its_driver)),
    DRIVER_TIMED_OUT: Transition(
        _PREPARING, "cancelled", _cancelled("no-driver"), _due(_without_driver)
    ),
    PICKUP_TIMED_OUT: Transition(
        _PREPARING, "cancelled", _cancelled("driver-no-show"), _due(_with_driver)
    ),
    ORDER_PICKED_UP: Transition(_PREPARING, "picked-up", _noted(_nothing), _in_course(_always)),
    ORDER_DELIVERED: Transition(
        frozenset({"picked-up"}), "delivered", _noted(_nothing), _in_course(_always)
    ),
    DELIVERY_TIMED_OUT: Transition(
        frozenset({"picked-up"}), "cancelled", _cancelled("not-delivered"), _due(_always)
    ),
}
"""Every transition but the first (``order-placed`` creates the order)."""
