"""Read the Order subsystem's status changes (v1): what the kitchen needs to know of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.events import ORDER_COLLECTED, ORDER_RECEIVED, ORDER_WITHDRAWN
from shared.contracts import Reader, read

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

ORDER_STATUS_CHANGED = "order.order-status-changed"
VERSION = "1"
"""The major version this ingress still reads (v1, in its deprecation window)."""
FOLLOW_UPS = {"cancelled": ORDER_WITHDRAWN, "picked-up": ORDER_COLLECTED}
"""Statuses after ``placed`` that close the kitchen's ticket, and the event each becomes."""


class RestaurantRef(Reader):
    """Which restaurant prepares the order."""

    id: str


class OrderLine(Reader):
    """One line of the order, without its price."""

    menu_item_id: str
    name: str
    quantity: int


class OrderStatusChanged(Reader):
    """The parts of ``order.order-status-changed`` the restaurant uses."""

    id: str
    restaurant: RestaurantRef
    items: list[OrderLine]
    total: int
    currency: str
    status: str
    ordering: str | None = None
    reason: str | None = None
    answer_by: int | None = None


def receive_order_status(event: Envelope, ctx: Context[RestaurantPorts]) -> None:
    """``placed`` becomes ``order-received``; ``cancelled`` (``order-withdrawn``, with Order's
    reason) and ``picked-up`` close the ticket.

    Each keeps where Order sends the order (``ordering``), and ``order-received`` until
    when the kitchen may answer it (``answerBy``); ``None`` when an older producer did not
    say.
    """
    order = read(event, OrderStatusChanged)
    restaurant_id = order.restaurant.id
    if order.status == "placed":
        body = {
            "id": order.id,
            "restaurantId": restaurant_id,
            "items": [line.model_dump(by_alias=True) for line in order.items],
            "total": order.total,
            "currency": order.currency,
            "ordering": order.ordering,
            "answerBy": order.answer_by,
        }
        ctx.emit(ORDER_RECEIVED, "order", body, partition_key=order.id)
    elif order.status in FOLLOW_UPS:
        body = {"id": order.id, "restaurantId": restaurant_id, "ordering": order.ordering}
        if order.status == "cancelled":
            body["reason"] = order.reason
        ctx.emit(FOLLOW_UPS[order.status], "order", body, partition_key=order.id)
