"""Egress to the point of sale: hands placed orders over and withdraws cancelled ones.

A withdrawal tells the restaurant's staff to stop preparing the order, so an order
cancelled after its driver collected it (``not-delivered``: the food left) is not
withdrawn: the restaurant's part was done, as the kitchen app's ticket stays
``picked-up``; and neither is one the point of sale rejected itself.

Only orders whose ``ordering`` is ``pos`` go there: lifecycle-control decides
that once, when the order is placed (:mod:`order.lifecycle_control.channel`),
and every status of the order carries it. An order handed to the point of sale
is noted in ``pos-orders/{orderId}``: its withdrawal follows the note, and so
does the relay, which accepts answers only about orders handed over.

Order's announcements may arrive out of order (they come from unordered
triggers, and a failed one is retried after the next went out), and a placed
order whose hand-over was dead-lettered may be resubmitted long after it was
cancelled. So the note also says when the order was withdrawn: a cancellation
heard first leaves a note that it was never handed over, and a placed order
whose note says withdrawn is not handed over (again). A cancellation handled while the
order is on its way to the point of sale may withdraw it there before it arrives (the point
of sale does not know it yet, which is fine): so once the order is handed over, a note that
says withdrawn by then withdraws it again, and so does a placed order delivered again whose
note says withdrawn (the try that handed it over may have died before it could look).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from order.pos_esg.client import PosLine, PosOrder

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore
    from shared.stores.base import Updater

ORDERS = "pos-orders"
"""``pos-orders/{orderId}``: ``{restaurantId, status}``, the orders handed to a point of sale:
``status`` is ``handed-over``, ``withdrawn`` (handed over, then cancelled) or
``never-handed-over`` (cancelled before it was placed here); notes from before the status was
kept have none, and were handed over."""
CALLBACK_PATH = "/pos/callbacks"
HANDED_OVER, WITHDRAWN, NEVER = "handed-over", "withdrawn", "never-handed-over"
HANDLED = ("placed", "cancelled")
"""The order statuses this egress acts on (of orders whose ``ordering`` is ``pos``)."""


def forward_to_pos(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Hand a placed order to its point of sale, or withdraw a cancelled one from it, if
    the order goes there."""
    order, store = event.body, ctx.ports.store
    if order["status"] == "placed" and order.get("ordering") == "pos":
        handed_over = {"restaurantId": order["restaurant"]["id"], "status": HANDED_OVER}
        store.create(ORDERS, order["id"], handed_over)
        noted = _status(store.get(ORDERS, order["id"]))
        if noted == HANDED_OVER:
            _submit(order, ctx)
            if _status(store.get(ORDERS, order["id"])) == WITHDRAWN:
                _withdraw_overtaken(order, ctx)
        elif noted == WITHDRAWN:
            # Handed over, then withdrawn: an earlier try of this hand-over may have died once
            # the point of sale took the order, before it could see the withdrawal overtake it.
            _withdraw_overtaken(order, ctx)
        else:
            ctx.log.info("order %s was cancelled before it could be handed over", order["id"])
    elif order["status"] == "cancelled":
        withdrawn = store.update(ORDERS, order["id"], _withdrawal(order))
        if _status(withdrawn or store.get(ORDERS, order["id"])) == WITHDRAWN:
            _withdraw(order, ctx)


def sent_to_pos(store: AbstractDocumentStore, order_id: str) -> dict[str, Any] | None:
    """The note that the order was handed to its restaurant's point of sale, if it was
    (withdrawn since or not)."""
    note = store.get(ORDERS, order_id)
    return note if note is not None and _status(note) != NEVER else None


def was_withdrawn(note: dict[str, Any]) -> bool:
    """Whether the order of a :func:`sent_to_pos` note was cancelled since it was handed over
    (withdrawn from the point of sale, or, collected by its driver already, left there)."""
    return _status(note) == WITHDRAWN


def _status(note: dict[str, Any] | None) -> str | None:
    return None if note is None else str(note.get("status", HANDED_OVER))


def _withdrawal(order: dict[str, Any]) -> Updater:
    """The note of a cancelled order: withdrawn if it was handed over; if it was not (yet),
    a note that keeps a placed order arriving late from being handed over."""

    def withdraw(note: dict[str, Any] | None) -> dict[str, Any] | None:
        if note is None:
            if order.get("ordering") != "pos":
                return None
            return {"restaurantId": order["restaurant"]["id"], "status": NEVER}
        if _status(note) != HANDED_OVER:
            return None
        return {**note, "status": WITHDRAWN}

    return withdraw


def _submit(order: dict[str, Any], ctx: Context[OrderPorts]) -> None:
    ports = ctx.ports
    ports.pos.submit(
        PosOrder(
            order_id=order["id"],
            restaurant_id=order["restaurant"]["id"],
            lines=tuple(PosLine(line["name"], line["quantity"]) for line in order["items"]),
            callback_url=ports.pos_callback_url + CALLBACK_PATH,
        )
    )
    ctx.log.info("order %s handed to the point of sale", order["id"])


def _withdraw(order: dict[str, Any], ctx: Context[OrderPorts]) -> None:
    if order["reason"] == "rejected":
        return  # refused by the point of sale itself: nothing to withdraw
    if _collected(order):
        ctx.log.info(
            "order %s was cancelled (%s) after its driver collected it: the point of sale's "
            "part is done, nothing to withdraw",
            order["id"],
            order["reason"],
        )
        return
    ctx.ports.pos.cancel(order["id"])
    ctx.log.info("order %s withdrawn from the point of sale", order["id"])


def _withdraw_overtaken(order: dict[str, Any], ctx: Context[OrderPorts]) -> None:
    """Withdraw an order cancelled while it was being handed over: the withdrawal, made
    meanwhile, may have reached the point of sale before the order and found nothing."""
    ctx.ports.pos.cancel(order["id"], again=True)
    ctx.log.info("order %s was cancelled while it was handed over: withdrawn", order["id"])


def _collected(order: dict[str, Any]) -> bool:
    """Whether the driver had collected the order before it was cancelled (``not-delivered``):
    the food left the restaurant, so the kitchen has nothing left to stop."""
    return any(entry["status"] == "picked-up" for entry in order.get("history") or [])
