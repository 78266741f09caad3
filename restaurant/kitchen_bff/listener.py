"""Keep the kitchen's queue: a ticket per new order, closed when it is cancelled or collected.

Only orders the Order subsystem sends to the kitchen are queued: it decides once,
when the order is placed, and says so in the order's ``ordering``; the others go to
the restaurant's own point of sale. An order from an older producer that does not
say is routed by the restaurant's ordering as last heard here, once: the first time
it arrives, it gets a ticket or a note in :data:`LEFT_TO_POS`, and the way is kept
whatever the restaurant switches to afterwards.

Events of one order share its partition key, but Order may publish them out of
order (its announcements come from unordered triggers, and one can be retried
after the next went out): a withdrawal heard before the order leaves a
:data:`~restaurant.kitchen_bff.models.WITHDRAWN_UNSEEN` marker in the ticket's
place, so the order arriving late is never queued, unless the order is certainly
not the kitchen's (it says ``pos``, or was left to the point of sale on arrival): an
order that does not say is marked whatever its restaurant's ordering at the time,
which may change before the order arrives. A collection without a ticket is for an
order the kitchen never queued (it went to the point of sale).

Markers and notes are kept a month (:mod:`restaurant.retention`); an order heard more than
a week after its time to answer ran out (a fault resubmitted late) is not queued at all:
no one answered it, so Order cancelled it long since, and the marker or note that would
keep it out may be gone.

An order that lists no dish (Order's contract allows one; Order's intake never places
one) is refused on arrival: its ticket is created ``rejected``
(:data:`NOTHING_TO_PREPARE`), which the trigger publishes like a rejection by staff, so
Order cancels it at once and the customer's payment is released, rather than staff facing
a ticket with nothing on it, or Order waiting for the restaurant's timeout.

The driver collecting the order is a fact Order announces only for an order it
had not cancelled: it also closes a ticket the kitchen rejected (Order heard of the
pickup first and left the rejection aside) or that a later cancellation closed
first (the order was not delivered in time), so the ticket ends ``picked-up``
whichever Order's announcements the kitchen hears first.

A ticket joins the queue stamped with this subsystem's clock (``queuedAt``), by which the
queue is listed: an order heard late joins its end. It leaves the queue for the history
stamped so again (``finishedAt``, once), by which the history is listed: a ticket that
finishes joins the history's start.

A new ticket whose cancellation is not heard a day after its time to answer ran out is
closed by the kitchen itself (:mod:`restaurant.kitchen_bff.lapse`); the cancellation, heard
later after all, only adds its reason. An accepted or ready ticket that hears neither its
pickup nor its cancellation is closed ``lapsed`` a day after it joined the queue; Order's
word, heard later after all, then says how it ended: ``cancelled`` (with why) or
``picked-up``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from restaurant.events import (
    ORDER_COLLECTED,
    ORDER_RECEIVED,
    ORDER_WITHDRAWN,
    RESTAURANT_UPDATED,
)
from restaurant.kitchen_bff.models import (
    FINAL_STATUSES,
    FINISHED_AT,
    LAPSED,
    LAPSED_AT,
    QUEUED_AT,
    TICKETS,
    WITHDRAWN_UNSEEN,
    revised,
)
from restaurant.retention import EXPIRES, TOO_LATE, expire_at
from shared.exceptions import NotYet
from shared.stores import apply_event
from shared.stores.revisions import REVISION

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore, Doc

KITCHEN_RESTAURANTS = "kitchen-restaurants"
"""How each restaurant takes orders (``kitchen`` or ``pos``), keyed by restaurant id: for
orders that do not say."""
LEFT_TO_POS = "kitchen-left-to-pos"
"""``{id, restaurantId, expireAt}`` per order that did not say where it goes and that the
kitchen, when it arrived, left to its restaurant's point of sale, keyed by order id; kept
until its TTL (:mod:`restaurant.retention`), as the marker of an order withdrawn unseen is."""


NOTHING_TO_PREPARE = "the order lists no dish to prepare"
"""The kitchen's reason for refusing, on arrival, an order without lines."""


Step = Callable[["Envelope", "AbstractDocumentStore", int], None]
"""How one event changes the queue, given the store and the time it is heard (epoch ms):
what the notes and markers it leaves expire after (:mod:`restaurant.retention`)."""


class RestaurantNotKnownYet(NotYet):
    """An order that does not say where it goes arrived before its restaurant's profile:
    retried until the profile is here."""


def keep_queue(event: Envelope, ctx: Context[RestaurantPorts]) -> None:
    """Apply one restaurant or order event to the queue; duplicates change nothing, and an
    order heard :data:`~restaurant.retention.TOO_LATE` is not queued."""
    now_ms = ctx.clock.now_ms()
    if event.type == ORDER_RECEIVED and _too_late(event, now_ms):
        ctx.log.warning(
            "order %s heard more than %s after its time to answer ran out: not queued "
            "(the Order subsystem cancelled it)",
            event.body["id"],
            TOO_LATE,
        )
        return
    if event.type == ORDER_RECEIVED and not event.body["items"]:
        ctx.log.warning(
            "order %s lists no dish: refused as %r", event.body["id"], NOTHING_TO_PREPARE
        )
    _APPLY[event.type](event, ctx.ports.store, now_ms)


def _too_late(event: Envelope, now_ms: int) -> bool:
    """Whether the order's time to answer (its ``answerBy``; when Order sent it, from an
    Order that did not say) ran out more than :data:`~restaurant.retention.TOO_LATE` before
    ``now_ms``."""
    answer_by: int | None = event.body.get("answerBy")
    due = event.timestamp if answer_by is None else answer_by
    return now_ms - due > TOO_LATE // timedelta(milliseconds=1)


def _remember_ordering(event: Envelope, store: AbstractDocumentStore, now_ms: int) -> None:
    """Keep the ordering of the restaurant's later save: by time, then by the ``revision``
    profile-bff counted (two saves in one millisecond share their time)."""
    restaurant_id, ordering = event.body["id"], event.body["ordering"]
    apply_event(
        store,
        KITCHEN_RESTAURANTS,
        restaurant_id,
        event,
        lambda _: {"id": restaurant_id, "ordering": ordering},
        revision=event.body.get("revision"),
    )


def _queue(event: Envelope, store: AbstractDocumentStore, now_ms: int) -> None:
    order = event.body
    if _heard_of(store, order):
        return  # routed before, or withdrawn before it arrived: nothing to wait for
    if order.get("ordering"):
        if order["ordering"] != "kitchen":
            return  # the Order subsystem sends it to the restaurant's own point of sale
    elif _ordering_of(store, order["restaurantId"]) != "kitchen":
        note = {
            "id": order["id"],
            "restaurantId": order["restaurantId"],
            EXPIRES: expire_at(now_ms),
        }
        store.create(LEFT_TO_POS, order["id"], note)
        return  # decided here, once: the restaurant's point of sale has it
    ticket = {
        "id": order["id"],
        "restaurantId": order["restaurantId"],
        "items": order["items"],
        "total": order["total"],
        "currency": order["currency"],
        "status": "new",
        "receivedAt": event.timestamp,
        QUEUED_AT: now_ms,
        "answerBy": order.get("answerBy"),
        REVISION: 1,
    }
    if not order["items"]:
        ticket.update({"status": "rejected", "reason": NOTHING_TO_PREPARE, FINISHED_AT: now_ms})
    store.create(TICKETS, order["id"], ticket)


def _ordering_of(store: AbstractDocumentStore, restaurant_id: str) -> str:
    restaurant = store.get(KITCHEN_RESTAURANTS, restaurant_id)
    if restaurant is None:
        raise RestaurantNotKnownYet(f"restaurant {restaurant_id} has no profile here yet")
    return str(restaurant["ordering"])


def _heard_of(store: AbstractDocumentStore, order: Doc) -> bool:
    """Whether the order was routed here before (a ticket, or left to the point of sale), or
    withdrawn before it arrived (the marker)."""
    if store.get(TICKETS, order["id"]) is not None:
        return True
    return not order.get("ordering") and store.get(LEFT_TO_POS, order["id"]) is not None


def _to_pos(store: AbstractDocumentStore, order: Doc) -> bool:
    """Whether the order is certainly not the kitchen's: Order says it goes to the point of
    sale, or it did not say and the kitchen left it there on arrival."""
    if order.get("ordering"):
        return bool(order["ordering"] == "pos")
    return store.get(LEFT_TO_POS, order["id"]) is not None


def _close(status: str) -> Step:
    """A step that moves a ticket that is not final yet to ``status`` (and one the kitchen
    rejected, Order cancelled or the kitchen closed ``lapsed`` to ``picked-up``, and a
    ``lapsed`` one to ``cancelled``); a withdrawal (``cancelled``) of an order not queued yet
    leaves the marker that keeps it out, and one of a new order the kitchen closed itself
    (:mod:`restaurant.kitchen_bff.lapse`) says why Order cancelled it."""

    def close(event: Envelope, store: AbstractDocumentStore, now_ms: int) -> None:
        order = event.body

        def updater(ticket: Doc | None) -> Doc | None:
            if ticket is None and status == "cancelled" and not _to_pos(store, order):
                marker = {"status": WITHDRAWN_UNSEEN, EXPIRES: expire_at(now_ms)}
                return {"id": order["id"], "restaurantId": order["restaurantId"], **marker}
            if ticket is None:
                return None
            if _reason_unheard(ticket, status) and order.get("reason"):
                return revised(ticket, {"cancelledFor": order["reason"]}, now_ms)
            if ticket["status"] in {status, WITHDRAWN_UNSEEN}:
                return None
            if ticket["status"] in FINAL_STATUSES - {LAPSED} and status != "picked-up":
                return None  # final: only its pickup changes it (any word, a lapsed one)
            cancelled_for = order.get("reason") if status == "cancelled" else None
            return revised(ticket, {"status": status, "cancelledFor": cancelled_for}, now_ms)

        store.update(TICKETS, order["id"], updater)

    return close


def _reason_unheard(ticket: Doc, status: str) -> bool:
    """Whether ``ticket`` is one the kitchen closed itself and ``status`` is Order's
    cancellation of it, whose reason the ticket does not hold yet."""
    return (
        status == "cancelled"
        and ticket["status"] == "cancelled"
        and ticket.get(LAPSED_AT) is not None
        and not ticket.get("cancelledFor")
    )


_APPLY: dict[str, Step] = {
    RESTAURANT_UPDATED: _remember_ordering,
    ORDER_RECEIVED: _queue,
    ORDER_WITHDRAWN: _close("cancelled"),
    ORDER_COLLECTED: _close("picked-up"),
}
