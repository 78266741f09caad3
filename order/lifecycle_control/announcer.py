"""Trigger on ``orders``: announces every status the order reached as ``order-status-changed``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from order.lifecycle_control.transitions import Order
    from order.ports import OrderPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange


def announce(change: DocumentChange, ctx: Context[OrderPorts]) -> None:
    """Emit the order's state once per new entry of its status history.

    One write may move an order by several statuses (an answer folded late);
    each is announced, in order, so no consumer misses the one it acts on.
    """
    order = change.after
    if order is None:
        return
    known = len(change.before["history"]) if change.before is not None else 0
    for state in _states(order, known):
        ctx.emit(
            "order-status-changed",
            "order",
            state,
            partition_key=change.key,
            discriminator=state["status"],
        )


def _states(order: Order, known: int) -> Iterator[Order]:
    """The order as of each status after the first ``known``; only the last has a reason."""
    reached = order["history"][known:]
    for entry in reached[:-1]:
        yield {
            **order,
            "status": entry["status"],
            "changedAt": entry["at"],
            "reason": None,
            "detail": None,
        }
    if reached:
        yield order
