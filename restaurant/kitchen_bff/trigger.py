"""Database-first: the kitchen's answers on a ticket become internal events."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange

ANSWERS = {
    ("new", "accepted"): ("order-accepted", "prepMinutes"),
    ("new", "rejected"): ("order-rejected", "reason"),
    ("accepted", "rejected"): ("order-rejected", "reason"),
    ("ready", "rejected"): ("order-rejected", "reason"),
    ("accepted", "ready"): ("order-ready", "readyAt"),
}
"""(status before, status after) -> (event type, the ticket field the event carries)."""


def announce_answer(change: DocumentChange, ctx: Context[RestaurantPorts]) -> None:
    """Emit ``order-accepted``, ``order-rejected`` or ``order-ready`` on those transitions."""
    if change.before is None or change.after is None:
        return
    answer = ANSWERS.get((change.before["status"], change.after["status"]))
    if answer is None:
        return
    event_type, field = answer
    ticket = change.after
    body = {"id": ticket["id"], "restaurantId": ticket["restaurantId"], field: ticket[field]}
    ctx.emit(event_type, "order", body, partition_key=ticket["id"])
