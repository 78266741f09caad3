"""Trigger on ``pos-inbox``: relays each stored callback as the restaurant's answer.

The events are the ones intake-esg emits for the kitchen's answers, so the
lifecycle does not care which way an answer came. A callback about an order that
was not handed to that restaurant's point of sale is refused as a fault: the
webhook refuses such callbacks before it stores them; this check stays behind it
for callbacks stored before it did, or written to the inbox some other way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from order.events import RESTAURANT_ACCEPTED, RESTAURANT_READY, RESTAURANT_REJECTED
from order.pos_esg.to_pos import sent_to_pos
from shared.exceptions import BusinessRuleViolation

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange

ANSWERS = {
    "accepted": RESTAURANT_ACCEPTED,
    "rejected": RESTAURANT_REJECTED,
    "ready": RESTAURANT_READY,
}
"""The event each kind of callback (its ``event``) is relayed as."""


def relay(change: DocumentChange, ctx: Context[OrderPorts]) -> None:
    """Emit ``restaurant-accepted``, ``-rejected`` or ``-ready`` for a new callback."""
    callback = change.after
    if change.kind != "created" or callback is None:
        return
    order_id, restaurant_id = callback["orderId"], callback["restaurantId"]
    if callback["event"] not in ANSWERS:  # the webhook stores no other; a hand-made one
        raise BusinessRuleViolation(
            f"a point-of-sale callback about order {order_id} answers {callback['event']!r}, "
            f"none of {sorted(ANSWERS)}: not relayed"
        )
    sent = sent_to_pos(ctx.ports.store, order_id)
    if sent is None or sent["restaurantId"] != restaurant_id:
        raise BusinessRuleViolation(
            f"a point-of-sale callback about order {order_id} of restaurant {restaurant_id}, "
            "which was not handed to that restaurant's point of sale: not relayed"
        )
    body: dict[str, Any] = {"id": order_id, "restaurantId": restaurant_id}
    if callback["event"] == "accepted":
        body["prepMinutes"] = callback["prepMinutes"]
    elif callback["event"] == "rejected":
        body["reason"] = callback["reason"]
    else:
        body["readyAt"] = callback["receivedAt"]
    ctx.emit(ANSWERS[callback["event"]], "order", body, partition_key=order_id)
