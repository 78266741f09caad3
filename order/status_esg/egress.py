"""Egress: publishes each internal ``order-status-changed`` as ``order.order-status-changed``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from order.contracts import OrderStatusChanged
from shared.contracts import publish

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

PUBLIC_FIELDS = (
    "id",
    "customerRef",
    "restaurant",
    "items",
    "total",
    "currency",
    "status",
    "reason",
    "detail",
    "changedAt",
)
"""What leaves the subsystem; the delivery address only while the order is on its way."""
FINISHED = frozenset({"delivered", "cancelled"})


def publish_status(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Publish the order's new status with the contract's fields only."""
    order = event.body
    payload = {field: order.get(field) for field in PUBLIC_FIELDS}
    if order.get("status") not in FINISHED:
        payload["deliveryAddress"] = order.get("deliveryAddress")
    publish(ctx, OrderStatusChanged.model_validate(payload), partition_key=event.partition_key)
