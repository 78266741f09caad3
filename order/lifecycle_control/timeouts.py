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


_PREPARING = ["accepted", "ready"]
DEADLINES: tuple[tuple[str, list[Where], str, int], ...] = (
    ("restaurant-timed-out", [Where("status", "==", "placed")], "placedAt", RESTAURANT_DEADLINE_MS),
    (
        "driver-timed-out",
        [Where("status", "in", _PREPARING), Where("driverAssigned", "==", False)],
        "acceptedAt",
        DRIVER_DEADLINE_MS,
    ),
    (
        "pickup-timed-out",
        [Where("status", "in", _PREPARING), Where("driverAssigned", "==", True)],
        "assignedAt",
        PICKUP_DEADLINE_MS,
    ),
    ("delivery-timed-out", [Where("status", "==", "picked-up")], "changedAt", DELIVERY_DEADLINE_MS),
)
"""Each deadline: the timeout event, which orders it applies to, the time it runs from, and
how long it is."""


def check_deadlines(now_ms: int, ctx: Context[OrderPorts]) -> None:
    """Record a ``*-timed-out`` event for each order past one of its deadlines."""
    for event_type, applies, since, length in DEADLINES:
        due = Where(since, "<=", now_ms - length - ANSWER_GRACE_MS)
        for doc in ctx.ports.store.query(ORDERS, [*applies, due]):
            _time_out(ctx, doc.key, event_type, doc.data[since] + length)


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
