"""Trigger on ``order-events``: folds the order's events into ``orders/{id}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

from order.contracts import OrderStatus
from order.lifecycle_control.event_store import ORDERS, history
from order.lifecycle_control.lifecycle import FINAL, fold

if TYPE_CHECKING:
    from order.lifecycle_control.transitions import Order
    from order.ports import OrderPorts
    from shared.runtime.context import Context
    from shared.stores import Doc, DocumentChange

LIFECYCLE_ORDER: tuple[str, ...] = get_args(OrderStatus)
"""The statuses in the lifecycle's order, by which consumers keep one of two stamped alike."""


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
        if folded.order is None:
            return None
        after = _as_announced(folded.order, current)
        return None if after == current else after

    store.update(ORDERS, order_id, refold)
    if event_id in left_aside:
        ctx.log.info(
            "%s %s does not fit order %s as it stands: kept, not applied",
            change.after["type"],
            event_id,
            order_id,
        )


def _as_announced(order: Order, current: Doc | None) -> Order:
    """``order`` with its statuses stamped no earlier than they were announced, and its
    current status the latest announced.

    Consumers keep the latest status by ``changedAt``, within one millisecond by the
    lifecycle's order (the contract). A status that replaces an announced one is the fold's
    verdict on events heard late, stamped when they happened: a timeout the schedule
    proposed before a late fact was folded (a pickup after the pickup deadline) ends the
    order at its deadline, before the fact's status, and a pickup heard after the
    restaurant's ``ready`` (which it replaces) is stamped before it. Stamped as folded,
    consumers would drop it for the status it replaces; it is stamped with the latest
    announced time instead (a millisecond later where the lifecycle's order would not put
    it last). A status announced keeps the stamp it was announced with unless the fold
    stamps it later (the schedule reads a deadline from it), so it is not announced again
    under an earlier time, and never restamped when it is the current status again.
    """
    if current is None:
        return order
    announced = {entry["status"]: entry["at"] for entry in current["history"]}
    history = [
        {**entry, "at": max(entry["at"], announced.get(entry["status"], entry["at"]))}
        for entry in order["history"]
    ]
    latest = max((entry["at"], _rank(entry["status"])) for entry in current["history"])
    last = history[-1]
    if last["status"] not in announced and (last["at"], _rank(last["status"])) < latest:
        at = latest[0] if _rank(last["status"]) > latest[1] else latest[0] + 1
        history[-1] = {**last, "at": at}
    at = history[-1]["at"]
    return {**order, "history": history, "changedAt": at, "updatedAt": max(order["updatedAt"], at)}


def _rank(status: str) -> int:
    """Where ``status`` stands in the lifecycle's order."""
    return LIFECYCLE_ORDER.index(status)
