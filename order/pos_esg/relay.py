"""Trigger on ``pos-inbox``: relays each stored callback as the restaurant's answer.

The events are the ones intake-esg emits for the kitchen's answers, so the
lifecycle does not care which way an answer came.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange


def relay(change: DocumentChange, ctx: Context[OrderPorts]) -> None:
    """Emit ``restaurant-accepted``, ``-rejected`` or ``-ready`` for a new callback."""
    callback = change.after
    if change.kind != "created" or callback is None:
        return
    order_id = callback["orderId"]
    body: dict[str, Any] = {"id": order_id, "restaurantId": callback["restaurantId"]}
    if callback["event"] == "accepted":
        body["prepMinutes"] = callback["prepMinutes"]
    elif callback["event"] == "rejected":
        body["reason"] = callback["reason"]
    else:
        body["readyAt"] = callback["receivedAt"]
    ctx.emit(f"restaurant-{callback['event']}", "order", body, partition_key=order_id)
