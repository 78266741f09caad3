"""Schedule: deadlines. Orders nobody answered, no driver took, the driver never picked
up or never delivered get a timeout event.

The timeout is only proposed here: it is recorded like any other event, stamped
with the deadline, and the fold decides. It is proposed :data:`ANSWER_GRACE_MS`
after the deadline, so an answer given before the deadline that is still on its
way from another subsystem arrives first and wins; one folded later wins too.
Repeated ticks record the same event once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from order.lifecycle_control.event_store import ORDERS, record
from shared.envelope import Envelope, derive_id
from shared.stores import Where

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.runtime.context import Context

RESTAURANT_DEADLINE_MS = 10 * 60_000
"""How long a restaurant has to accept or reject a placed order."""
DRIVER_DEADLINE_MS = 30 * 60_000
"""How long after acceptance a driver must be assigned."""
PICKUP_DEADLINE_MS = 90 * 60_000
"""How long after assignment the driver must pick the order up."""
DELIVERY_DEADLINE_MS = 2 * 60 * 60_000
"""How long after pickup the order must be delivered."""
ANSWER_GRACE_MS = 2 * 60_000
"""How long an answer given just before a deadline may take to reach this subsystem
(events cross subsystems asynchronously, with retries) before the timeout is recorded."""


def check_deadlines(now_ms: int, ctx: Context[OrderPorts]) -> None:
    """Record a ``*-timed-out`` event for each order past one of its deadlines."""
    store = ctx.ports.store
    unanswered = store.query(
        ORDERS,
        [
            Where("status", "==", "placed"),
            Where("placedAt", "<=", now_ms - RESTAURANT_DEADLINE_MS - ANSWER_GRACE_MS),
        ],
    )
    for doc in unanswered:
        deadline = doc.data["placedAt"] + RESTAURANT_DEADLINE_MS
        _time_out(ctx, doc.key, "restaurant-timed-out", deadline)
    driverless = store.query(
        ORDERS,
        [
            Where("status", "in", ["accepted", "ready"]),
            Where("driverAssigned", "==", False),
            Where("acceptedAt", "<=", now_ms - DRIVER_DEADLINE_MS - ANSWER_GRACE_MS),
        ],
    )
    for doc in driverless:
        _time_out(ctx, doc.key, "driver-timed-out", doc.data["acceptedAt"] + DRIVER_DEADLINE_MS)
    not_picked_up = store.query(
        ORDERS,
        [
            Where("status", "in", ["accepted", "ready"]),
            Where("driverAssigned", "==", True),
            Where("assignedAt", "<=", now_ms - PICKUP_DEADLINE_MS - ANSWER_GRACE_MS),
        ],
    )
    for doc in not_picked_up:
        _time_out(ctx, doc.key, "pickup-timed-out", doc.data["assignedAt"] + PICKUP_DEADLINE_MS)
    not_delivered = store.query(
        ORDERS,
        [
            Where("status", "==", "picked-up"),
            Where("changedAt", "<=", now_ms - DELIVERY_DEADLINE_MS - ANSWER_GRACE_MS),
        ],
    )
    for doc in not_delivered:
        deadline = doc.data["changedAt"] + DELIVERY_DEADLINE_MS
        _time_out(ctx, doc.key, "delivery-timed-out", deadline)


def _time_out(ctx: Context[OrderPorts], order_id: str, type: str, deadline: int) -> None:
    event = Envelope(
        id=derive_id(order_id, type),
        type=type,
        timestamp=deadline,
        partition_key=order_id,
        entity="order",
        body={"id": order_id},
        tags=ctx.tags,
        metadata={"correlationId": order_id, "causationId": ctx.cause_id},
    )
    if record(ctx.ports.store, event):
        ctx.log.info("order %s: %s at %d", order_id, type, deadline)
