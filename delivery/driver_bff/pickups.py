"""How far the restaurant is with an order a driver is to pick up, kept from Order's updates.

A driver deciding on an offer, or on when to set off, needs to know when the
food will be ready: the listener keeps the latest of each order's updates
(by Order's ``changedAt``; they may arrive out of order), and the views of open
offers and of ``assigned`` deliveries read it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore, Doc

PICKUPS = "driver-pickups"
"""``driver-pickups/{orderId}``: ``{status, readyBy, changedAt}``, the order as its latest
update has it; ``readyBy`` is when the restaurant expects the food ready (the time it gave
when it accepted the order, then the time it marked it ready)."""
COURSE = ("placed", "accepted", "ready", "picked-up", "delivered", "cancelled")
"""The order's statuses in their course: of two updates in one millisecond, the later in it
is kept."""
READY = ("ready", "picked-up", "delivered")
"""Statuses of an order whose food the restaurant has marked ready."""
UNKNOWN: Doc = {"readyBy": None, "ready": None}


def keep_pickup(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Keep the order's update unless a later one was kept already."""
    order = event.body
    heard = {
        "status": order["status"],
        "readyBy": order.get("readyBy"),
        "changedAt": order["changedAt"],
    }

    def newer(known: Doc | None) -> Doc | None:
        return heard if known is None or _stamp(known) < _stamp(heard) else None

    ctx.ports.store.update(PICKUPS, order["id"], newer)


def _stamp(update: Doc) -> tuple[int, int]:
    status = update["status"]
    return update["changedAt"], COURSE.index(status) if status in COURSE else -1


def readiness(store: AbstractDocumentStore, order_id: str) -> Doc:
    """``{readyBy, ready}`` of the order's food: when the restaurant expects it ready and
    whether it has marked it ready; both ``None`` while nothing is known of the order."""
    known = store.get(PICKUPS, order_id)
    if known is None:
        return UNKNOWN
    return {"readyBy": known["readyBy"], "ready": known["status"] in READY}


def cancelled(store: AbstractDocumentStore, order_id: str | None) -> bool:
    """Whether the latest update of the order heard says it was cancelled (for good: dispatch
    withdraws its offers, which may be heard later)."""
    known = None if order_id is None else store.get(PICKUPS, order_id)
    return known is not None and known["status"] == "cancelled"
