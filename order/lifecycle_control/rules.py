"""Trigger on ``order-events``: folds the order's events into ``orders/{id}``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from order.lifecycle_control.event_store import ORDERS, history
from order.lifecycle_control.lifecycle import FINAL, fold

if TYPE_CHECKING:
    from order.lifecycle_control.transitions import Order
    from order.ports import OrderPorts
    from shared.runtime.context import Context
    from shared.stores import Doc, DocumentChange


def apply_rules(change: DocumentChange, ctx: Context[OrderPorts]) -> None:
    """Write the order's state as folded from all its events, if that changes it.

    A final order (delivered, cancelled) stays as it is, whatever arrives later.
    """
    if change.kind != "created" or change.after is None:
        return
    store, order_id, event_id = ctx.ports.store, change.after["orderId"], change.key
    left_aside: set[str] = set()

    def refold(current: Doc | None) -> Doc | None:
        left_aside.clear()  # the store may run this again when a concurrent write wins
        if current is not None and current["status"] in FINAL:
            left_aside.add(event_id)
            return None
        # Read inside the transaction, so a concurrent fold over more events makes this
        # one run again instead of being overwritten by it.
        folded = fold(history(store, order_id))
        left_aside.update(event.id for event in folded.left_aside)
        if folded.order is None or folded.order == current:
            return None
        return _after_announced(folded.order, current)

    store.update(ORDERS, order_id, refold)
    if event_id in left_aside:
        ctx.log.info(
            "%s %s does not fit order %s as it stands: kept, not applied",
            change.after["type"],
            event_id,
            order_id,
        )


def _after_announced(order: Order, current: Doc | None) -> Order:
    """``order``, its final status stamped no earlier than any status announced before.

    A timeout the schedule proposed before a late fact was folded (a pickup after the
    pickup deadline) ends the order at its deadline, before the fact's status, which
    was announced. Consumers keep the latest status by ``changedAt`` (the contract), so
    a cancellation stamped before it would be dropped: it is stamped with the latest
    announced time instead, where the lifecycle's order puts it last.
    """
    if current is None or order["status"] not in FINAL:
        return order
    announced = max(entry["at"] for entry in current["history"])
    if order["changedAt"] >= announced:
        return order
    return {
        **order,
        "changedAt": announced,
        "updatedAt": max(order["updatedAt"], announced),
        "history": [*order["history"][:-1], {**order["history"][-1], "at": announced}],
    }
