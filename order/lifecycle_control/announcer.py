"""Trigger on ``orders``: announces every status the order reached as ``order-status-changed``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from order.events import ORDER_STATUS_CHANGED
from order.lifecycle_control.channel import DEFAULT_ORDERING
from order.lifecycle_control.deadlines import answer_by

if TYPE_CHECKING:
    from order.lifecycle_control.transitions import Order
    from order.ports import OrderPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange

STATUS_TAG = "status"
"""The tag ``order-status-changed`` carries its status in, for routing rules to select on."""
ORDERING_TAG = "ordering"
"""The tag ``order-status-changed`` carries the order's ``ordering`` in (kitchen, pos)."""


def announce(change: DocumentChange, ctx: Context[OrderPorts]) -> None:
    """Emit the order's state once per entry of its status history not announced before,
    with the restaurant's time to answer while it is placed (``answerBy``), tagged with
    its status and ordering for consumers to select on.

    One write may move an order by several statuses (an answer folded late),
    or put a late answer's status before one already announced; each new
    entry is announced, in history order, so no consumer misses the one it
    acts on. Announcements of different writes may go out of order (triggers
    are not ordered, and a failed one is retried after the next went out), so
    consumers keep the latest by ``changedAt``, and one that creates something
    remembers a cancellation that came first (the kitchen, pos-esg, dispatch).
    """
    order = change.after
    if order is None:
        return
    announced = change.before["history"] if change.before is not None else []
    for state in _states(order, announced):
        ctx.emit(
            ORDER_STATUS_CHANGED,
            "order",
            {**state, "answerBy": answer_by(state)},
            partition_key=change.key,
            discriminator=state["status"],
            tags={
                STATUS_TAG: state["status"],
                ORDERING_TAG: order.get("ordering", DEFAULT_ORDERING),
            },
        )


def _states(order: Order, announced: list[dict[str, object]]) -> Iterator[Order]:
    """The order as of each history entry not in ``announced``: only the current one has a
    reason, and each its own ``readyBy`` (an acceptance folded in with the food's readiness
    says the restaurant's estimate, an order placed with its acceptance none)."""
    history = order["history"]
    seen = {_key(entry) for entry in announced}
    for position, entry in enumerate(history):
        if _key(entry) in seen:
            continue
        if position == len(history) - 1:
            yield order
        else:
            yield {
                **order,
                "status": entry["status"],
                "changedAt": entry["at"],
                "reason": None,
                "detail": None,
                "readyBy": _ready_by(entry, order),
            }


def _key(entry: dict[str, object]) -> tuple[object, object]:
    """An entry by its status and time: entries written before they kept ``readyBy`` match
    the same entries written since."""
    return entry["status"], entry["at"]


def _ready_by(entry: dict[str, object], order: Order) -> object:
    """``readyBy`` as of ``entry``; for an entry written before entries kept it, none while
    placed and the order's own after."""
    if "readyBy" in entry:
        return entry["readyBy"]
    return None if entry["status"] == "placed" else order.get("readyBy")
