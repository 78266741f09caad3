"""Egress to the point of sale: hands placed orders over and withdraws cancelled ones.

Only orders whose ``ordering`` is ``pos`` go there: lifecycle-control decides
that once, when the order is placed (:mod:`order.lifecycle_control.channel`),
and every status of the order carries it. An order handed to the point of sale
is noted in ``pos-orders/{orderId}``: its withdrawal follows the note, and so
does the relay, which accepts answers only about orders handed over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from order.pos_esg.client import PosLine, PosOrder

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

ORDERS = "pos-orders"
"""``pos-orders/{orderId}``: ``{restaurantId}``, the orders handed to a point of sale."""
CALLBACK_PATH = "/pos/callbacks"


def forward_to_pos(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Pass an order's status on to its point of sale if the order goes there."""
    order = event.body
    if sent_to_pos(ctx, order["id"]):
        _forward(order, ctx)
    elif order["status"] == "placed" and order.get("ordering") == "pos":
        ctx.ports.store.create(ORDERS, order["id"], {"restaurantId": order["restaurant"]["id"]})
        _forward(order, ctx)


def sent_to_pos(ctx: Context[OrderPorts], order_id: str) -> dict[str, Any] | None:
    """The note that the order was handed to its restaurant's point of sale, if it was."""
    return ctx.ports.store.get(ORDERS, order_id)


def _forward(order: dict[str, Any], ctx: Context[OrderPorts]) -> None:
    ports = ctx.ports
    if order["status"] == "placed":
        ports.pos.submit(
            PosOrder(
                order_id=order["id"],
                restaurant_id=order["restaurant"]["id"],
                lines=tuple(PosLine(line["name"], line["quantity"]) for line in order["items"]),
                callback_url=ports.pos_callback_url + CALLBACK_PATH,
            )
        )
        ctx.log.info("order %s handed to the point of sale", order["id"])
    elif order["status"] == "cancelled" and order["reason"] != "rejected":
        # A rejected order was refused by the point of sale itself: nothing to withdraw.
        ports.pos.cancel(order["id"])
        ctx.log.info("order %s withdrawn from the point of sale", order["id"])
