"""Order's status changes (v2), read with the customer's own reader and put on the bus."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer import events
from shared.contracts import Id, ReadEpochMs, Reader, knows, read

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

ORDER_STATUS_CHANGED = "order.order-status-changed"
VERSION = "2"
"""The major version of ``order.order-status-changed`` this ingress reads."""
STATUS_TAG = "status"
"""The tag the internal ``order-status-changed`` carries its status in, for routing rules."""
STATUSES = frozenset({"placed", "accepted", "ready", "picked-up", "delivered", "cancelled"})
"""The order statuses the customer follows; others are skipped."""


class CancellationReader(Reader):
    """Why the order was cancelled."""

    reason: str
    detail: str | None = None


class OrderStatusReader(Reader):
    """Where the order stands; the rest of Order's payload is not the customer's concern."""

    id: Id
    status: str
    cancellation: CancellationReader | None = None
    ready_by: ReadEpochMs | None = None
    """When the restaurant expects the food ready; absent from events published before
    Order added it."""
    changed_at: ReadEpochMs


def receive_status(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Emit ``order-status-changed`` ``{id, status, reason, detail, readyBy, changedAt}``,
    keyed by order and tagged with its status (consumers select the statuses they act on).

    A time past :data:`~shared.clock.LATEST_MS`, which the contract allows, comes in as
    that (:data:`~shared.contracts.ReadEpochMs`); a negative one is a fault naming the field.
    """
    order = read(event, OrderStatusReader)
    if not knows(ctx, event, "status", order.status, STATUSES):
        return
    # The contract says null unless cancelled; the schema allows one on any status.
    cancellation = order.cancellation if order.status == "cancelled" else None
    body = {
        "id": order.id,
        "status": order.status,
        "reason": cancellation.reason if cancellation else None,
        "detail": cancellation.detail if cancellation else None,
        "readyBy": order.ready_by,
        "changedAt": order.changed_at,
    }
    ctx.emit(
        events.ORDER_STATUS_CHANGED,
        "order",
        body,
        partition_key=order.id,
        tags={STATUS_TAG: order.status},
    )
