"""Egress: publishes each internal ``order-status-changed`` as ``order.order-status-changed``.

Both major versions go out during v1's deprecation window (see
:class:`~order.contracts.OrderStatusChanged`): v2 for the consumers that moved
over, v1 for those that have not yet. Each carries the contract's fields only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from order.contracts import OrderStatusChanged, OrderStatusChangedV2
from shared.contracts import publish

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope, Json
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
    "ordering",
    "answerBy",
    "changedAt",
)
"""What leaves the subsystem in v1. Not the delivery address: v1's only reader (Restaurant)
does not need it."""
FINISHED = frozenset({"delivered", "cancelled"})


def publish_status(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Publish the order's new status as v1 and as v2, with the contracts' fields only."""
    order = event.body
    publish(ctx, OrderStatusChanged.model_validate(_v1(order)))
    publish(ctx, OrderStatusChangedV2.model_validate(_v2(order)))


def _v1(order: Json) -> Json:
    return {field: order.get(field) for field in PUBLIC_FIELDS}


def _v2(order: Json) -> Json:
    currency = order.get("currency")

    def money(amount: Any) -> Json:
        return {"amount": amount, "currency": currency}

    payload: Json = {
        "id": order.get("id"),
        "customerRef": order.get("customerRef"),
        "restaurant": order.get("restaurant"),
        "items": [
            {
                "menuItemId": line.get("menuItemId"),
                "name": line.get("name"),
                "quantity": line.get("quantity"),
                "price": money(line.get("price")),
            }
            for line in order.get("items") or []
        ],
        "total": money(order.get("total")),
        "status": order.get("status"),
        "cancellation": None,
        "ordering": order.get("ordering"),
        "readyBy": order.get("readyBy"),
        "notifyCustomer": order.get("notifyCustomer", True),
        "answerBy": order.get("answerBy"),
        "changedAt": order.get("changedAt"),
    }
    if order.get("status") == "cancelled":
        payload["cancellation"] = {"reason": order.get("reason"), "detail": order.get("detail")}
    if order.get("status") not in FINISHED:
        payload["deliveryAddress"] = order.get("deliveryAddress")
    return payload
