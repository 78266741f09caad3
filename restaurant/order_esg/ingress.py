"""Read the Order subsystem's status changes (v1): what the kitchen needs to know of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from restaurant.events import ORDER_COLLECTED, ORDER_RECEIVED, ORDER_WITHDRAWN
from restaurant.order_esg.pickups import collected_fact, first_to_collect
from shared.contracts import ReadEpochMs, Reader, knows, read

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

ORDER_STATUS_CHANGED = "order.order-status-changed"
VERSION = "1"
"""The major version this ingress still reads: v1, deprecated, which Order publishes beside v2
for at least 90 days after v2 shipped and until no consumer selects it (``order/contracts.py``,
docs/domain.md). Restaurant is its last reader, so v1 can go once this ingress reads v2: a
second subscription selecting ``schemaVersion`` 2 beside this one, a reader of v2's shape
(``total`` and prices as ``{amount, currency}``, ``cancellation.reason`` for ``reason``),
the switch, then this subscription deleted (contracts/README.md); Order then removes v1's
class and schema in one change."""
ORDERINGS = frozenset({"kitchen", "pos"})
"""Where Order may send an order, as far as Restaurant knows; an order it sends elsewhere is
skipped with a warning (never the kitchen's)."""
FOLLOW_UPS = {
    "cancelled": ORDER_WITHDRAWN,
    "picked-up": ORDER_COLLECTED,
    "delivered": ORDER_COLLECTED,
}
"""Statuses after ``placed`` that close the kitchen's ticket, and the event each becomes:
Order delivers only an order its driver collected, so ``delivered`` closes the ticket as
``picked-up`` does, when it comes first or alone; only the first of the two is passed on
(:func:`~restaurant.order_esg.pickups.first_to_collect`)."""
COLLECTED = frozenset({"picked-up", "delivered"})


class RestaurantRef(Reader):
    """Which restaurant prepares the order: never empty (its staff see its tickets by it)."""

    id: str = Field(min_length=1)


class OrderLine(Reader):
    """One line of the order, without its price: a dish of the menu, at least one of it (a
    JSON integer: ``"2"``, ``2.0`` or ``true`` is no quantity to cook)."""

    menu_item_id: str = Field(min_length=1)
    name: str
    quantity: int = Field(strict=True, ge=1)


class OrderStatusChanged(Reader):
    """The parts of ``order.order-status-changed`` the restaurant uses.

    ``ordering`` is ``null`` from an Order older than the field, never empty: the kitchen
    goes by the restaurant's own ordering only when Order did not say. The money and the
    time to answer are read as the contract writes them, JSON integers: a ``total`` of
    ``"1900"`` or ``true`` (read as 1), or an ``answerBy`` of ``"1767226200000"``, is a fault
    rather than a number the kitchen guesses.
    """

    id: str = Field(min_length=1)
    restaurant: RestaurantRef
    items: list[OrderLine]
    total: int = Field(strict=True, ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    status: str
    ordering: str | None = Field(default=None, min_length=1)
    reason: str | None = None
    answer_by: ReadEpochMs | None = None


def receive_order_status(event: Envelope, ctx: Context[RestaurantPorts]) -> None:
    """``placed`` becomes ``order-received``; ``cancelled`` (``order-withdrawn``, with Order's
    reason), and the first heard of ``picked-up`` and ``delivered`` (``order-collected``)
    close the ticket.

    Each keeps where Order sends the order (``ordering``), and ``order-received`` until
    when the kitchen may answer it (``answerBy``); ``None`` when an older producer did not
    say. Each is stamped with Order's time (the runtime's, for an ingress), so
    ``order-received`` carries when Order recorded the order and sent it here. Only the
    statuses above reach it (its channel selects them by the ``status`` attribute); an
    ordering Order added since is skipped, with a warning; a line that names no dish or asks
    for fewer than one is a fault.
    """
    order = read(event, OrderStatusChanged)
    if order.ordering is not None and not knows(ctx, event, "ordering", order.ordering, ORDERINGS):
        return
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
        if order.status in COLLECTED and not first_to_collect(
            ctx.ports.store, order.id, order.status, ctx.clock.now_ms()
        ):
            return  # the other one told the kitchen
        body = {"id": order.id, "restaurantId": restaurant_id, "ordering": order.ordering}
        if order.status == "cancelled":
            body["reason"] = order.reason
        fact = collected_fact(order.id) if order.status in COLLECTED else None
        ctx.emit(FOLLOW_UPS[order.status], "order", body, partition_key=order.id, fact=fact)
