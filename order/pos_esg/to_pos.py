"""Egress to the point of sale: hands placed orders over and withdraws cancelled ones.

Only restaurants whose ordering is ``pos`` take part; it keeps their ordering in
``pos-restaurants/{id}`` from ``restaurant-updated``. An order of a restaurant it
has not heard of is left to the kitchen queue, like any kitchen restaurant's.
The channel is decided once, when the order is placed: an order handed to the
point of sale is noted in ``pos-orders/{orderId}``, and its withdrawal and its
answers follow it there even if the restaurant switches ordering meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from order.pos_esg.client import PosLine, PosOrder
from shared.stores import apply_event

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

RESTAURANTS = "pos-restaurants"
ORDERS = "pos-orders"
"""``pos-orders/{orderId}``: ``{restaurantId}``, the orders handed to a point of sale."""
CALLBACK_PATH = "/pos/callbacks"


def forward_to_pos(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Remember a restaurant's ordering, or pass an order's status on to its point of sale."""
    store = ctx.ports.store
    if event.type == "restaurant-updated":
        ordering = event.body["ordering"]
        apply_event(store, RESTAURANTS, event.body["id"], event, lambda _: {"ordering": ordering})
        return
    order = event.body
    if sent_to_pos(ctx, order["id"]):
        _forward(order, ctx)
    elif order["status"] == "placed" and takes_pos_orders(ctx, order["restaurant"]["id"]):
        store.create(ORDERS, order["id"], {"restaurantId": order["restaurant"]["id"]})
        _forward(order, ctx)


def takes_pos_orders(ctx: Context[OrderPorts], restaurant_id: str) -> bool:
    """Whether the restaurant takes its orders in its point of sale (as far as known)."""
    restaurant = ctx.ports.store.get(RESTAURANTS, restaurant_id)
    return restaurant is not None and restaurant["ordering"] == "pos"


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
