"""Order's status changes, read with the customer's own reader and put on the bus."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from shared.contracts import Reader, read

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

ORDER_STATUS_CHANGED = "order.order-status-changed"


class OrderStatusReader(Reader):
    """Where the order stands; the rest of Order's payload is not the customer's concern."""

    id: str
    status: Literal["placed", "accepted", "ready", "picked-up", "delivered", "cancelled"]
    reason: str | None = None
    detail: str | None = None
    changed_at: int


def receive_status(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Emit ``order-status-changed`` ``{id, status, reason, detail, changedAt}``, keyed by order."""
    order = read(event, OrderStatusReader)
    body = order.model_dump(mode="json", by_alias=True)
    ctx.emit("order-status-changed", "order", body, partition_key=order.id)
