"""How an order's tracking view moves forward, whatever order its events arrive in.

Order statuses and payment states are ranked and a view only moves up: a late
``accepted`` is written into the history but never overwrites ``delivered``.
Every step is idempotent, so applying an event twice changes nothing.

Order decides the order's status; Delivery's ``picked-up`` and ``delivered`` only show it
sooner. When they disagree (the driver said ``delivered`` after Order's not-delivered
deadline had cancelled the order and its payment was voided), Order's ``cancelled`` wins,
as its contract orders a cancellation last.

``readyBy`` (when the restaurant expects the food ready) is the one of Order's latest event,
by ``changedAt`` and within one millisecond by the lifecycle's order, as Order's contract
says to keep its events; none once the order ended undelivered.

The driver and their location are those of Delivery's latest status, by its ``revision``
as Delivery's contract says (a status it published again after a later one is set aside),
and by ``changedAt`` for a status published before Delivery added it. The greatest
``revision`` heard is kept whatever comes between: a status without one, taken by its time,
never lets a status Delivery published again after a later one back in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from customer.events import (
    DELIVERY_STATUS_CHANGED,
    ORDER_CANCELLED,
    ORDER_PAYMENT_DECLINED,
    ORDER_PLACED,
    ORDER_STATUS_CHANGED,
    ORDER_SUBMITTED,
    PAYMENT_CAPTURED,
    PAYMENT_REFUNDED,
    PAYMENT_VOIDED,
)

if TYPE_CHECKING:
    from shared.envelope import Envelope
    from shared.stores import Doc

STATUS_RANK = {
    "pending-payment": 0,
    "placed": 1,
    "accepted": 2,
    "ready": 3,
    "picked-up": 4,
    "delivered": 5,
    "payment-declined": 5,
    "cancelled": 6,
}
"""The order's statuses in the lifecycle's order, ``cancelled`` last: Order never cancels
an order it has delivered, so a ``cancelled`` beside ``delivered`` overrules Delivery's
report."""
ENDINGS = frozenset({"delivered", "cancelled", "payment-declined"})
"""Statuses an order ends in: its history holds one, the current status."""
ENDED_UNDELIVERED = frozenset({"cancelled", "payment-declined"})
"""Statuses of an order nobody brings any more."""
ORDER_ONLY = frozenset({"accepted", "ready"})
"""Steps only Order's events report."""
NEVER = (-1, -1)
"""Earlier than any Order event, as :func:`_order_time` orders them."""
DELIVERY_STEPS = frozenset({"assigned", "released"})
"""The delivery's own steps, which show as its driver only; ``picked-up`` and ``delivered``
are steps of the order too."""
DELIVERY_REVISION = "deliveryRevision"
"""The field in which a view keeps the greatest ``revision`` of the delivery's statuses heard
(``None``: none had one yet; in a view stored before it was the greatest, the revision of
the status its driver came from, or ``None`` when that had none)."""
READY_BY_FROM = "readyByFrom"
"""The field in which a view keeps ``{status, changedAt}`` of the Order event its
``readyBy`` comes from: the latest applied."""
PAYMENT_RANK = {
    "pending": 0,
    "authorized": 1,
    "declined": 1,
    "cancelled": 1,
    "captured": 2,
    "voided": 3,
    "refunded": 3,
}


def blank(order_id: str) -> Doc:
    """The view of an order none of whose events has been applied yet."""
    return {
        "id": order_id,
        "customerId": None,
        "pushTopic": None,
        "restaurant": None,
        "items": [],
        "total": None,
        "currency": None,
        "status": None,
        "reason": None,
        "detail": None,
        "driver": None,
        "location": None,
        "payment": "pending",
        "history": [],
        "readyBy": None,
        READY_BY_FROM: None,
        "placedAt": None,
        "createdAt": None,
        "updatedAt": None,
        "deliveryChangedAt": 0,
        DELIVERY_REVISION: None,
    }


def advance(view: Doc, status: str, at: int) -> Doc:
    """Record ``status`` (reached at ``at``) in the history; make it current if further along.

    The history stays one course, each status once, as Order's fold keeps it: a status
    stamped after a further one was not reached (Order rewrote its history, or Delivery
    reported a step after the order ended), so it is left out, or dropped when the further
    one comes; and it ends once, with the current status. A status reported twice (checkout
    and Order both say ``placed``, the driver and Order both ``picked-up``) is stamped with
    the earlier report, whichever arrives first, so the history does not depend on the order
    the news arrives in.
    """
    current = view["status"]
    if current is None or STATUS_RANK[status] > STATUS_RANK[current]:
        current = status
    history = view["history"]
    step = {"status": status, "at": at}
    if _fits(history, step, current):
        kept = [earlier for earlier in history if _fits([step], earlier, current)]
        history = sorted(
            [*kept, step], key=lambda entry: (entry["at"], STATUS_RANK[entry["status"]])
        )
    return {**view, "status": current, "history": history}


def _fits(history: list[Doc], step: Doc, current: str) -> bool:
    """Whether ``step`` can stand in ``history`` of an order now ``current``: a status not
    there yet (or there with a later stamp), not stamped after a further one, and an ending
    only if it is ``current``."""
    status, rank = step["status"], STATUS_RANK[step["status"]]
    if status in ENDINGS and status != current:
        return False
    return all(
        not (other["status"] == status and other["at"] <= step["at"])
        and not (STATUS_RANK[other["status"]] > rank and other["at"] < step["at"])
        for other in history
    )


def pay(view: Doc, payment: str) -> Doc:
    """Move the payment state to ``payment`` if that is further along."""
    if PAYMENT_RANK[payment] > PAYMENT_RANK[view["payment"]]:
        return {**view, "payment": payment}
    return view


def _known(view: Doc, event: Envelope) -> Doc:
    """The view with the order as checkout made it, which each of checkout's events carries:
    whichever of them arrives first makes the order known to its customer."""
    order = event.body
    details = {
        "customerId": order["customerId"],
        "pushTopic": order["customerRef"],
        "restaurant": {"id": order["restaurant"]["id"], "name": order["restaurant"]["name"]},
        "items": order["items"],
        "total": order["total"],
        "currency": order["currency"],
        "createdAt": order["createdAt"],
    }
    return {**view, **details}


def _submitted(view: Doc, event: Envelope) -> Doc:
    return advance(_known(view, event), "pending-payment", event.body["createdAt"])


def _placed(view: Doc, event: Envelope) -> Doc:
    placed_at = event.body["placedAt"]
    view = advance({**_known(view, event), "placedAt": placed_at}, "placed", placed_at)
    return pay(view, "authorized")


def _declined(view: Doc, event: Envelope) -> Doc:
    view = {**_known(view, event), "reason": event.body["reason"]}
    return pay(_unattended(advance(view, "payment-declined", event.timestamp)), "declined")


def _cancelled(view: Doc, event: Envelope) -> Doc:
    """Checkout cancelled the order before it was placed: no payment will be taken, and one
    authorized after all is voided (``payment-voided`` follows)."""
    order = event.body
    view = {**_known(view, event), "reason": order["reason"]}
    return pay(_unattended(advance(view, "cancelled", order["cancelledAt"])), "cancelled")


def _status_changed(view: Doc, event: Envelope) -> Doc:
    order = event.body
    view = _unattended(_estimate(advance(view, order["status"], order["changedAt"]), order))
    return {
        **view,
        "reason": order["reason"] or view["reason"],
        "detail": order["detail"] or view["detail"],
    }


def _estimate(view: Doc, order: Doc) -> Doc:
    """The view with ``readyBy`` from Order's event ``order``, unless the view's comes from a
    later one: a late or repeated event never moves it back. An event from before Order
    added ``readyBy`` says none."""
    if _order_time(order) < _estimated(view):
        return view
    source = {"status": order["status"], "changedAt": order["changedAt"]}
    return {**view, "readyBy": order.get("readyBy"), READY_BY_FROM: source}


def _estimated(view: Doc) -> tuple[int, int]:
    """When the Order event the view's ``readyBy`` comes from was, as :func:`_order_time`.

    A view stored before ``readyBy`` was kept has no such event: its latest step only Order
    reports (``accepted`` or ``ready``) stands for it, so an older event, repeated, sets no
    estimate the order has moved past.
    """
    if READY_BY_FROM not in view:
        history = view["history"]
        steps = [(s["at"], STATUS_RANK[s["status"]]) for s in history if s["status"] in ORDER_ONLY]
        return max(steps, default=NEVER)
    source = view[READY_BY_FROM]
    return NEVER if source is None else _order_time(source)


def _order_time(order: Doc) -> tuple[int, int]:
    """``(changedAt, rank)`` of an Order status: how Order's contract orders its events."""
    return order["changedAt"], STATUS_RANK[order["status"]]


def _unattended(view: Doc) -> Doc:
    """Nobody brings an order that ended undelivered, and no food will be ready for it; a
    delivered order's driver is no longer followed (their last location is the customer's
    door, and where they go next is theirs)."""
    if view["status"] in ENDED_UNDELIVERED:
        return {**view, "driver": None, "location": None, "readyBy": None}
    if view["status"] == "delivered":
        return {**view, "location": None}
    return view


def _delivery(view: Doc, event: Envelope) -> Doc:
    delivery = event.body
    at = delivery["changedAt"]
    if _later_delivery(view, delivery):
        view = {**view, **_bringing(view, delivery), "deliveryChangedAt": at}
    revision, heard = delivery.get("revision"), view.get(DELIVERY_REVISION)
    if revision is not None and (heard is None or revision > heard):
        view = {**view, DELIVERY_REVISION: revision}
    if delivery["status"] in DELIVERY_STEPS:
        return _unattended(view)
    return _unattended(advance(view, delivery["status"], at))


def _later_delivery(view: Doc, delivery: Doc) -> bool:
    """Whether the delivery status ``delivery`` comes after the one the view's driver is from.

    By ``revision`` when it has one and one was heard before, as Delivery's contract orders
    its statuses: two share a ``changedAt`` when Delivery hands the order from one driver to
    the next (the first one's ``released`` and the next one's ``assigned``), and a status may
    come again after a later one, so a repeated ``released`` must not hide the driver who
    came after it: after the greatest heard, even when a status without one was taken since
    (by its time), so that a status published again stays set aside. Otherwise (a status
    published before Delivery added ``revision``, or the first with one) by ``changedAt``,
    the later (or the same) time taken.
    """
    revision, heard = delivery.get("revision"), view.get(DELIVERY_REVISION)
    if revision is not None and heard is not None:
        return bool(revision > heard)
    return bool(delivery["changedAt"] >= view["deliveryChangedAt"])


def _bringing(view: Doc, delivery: Doc) -> Doc:
    """Who brings the order and where they are: nobody, once the driver handed it back or the
    order was cancelled (a late assignment, announced after the cancellation, included)."""
    if delivery["status"] == "released" or view["status"] in ENDED_UNDELIVERED:
        return {"driver": None, "location": None}
    return {"driver": delivery["driver"], "location": delivery["location"] or view["location"]}


def _settled(view: Doc, event: Envelope) -> Doc:
    return pay(view, event.body["status"])


APPLY: dict[str, Callable[[Doc, Envelope], Doc]] = {
    ORDER_SUBMITTED: _submitted,
    ORDER_PLACED: _placed,
    ORDER_PAYMENT_DECLINED: _declined,
    ORDER_CANCELLED: _cancelled,
    ORDER_STATUS_CHANGED: _status_changed,
    DELIVERY_STATUS_CHANGED: _delivery,
    PAYMENT_CAPTURED: _settled,
    PAYMENT_VOIDED: _settled,
    PAYMENT_REFUNDED: _settled,
}
"""How each event type moves a view; ``paymentMethod`` is never copied."""
