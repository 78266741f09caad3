"""Database-first: the kitchen's answers on a ticket become internal events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.events import ORDER_ACCEPTED, ORDER_READY, ORDER_REJECTED

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange

ANSWERS = {
    ("new", "accepted"): (ORDER_ACCEPTED, "prepMinutes"),
    ("new", "rejected"): (ORDER_REJECTED, "reason"),
    ("accepted", "rejected"): (ORDER_REJECTED, "reason"),
    ("ready", "rejected"): (ORDER_REJECTED, "reason"),
    ("accepted", "ready"): (ORDER_READY, "readyAt"),
}
"""(status before, status after) -> (event type, the ticket field the event carries)."""


def announce_answer(change: DocumentChange, ctx: Context[RestaurantPorts]) -> None:
    """Emit ``order-accepted``, ``order-rejected`` or ``order-ready`` on those transitions.

    A ticket created answered (an order with no dish, refused on arrival) is answered from
    ``new``.
    """
    if change.after is None:
        return
    before = "new" if change.before is None else change.before["status"]
    answer = ANSWERS.get((before, change.after["status"]))
    if answer is None:
        return
    event_type, field = answer
    ticket = change.after
    body = {"id": ticket["id"], "restaurantId": ticket["restaurantId"], field: ticket[field]}
    ctx.emit(event_type, "order", body, partition_key=ticket["id"])
