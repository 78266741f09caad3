"""Schedule: deadlines. Orders nobody answered, no driver took, the driver never picked
up or never delivered get a timeout event.

The timeout is only proposed here: it is recorded like any other event, stamped
with the deadline, and the fold decides. It is proposed :data:`ANSWER_GRACE_MS`
after the deadline, so an answer given before the deadline that is still on its
way from another subsystem arrives first and wins; one that arrives after the timeout
was folded loses (an announced cancellation is never taken back). An answer given after
the deadline loses however early it arrives: the fold keeps the order as it stood at the
deadline (:func:`~order.lifecycle_control.deadlines.overdue`), so this schedule reads the
same deadline from it, whether or not the answer was folded yet.
Repeated ticks record the same event once: one per order, type and deadline (a deadline
that moves, as when a driver hands the order back, gets its own). The deadlines themselves
are :mod:`order.lifecycle_control.deadlines`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from order.lifecycle_control.deadlines import DEADLINES
from order.lifecycle_control.event_store import ORDERS, record
from shared.clock import utc_text
from shared.envelope import Envelope, derive_id
from shared.stores import Where

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.runtime.context import Context

ANSWER_GRACE_MS = 2 * 60_000
"""How long an answer given just before a deadline may take to reach this subsystem
(events cross subsystems asynchronously, with retries) before the timeout is recorded."""


def check_deadlines(now_ms: int, ctx: Context[OrderPorts]) -> None:
    """Record a ``*-timed-out`` event for each order past one of its deadlines."""
    for deadline in DEADLINES:
        due = Where(deadline.since, "<=", now_ms - deadline.length_ms - ANSWER_GRACE_MS)
        for doc in ctx.ports.store.query(ORDERS, [*deadline.applies, due]):
            at = deadline.due_at(doc.data)
            if at + ANSWER_GRACE_MS <= now_ms:
                _time_out(ctx, doc.key, deadline.event_type, at, now_ms)


def _time_out(
    ctx: Context[OrderPorts], order_id: str, type: str, deadline: int, now_ms: int
) -> None:
    event = Envelope(
        id=derive_id(order_id, type, str(deadline)),
        type=type,
        timestamp=deadline,
        partition_key=order_id,
        entity="order",
        body={"id": order_id},
        tags=ctx.tags,
        metadata={"correlationId": order_id, "causationId": ctx.cause_id},
    )
    if record(ctx.ports.store, event, now_ms):
        ctx.log.info("order %s: %s (deadline %s)", order_id, type, utc_text(deadline))
