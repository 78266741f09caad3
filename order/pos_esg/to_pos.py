"""Egress to the point of sale: hands placed orders over and withdraws cancelled ones.

Only restaurants whose ordering is ``pos`` take part; it keeps their ordering in
``pos-restaurants/{id}`` from ``restaurant-updated``. An order of a restaurant it
has not heard of is left to the kitchen queue, like any kitchen restaurant's.
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
CALLBACK_PATH = "/pos/callbacks"


def forward_to_pos(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Remember a restaurant's ordering, or pass an order's status on to its point of sale."""
    if event.type == "restaurant-updated":
        ordering = event.body["ordering"]
        apply_event(
            ctx.ports.store, RESTAURANTS, event.body["id"], event, lambda _: {"ordering": ordering}
        )
    elif takes_pos_orders(ctx, event.body["restaurant"]["id"]):
        _forward(event.body, ctx)


def takes_pos_orders(ctx: Context[OrderPorts], restaurant_id: str) -> bool:
    """Whether the restaurant takes its orders in its point of sale (as far as known)."""
    restaurant = ctx.ports.store.get(RESTAURANTS, restaurant_id)
    return restaurant is not None and restaurant["ordering"] == "pos"


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
