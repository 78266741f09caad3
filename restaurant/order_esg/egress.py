"""Publish the kitchen's answers to the Order subsystem as the published contracts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from restaurant.contracts import OrderAccepted, OrderReady, OrderRejected
from restaurant.events import ORDER_ACCEPTED, ORDER_READY, ORDER_REJECTED
from shared.contracts import Contract, publish

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.envelope import Envelope, Json
    from shared.runtime.context import Context


def publish_answer(event: Envelope, ctx: Context[RestaurantPorts]) -> None:
    """Publish ``order-accepted`` / ``-rejected`` / ``-ready`` as their external contracts."""
    publish(ctx, _CONTRACTS[event.type](event.body))


def _accepted(body: Json) -> OrderAccepted:
    return OrderAccepted(
        id=body["id"], restaurant_id=body["restaurantId"], prep_minutes=body["prepMinutes"]
    )


def _rejected(body: Json) -> OrderRejected:
    return OrderRejected(id=body["id"], restaurant_id=body["restaurantId"], reason=body["reason"])


def _ready(body: Json) -> OrderReady:
    return OrderReady(id=body["id"], restaurant_id=body["restaurantId"], ready_at=body["readyAt"])


_CONTRACTS: dict[str, Callable[[Json], Contract]] = {
    ORDER_ACCEPTED: _accepted,
    ORDER_REJECTED: _rejected,
    ORDER_READY: _ready,
}
