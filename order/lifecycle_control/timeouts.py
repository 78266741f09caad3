"""Schedule: deadlines. Orders nobody answered, no driver took, the driver never picked
up or never delivered get a timeout event.

The timeout is only proposed here: it is recorded like any other event, stamped
with the deadline, and the fold decides. It is proposed :data:`ANSWER_GRACE_MS`
after the deadline, so an answer given before the deadline that is still on its
way from another subsystem arrives first and wins; one folded later wins too.
Repeated ticks record the same event once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from order.lifecycle_control.event_store import ORDERS, record
from shared.envelope import Envelope, derive_id
from shared.stores import Where

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.runtime.context import Context
    from shared.stores import Doc

RESTAURANT_DEADLINE_MS = 10 * 60_000
"""How long a restaurant has to accept or reject a placed order."""
DRIVER_DEADLINE_MS = 30 * 60_000
"""How long after acceptance a driver must be assigned."""
PICKUP_DEADLINE_MS = 90 * 60_000
"""How long the driver has to pick the order up, from the later of their assignment and the
time the restaurant said the food would be ready (``readyBy``)."""
DELIVERY_DEADLINE_MS = 2 * 60 * 60_000
"""How long after pickup the order must be delivered."""
ANSWER_GRACE_MS = 2 * 60_000
"""How long an answer given just before a deadline may take to reach this subsystem
(events cross subsystems asynchronously, with retries) before the timeout is recorded."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline: the timeout event, which orders it applies to, the time it runs from (a
    field the orders are queried by) and how long it is.

    ``later_start`` names a field that, when later, moves the start of the deadline: such
    orders are read as candidates and timed out only once their own deadline is past.
    """

    event_type: str
    applies: tuple[Where, ...]
    since: str
    length_ms: int
    later_start: str | None = None

    def due_at(self, order: Doc) -> int:
        """When the deadline passes for ``order``."""
        later = order.get(self.later_start) if self.later_start else None
        start: int = max(order[self.since], later or 0)
        return start + self.length_ms


_PREPARING = ["accepted", "ready"]
DEADLINES = (
    # From when Order got the order (``changedAt`` while it is placed), not from the
    # checkout: a payment that took minutes must not eat into the restaurant's time.
    Deadline(
        "restaurant-timed-out",
        (Where("status", "==", "placed"),),
        "changedAt",
        RESTAURANT_DEADLINE_MS,
    ),
    Deadline(
        "driver-timed-out",
        (Where("status", "in", _PREPARING), Where("driverAssigned", "==", False)),
        "acceptedAt",
        DRIVER_DEADLINE_MS,
    ),
    Deadline(
        "pickup-timed-out",
        (Where("status", "in", _PREPARING), Where("driverAssigned", "==", True)),
        "assignedAt",
        PICKUP_DEADLINE_MS,
        later_start="readyBy",
    ),
    Deadline(
        "delivery-timed-out",
        (Where("status", "==", "picked-up"),),
        "changedAt",
        DELIVERY_DEADLINE_MS,
    ),
)


def check_deadlines(now_ms: int, ctx: Context[OrderPorts]) -> None:
    """Record a ``*-timed-out`` event for each order past one of its deadlines."""
    for deadline in DEADLINES:
        due = Where(deadline.since, "<=", now_ms - deadline.length_ms - ANSWER_GRACE_MS)
        for doc in ctx.ports.store.query(ORDERS, [*deadline.applies, due]):
            at = deadline.due_at(doc.data)
            if at + ANSWER_GRACE_MS <= now_ms:
                _time_out(ctx, doc.key, deadline.event_type, at)


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
