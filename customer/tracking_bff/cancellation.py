"""A customer's request to cancel an order before the restaurant takes it.

The API records the request in ``cancel-requests`` (one per order, so a repeated
request changes nothing) and in the order's view; the trigger announces it as
``cancellation-requested`` and records it in the view too, in case the API
stopped between the two writes.
Checkout decides first: an order still awaiting its payment is cancelled there
at once. A placed order's request goes on to Order, which cancels it only while
it is still ``placed``; the payment is then voided. Either way the tracking
view shows ``cancelled`` with the reason ``customer``.

Nothing answers a request that loses the race, so the view keeps its own record
(``cancellation``) and decides it from where the order goes next: ``granted``
once it is cancelled for the customer, ``refused`` once it moves on past
``placed`` (or ends otherwise) first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.events import CANCELLATION_REQUESTED
from customer.tracking_bff.models import TRACKING
from customer.tracking_bff.progress import STATUS_RANK

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.runtime.context import Context
    from shared.stores import Doc, DocumentChange

CANCEL_REQUESTS = "cancel-requests"
"""``cancel-requests/{orderId}``: ``{orderId, customerId, requestedAt}``."""
CANCELLABLE = frozenset({"pending-payment", "placed"})
"""Statuses of the tracking view in which a request can still win."""
CUSTOMER = "customer"
"""The reason of an order cancelled because the customer asked."""

REQUESTED, GRANTED, REFUSED = "requested", "granted", "refused"
"""What became of a request, as the view's ``cancellation.status`` says."""
TOO_LATE = "the restaurant had already accepted the order"
"""Why a request was refused when the order moved on past ``placed`` first."""


def announce_cancel_request(change: DocumentChange, ctx: Context[CustomerPorts]) -> None:
    """Emit ``cancellation-requested`` ``{id, requestedAt}`` for a new request, and make
    sure the order's view holds it."""
    request = change.after
    if request is None or change.before is not None:
        return
    order_id, at = request["orderId"], request["requestedAt"]
    ctx.ports.store.update(TRACKING, order_id, lambda view: record_request(view, at))
    body = {"id": order_id, "requestedAt": at}
    ctx.emit(CANCELLATION_REQUESTED, "order", body, partition_key=order_id)


def record_request(view: Doc | None, at: int) -> Doc | None:
    """The view with the customer's request to cancel, made at ``at`` (epoch ms); ``None``
    (nothing to write) when there is no view or it holds a request already.

    A request the view already knows the outcome of is decided at once.
    """
    if view is None or view.get("cancellation") is not None:
        return None
    request = {"status": REQUESTED, "requestedAt": at, "decidedAt": None, "reason": None}
    recorded = {**view, "cancellation": request, "updatedAt": max(view["updatedAt"] or 0, at)}
    return settle(recorded)


def settle(view: Doc) -> Doc:
    """Decide the view's request, if any, from where the order stands.

    ``granted`` once the order is cancelled for the customer (whatever was said
    before: the view never contradicts its own status); ``refused`` when it moved
    on past ``placed`` or ended otherwise while the request was pending, as of the
    first step of its history past ``placed``, so that the answer is the same
    whatever order the news arrived in.
    """
    request = view.get("cancellation")
    if request is None or request["status"] == GRANTED:
        return view
    if view["status"] == "cancelled" and view["reason"] == CUSTOMER:
        outcome, at, reason = GRANTED, _reached(view, "cancelled"), None
    elif STATUS_RANK[view["status"]] > STATUS_RANK["placed"]:
        first = _first_past_placed(view)
        outcome, at, reason = REFUSED, first["at"], _why_refused(view, first["status"])
    else:
        return view
    decided = {**request, "status": outcome, "decidedAt": at, "reason": reason}
    return {**view, "cancellation": decided}


def _why_refused(view: Doc, status: str) -> str:
    if status == "cancelled":
        return f"the order had already been cancelled ({view['reason']})"
    if status == "payment-declined":
        return "the payment had already been declined"
    return TOO_LATE


def _first_past_placed(view: Doc) -> Doc:
    """The earliest step of the view's history past ``placed`` (the history is oldest first)."""
    placed = STATUS_RANK["placed"]
    steps = (step for step in view["history"] if STATUS_RANK[step["status"]] > placed)
    return next(steps, {"status": view["status"], "at": _reached(view, view["status"])})


def _reached(view: Doc, status: str) -> int:
    """When the order reached ``status``, as its history says."""
    at: int = next(step["at"] for step in view["history"] if step["status"] == status)
    return at
