"""The kitchen BFF's HTTP API: staff work through their restaurant's order queue.

The queue holds the open tickets (new, accepted, ready); finished ones (rejected,
cancelled, picked up, lapsed) leave it for the history. Both come a page at a time
(:mod:`shared.stores.paging`): a ticket whose time to answer ran out stays queued until
Order's cancellation is heard (or, should it never be, for a day:
:mod:`restaurant.kitchen_bff.lapse`), so a queue has no length a single answer could be
trusted with. The queue is in the order the kitchen heard its tickets (``queuedAt``, its own
clock), so one heard late joins its end, where a client paging the queue still finds it; the
history is by when each ticket finished (``finishedAt``, its own clock too), so one that
finishes joins its start, never behind a paging client's place.

A ticket's ``ETag`` is its revision, and says whether it is ``expired``
(:func:`~restaurant.kitchen_bff.models.ticket_tag`): the one part of the answer that
changes with the clock rather than with the ticket.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import flask

from restaurant.kitchen_bff.models import (
    FINAL_STATUSES,
    FINISHED_AT,
    LAPSED,
    LAPSED_AT,
    OPEN_STATUSES,
    QUEUED_AT,
    TICKETS,
    WITHDRAWN_UNSEEN,
    AcceptOrder,
    HistoryQuery,
    QueueQuery,
    RejectOrder,
    Ticket,
    TicketList,
    TicketPage,
    is_expired,
    revised,
    stored_tag,
    ticket_revision,
    ticket_tag,
)
from shared.api import HttpApi, HttpError, IfMatch, echoed, entity_tag, if_match
from shared.stores import Where
from shared.stores.paging import newest_first, oldest_first

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.auth import Principal
    from shared.stores import AbstractDocumentStore, Doc

ORDERS = "/restaurants/{restaurant_id}/orders"
ORDER = ORDERS + "/{order_id}"
HISTORY = ORDERS + "/history"
NO_SUCH_ORDER = "the restaurant has no such order"
CHANGED_SINCE = (
    "`If-Match` names another tag of the ticket than its current one (a colleague answered "
    "it, Order withdrew it, or its time to answer ran out, since it was read): nothing is done"
)


def http_app(ports: RestaurantPorts) -> flask.Flask:
    """The Flask app serving the queue, its history and the accept/reject/ready commands."""
    api = HttpApi("Kitchen", ports.verifier, store=ports.store)
    store = ports.store

    @api.route("GET", ORDERS, actors={"staff"}, response=TicketList, query=QueueQuery)
    def list_orders(caller: Principal, restaurant_id: str, query: QueueQuery) -> TicketList:
        """The restaurant's open orders, in the order the kitchen heard them (``queuedAt``,
        oldest first), a page at a time (``?limit=``, ``?after=`` the ``next`` of the page
        before); ``?status=new`` keeps only that status. An order heard late (Order's
        announcement lagged or was retried) joins the end of the queue, so a client paging
        it meanwhile still lists it."""
        _require_staff_of(caller, restaurant_id)
        statuses = OPEN_STATUSES if query.status is None else (query.status,)
        where = [
            Where("restaurantId", "==", restaurant_id),
            Where("status", "in", list(statuses)),
        ]
        page = oldest_first(store, TICKETS, where, QUEUED_AT, query.limit, query.cursor())
        now = ports.clock.now_ms()
        found = [_view(doc.data, now) for doc in page.documents]
        return TicketList(orders=found, next=page.next_token)

    @api.route("GET", HISTORY, actors={"staff"}, response=TicketPage, query=HistoryQuery)
    def order_history(caller: Principal, restaurant_id: str, query: HistoryQuery) -> TicketPage:
        """The restaurant's finished orders, the latest to finish first (``finishedAt``, by
        the kitchen's clock), a page at a time (``?limit=``, ``?after=`` the ``next`` of the
        page before, or ``?before=`` a time). An order that finishes while a client pages the
        history joins its first page, never one the client has yet to read past."""
        _require_staff_of(caller, restaurant_id)
        finished = [
            Where("restaurantId", "==", restaurant_id),
            Where("status", "in", sorted(FINAL_STATUSES)),
        ]
        page = newest_first(store, TICKETS, finished, FINISHED_AT, query.limit, query.cursor())
        now = ports.clock.now_ms()
        found = [_view(doc.data, now) for doc in page.documents]
        return TicketPage(orders=found, next=page.next_token)

    @api.route(
        "GET",
        ORDER,
        actors={"staff"},
        response=Ticket,
        refusals={404: NO_SUCH_ORDER},
        etag=ticket_tag,
    )
    def get_order(caller: Principal, restaurant_id: str, order_id: str) -> Ticket:
        """One of the restaurant's orders."""
        _require_staff_of(caller, restaurant_id)
        ticket = _ticket_of(store.get(TICKETS, order_id), restaurant_id, order_id)
        return _view(ticket, ports.clock.now_ms())

    @api.route(
        "POST",
        ORDER + "/accept",
        actors={"staff"},
        body=AcceptOrder,
        response=Ticket,
        idempotent=True,
        refusals={
            404: NO_SUCH_ORDER,
            409: (
                "the order is neither new nor accepted with these prepMinutes, or the time "
                "to answer it (answerBy) ran out"
            ),
            412: CHANGED_SINCE,
        },
        etag=ticket_tag,
    )
    def accept(caller: Principal, body: AcceptOrder, restaurant_id: str, order_id: str) -> Ticket:
        """Accept a new order, until its ``answerBy``, and say how many minutes it takes to
        prepare.

        Accepting again an order accepted with the same ``prepMinutes`` (a retry without an
        ``Idempotency-Key``, or a colleague's same answer) is answered 200 with the ticket
        and publishes nothing; with other ``prepMinutes`` it is a 409.

        Accepting with ``If-Match`` (the ``ETag`` of the ticket as read) is done only if
        the ticket is still as read: if a colleague answered it, Order withdrew it, or its
        time to answer ran out (its ``ETag`` then ends ``-expired``), since, it is refused
        with 412 and nothing changes. The same answer given already is answered 200 all the
        same, whatever ``If-Match`` says, and a retry with the first request's
        ``Idempotency-Key`` gets the first answer again."""
        _require_staff_of(caller, restaurant_id)
        asked = {"status": "accepted", "prepMinutes": body.prep_minutes}
        now = ports.clock.now_ms()
        return _move(store, restaurant_id, order_id, ("new",), "accepted", asked, now, if_match())

    @api.route(
        "POST",
        ORDER + "/reject",
        actors={"staff"},
        body=RejectOrder,
        response=Ticket,
        idempotent=True,
        refusals={
            404: NO_SUCH_ORDER,
            409: (
                "the order has left the queue (but for one rejected with this reason), or "
                "the time to answer a new one ran out"
            ),
            412: CHANGED_SINCE,
        },
        etag=ticket_tag,
    )
    def reject(caller: Principal, body: RejectOrder, restaurant_id: str, order_id: str) -> Ticket:
        """Refuse an order, saying why: a new one (until its ``answerBy``), or one accepted
        that the kitchen cannot finish after all, until its driver collects it (the
        customer's payment is voided).

        A rejection that reaches the Order subsystem after the driver collected the order
        changes nothing there: the ticket then ends ``picked-up``, keeping its reason.

        Rejecting again an order rejected with the same reason (a retry without an
        ``Idempotency-Key``, or a colleague's same answer) is answered 200 with the ticket
        and publishes nothing; with another reason it is a 409.

        Rejecting with ``If-Match`` (the ``ETag`` of the ticket as read) is done only if
        the ticket is still as read: if a colleague answered it, Order withdrew it, or its
        time to answer ran out (its ``ETag`` then ends ``-expired``), since, it is refused
        with 412 and nothing changes. The same answer given already is answered 200 all the
        same, whatever ``If-Match`` says, and a retry with the first request's
        ``Idempotency-Key`` gets the first answer again."""
        _require_staff_of(caller, restaurant_id)
        asked = {"status": "rejected", "reason": body.reason}
        now = ports.clock.now_ms()
        return _move(
            store, restaurant_id, order_id, OPEN_STATUSES, "rejected", asked, now, if_match()
        )

    @api.route(
        "POST",
        ORDER + "/ready",
        actors={"staff"},
        response=Ticket,
        idempotent=True,
        refusals={
            404: NO_SUCH_ORDER,
            409: "the order is neither accepted nor ready",
            412: CHANGED_SINCE,
        },
        etag=ticket_tag,
    )
    def ready(caller: Principal, restaurant_id: str, order_id: str) -> Ticket:
        """Mark an accepted order as packed and waiting for its driver.

        Marking ready again an order that is ready (a retry without an ``Idempotency-Key``,
        or a colleague's same word) is answered 200 with the ticket as it is (its first
        ``readyAt``) and publishes nothing.

        Marking ready with ``If-Match`` (the ``ETag`` of the ticket as read) is done only if
        the ticket is still at that revision: if a colleague answered it, or Order withdrew
        it, since, it is refused with 412 and nothing changes. An order ready already is
        answered 200 all the same, whatever ``If-Match`` says, and a retry with the first
        request's ``Idempotency-Key`` gets the first answer again."""
        _require_staff_of(caller, restaurant_id)
        now = ports.clock.now_ms()
        asked, stamps = {"status": "ready"}, {"readyAt": now}
        return _move(
            store,
            restaurant_id,
            order_id,
            ("accepted",),
            "marked ready",
            asked,
            now,
            if_match(),
            stamps,
        )

    return api.flask_app()


def _require_staff_of(caller: Principal, restaurant_id: str) -> None:
    if caller.restaurant != restaurant_id:
        raise HttpError(
            403,
            f"staff of restaurant {caller.restaurant} may not see orders of "
            f"{echoed(restaurant_id)}",
        )


def _ticket_of(ticket: Doc | None, restaurant_id: str, order_id: str) -> Doc:
    """The ticket if it belongs to the restaurant; 404 otherwise, never saying whose it is
    (and for an order withdrawn before the kitchen heard of it)."""
    if (
        ticket is None
        or ticket["restaurantId"] != restaurant_id
        or ticket["status"] == WITHDRAWN_UNSEEN
    ):
        raise HttpError(404, f"restaurant {restaurant_id} has no order {echoed(order_id)}")
    return ticket


def _move(
    store: AbstractDocumentStore,
    restaurant_id: str,
    order_id: str,
    sources: tuple[str, ...],
    outcome: str,
    asked: Doc,
    answered_at: int,
    expected: IfMatch | None,
    stamps: Doc | None = None,
) -> Ticket:
    """Apply ``asked`` (the status and details the command asks for, e.g. ``prepMinutes``)
    and ``stamps`` (e.g. ``readyAt``) to a ticket in one of ``sources``, atomically, as its
    next revision.

    A ticket that holds what is asked already (the same command again: a retry after a lost
    answer, or two staff giving the same answer) is returned as it is, nothing written or
    published, whatever ``expected`` (the request's ``If-Match``) says: what was asked is
    done (RFC 9110, section 13.1.1, lets a server answer 2xx then). Otherwise 412 when
    ``expected`` does not match the ticket's revision; then 409 from any other status, for
    the same status with other details, and for the answer to a new order given (at
    ``answered_at``) after its ``answerBy``.
    """
    found: list[Doc] = []

    def updater(current: Doc | None) -> Doc | None:
        ticket = _ticket_of(current, restaurant_id, order_id)
        found[:] = [ticket]
        if all(ticket.get(name) == value for name, value in asked.items()):
            return None  # asked again: the ticket holds it already
        _require_match(ticket, expected, order_id, answered_at)
        if ticket["status"] == asked["status"]:
            _refuse_other_details(ticket, asked, order_id, outcome)
        if ticket["status"] not in sources:
            raise HttpError(
                409,
                f"order {order_id} is {_status_of(ticket)}; "
                f"it can be {outcome} only when {' or '.join(sources)}",
            )
        if is_expired(ticket, answered_at):
            raise HttpError(
                409,
                f"the time to answer order {order_id} ran out at {_utc(ticket['answerBy'])}: "
                "the Order subsystem cancels it",
            )
        return revised(ticket, {**asked, **(stamps or {})}, answered_at)

    moved = store.update(TICKETS, order_id, updater)
    return _view(found[0] if moved is None else moved, answered_at)


def _require_match(ticket: Doc, expected: IfMatch | None, order_id: str, at: int) -> None:
    """412 when ``expected`` (the request's ``If-Match``) does not name ``ticket`` as it is
    at ``at``."""
    current = stored_tag(ticket, at)
    if expected is None or expected.matches(current):
        return
    ran_out = (
        f" and its time to answer ran out at {_utc(ticket['answerBy'])}"
        if is_expired(ticket, at)
        else ""
    )
    raise HttpError(
        412,
        f"order {order_id} changed since the revision If-Match names: it is "
        f"{_status_of(ticket)} now, at revision {ticket_revision(ticket)}{ran_out} "
        f"(ETag {entity_tag(current)}); nothing was done: read it again and answer it as it is",
    )


def _refuse_other_details(ticket: Doc, asked: Doc, order_id: str, outcome: str) -> None:
    """409 when ``ticket``, in the status ``asked`` names, holds other details than asked."""
    other = {name: ticket.get(name) for name in asked if ticket.get(name) != asked[name]}
    if other:
        held = ", ".join(f"{name} {value!r}" for name, value in other.items())
        raise HttpError(
            409,
            f"order {order_id} was {outcome} already, with {held}: "
            "an answer given cannot be changed",
        )


def _view(ticket: Doc, now: int) -> Ticket:
    """The ticket as staff see it at ``now``."""
    return Ticket.model_validate({**ticket, "expired": is_expired(ticket, now)})


def _status_of(ticket: Doc) -> str:
    """The ticket's status for staff: a cancelled one says why Order withdrew it."""
    status = str(ticket["status"])
    cancelled_for = ticket.get("cancelledFor")
    if status == "cancelled" and cancelled_for:
        return f"{status} (by the Order subsystem: {cancelled_for})"
    if status == "cancelled" and ticket.get(LAPSED_AT) is not None:
        return f"{status} (unanswered in time: the Order subsystem cancels such orders)"
    if status == LAPSED:
        return (
            f"{status} (closed by the kitchen a day after it was queued, the Order "
            "subsystem's word of its pickup or cancellation never heard)"
        )
    return status


def _utc(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds")
