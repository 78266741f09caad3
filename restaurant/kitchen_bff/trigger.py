"""Database-first: the kitchen's answers on a ticket become internal events."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

from restaurant.events import ORDER_ACCEPTED, ORDER_READY, ORDER_REJECTED

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.runtime.context import Context
    from shared.stores import Doc, DocumentChange

ANSWERS = {
    ("new", "accepted"): (ORDER_ACCEPTED, "prepMinutes"),
    ("new", "rejected"): (ORDER_REJECTED, "reason"),
    ("accepted", "rejected"): (ORDER_REJECTED, "reason"),
    ("ready", "rejected"): (ORDER_REJECTED, "reason"),
    ("accepted", "ready"): (ORDER_READY, "readyAt"),
}
"""(status before, status after) -> (event type, the ticket field the event carries)."""
KEPT = (("accepted", "prepMinutes"), ("ready", "readyAt"))
"""The open statuses past ``new`` a ticket went through, in their order, each known by the
field its answer sets, which the ticket keeps from then on."""


def announce_answer(change: DocumentChange, ctx: Context[RestaurantPorts]) -> None:
    """Emit ``order-accepted``, ``order-rejected`` or ``order-ready`` on those transitions.

    A change may take the ticket over several of them (the local change feed hands over
    quick writes as one change): each is announced, in their order, as the ticket's fields
    say it went (a ticket accepted, marked ready and rejected, say). A ticket created
    answered (an order with no dish, refused on arrival), or first seen answered, is answered
    from ``new``. Statuses not answered by the kitchen (Order's cancellation or pickup, the
    kitchen's lapse) announce nothing, but for the answers they follow.
    """
    ticket = change.after
    if ticket is None:
        return
    went = _course(ticket)
    start = "new" if change.before is None else change.before["status"]
    if start not in went:
        return  # moved on from a final status: the kitchen answers nothing there
    steps = went[went.index(start) :]
    for step in pairwise(steps):
        answer = ANSWERS.get(step)
        if answer is None:
            continue
        event_type, field = answer
        body = {"id": ticket["id"], "restaurantId": ticket["restaurantId"], field: ticket[field]}
        ctx.emit(event_type, "order", body, partition_key=ticket["id"])


def _course(ticket: Doc) -> list[str]:
    """The statuses ``ticket`` went through, in order: ``new``, those of :data:`KEPT` whose
    field it holds, and the status it is in."""
    went = ["new", *(status for status, field in KEPT if ticket.get(field) is not None)]
    return went if went[-1] == ticket["status"] else [*went, ticket["status"]]
