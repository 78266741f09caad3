"""Schedule: deadlines. Orders nobody answered or no driver took get a timeout event.

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
ANSWER_GRACE_MS = 2 * 60_000
"""How long an answer given just before a deadline may take to reach this subsystem
(events cross subsystems asynchronously, with retries) before the timeout is recorded."""


def check_deadlines(now_ms: int, ctx: Context[OrderPorts]) -> None:
    """Record ``restaurant-timed-out`` and ``driver-timed-out`` for orders past a deadline."""
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
