"""The kitchen's tickets (stored documents and API views) and the bodies of its commands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from shared.api_models import (
    MAX_PAGE_LIMIT,
    CursorQuery,
    PageQuery,
    QueryInt,
    RequestBody,
    ResponseView,
)
from shared.stores.revisions import REVISION
from shared.text import text_problem

TICKETS = "tickets"
"""One ticket per queued order, keyed by order id; or, for an order withdrawn before it
arrived, ``{id, restaurantId, status: WITHDRAWN_UNSEEN, expireAt}``, which no list or route
shows and Firestore deletes after its TTL (:mod:`restaurant.retention`; tickets have none)."""
WITHDRAWN_UNSEEN = "withdrawn-unseen"
"""The status of the marker left by a withdrawal heard before its order: the order, arriving
late, is not queued."""

TicketStatus = Literal["new", "accepted", "rejected", "ready", "cancelled", "picked-up", "lapsed"]
STATUSES: tuple[str, ...] = get_args(TicketStatus)
OpenStatus = Literal["new", "accepted", "ready"]
OPEN_STATUSES: tuple[str, ...] = get_args(OpenStatus)
"""A ticket in one of these is in the kitchen's queue."""
LAPSED = "lapsed"
"""The status of an accepted or ready ticket the kitchen closed itself, never having heard
how the order ended (:mod:`restaurant.kitchen_bff.lapse`): Order's word, heard later after
all, turns it ``cancelled`` or ``picked-up``."""
FINAL_STATUSES = frozenset({"rejected", "cancelled", "picked-up", LAPSED})
"""A ticket in one of these is in the kitchen's history, for good: only Order's word that the
driver collected the order turns a ``rejected``, ``cancelled`` or ``lapsed`` one
``picked-up``, and only its cancellation a ``lapsed`` one ``cancelled``."""
EXPIRED_TAG = "-expired"
"""What the tag of an expired ticket adds to its revision (:func:`ticket_tag`)."""
LAPSED_AT = "lapsedAt"
"""When the kitchen closed a ticket itself: a ``new`` one
:data:`~restaurant.kitchen_bff.lapse.LAPSE_AFTER` past its ``answerBy`` (without one, after
it joined the queue), never having heard Order's cancellation, or an ``accepted`` or ``ready`` one
:data:`~restaurant.kitchen_bff.lapse.OPEN_LAPSE_AFTER` after it joined the queue, never
having heard whether its driver collected it or Order cancelled it."""
QUEUED_AT = "queuedAt"
"""When the ticket joined the queue, by this subsystem's clock as it wrote it (epoch ms): the
queue is oldest first by it, so a ticket heard late joins the queue's end, after the place
any client paging the queue has reached."""
FINISHED_AT = "finishedAt"
"""When the ticket left the queue for the history, by this subsystem's clock as it wrote it
(epoch ms): set once, when the ticket first turns final, and kept as it is on its later
changes (a ``lapsed`` one ``picked-up``, say). The history is newest first by it, so a
ticket that finishes joins the history's start, never the middle of it a client paging the
history has passed."""
QUEUE_LIMIT = MAX_PAGE_LIMIT
"""How many tickets a page of the queue holds when ``?limit=`` is left out: as many as a page
may, so that a client reading one page sees the whole queue of any working kitchen."""


def ticket_revision(ticket: Mapping[str, Any]) -> int:
    """The ticket's revision: 0 for one queued before tickets counted their changes."""
    return int(ticket.get(REVISION) or 0)


def is_expired(ticket: Mapping[str, Any], at: int) -> bool:
    """Whether ``ticket`` (stored) is new and its time to answer ran out before ``at``."""
    answer_by: int | None = ticket.get("answerBy")
    return ticket["status"] == "new" and answer_by is not None and at > answer_by


def ticket_tag(view: Mapping[str, Any]) -> str:
    """The opaque tag of a ticket as answered (its JSON view, ``expired`` included): its
    revision, which every change of the ticket counts, with ``-expired`` once its time to
    answer ran out (``3``, then ``3-expired``); answered quoted as the ticket's ``ETag``.

    ``expired`` changes with the clock, not with the ticket, so the tag has it too: a strong
    entity tag names one representation (RFC 9110, section 8.8.1), and a copy read before the
    time ran out is not the ticket as it is now.
    """
    revision = str(ticket_revision(view))
    return f"{revision}{EXPIRED_TAG}" if view.get("expired") else revision


def stored_tag(ticket: Mapping[str, Any], at: int) -> str:
    """The :func:`ticket_tag` of a stored ``ticket`` as it would be answered at ``at``."""
    return ticket_tag({**ticket, "expired": is_expired(ticket, at)})


def revised(ticket: Mapping[str, Any], changes: Mapping[str, Any], at: int) -> dict[str, Any]:
    """``ticket`` with ``changes``, as its next revision written at ``at`` (epoch ms, this
    subsystem's clock): stamped :data:`FINISHED_AT` ``at`` if the changes take it from the
    queue to the history."""
    finishes = ticket["status"] in OPEN_STATUSES and changes.get("status") in FINAL_STATUSES
    stamp = {FINISHED_AT: at} if finishes else {}
    return {**ticket, **changes, **stamp, REVISION: ticket_revision(ticket) + 1}


class Body(RequestBody):
    """A request body with strict types: ``"5"`` is no number and ``1`` no boolean."""

    model_config = ConfigDict(strict=True)


class TicketLine(ResponseView):
    """What to cook: one line of the order."""

    menu_item_id: str
    """The dish's id on the restaurant's menu."""
    name: str
    """The dish's name when the order was placed."""
    quantity: int
    """How many of the dish to prepare."""


class Ticket(ResponseView):
    """An order in the kitchen's queue; times are epoch milliseconds."""

    id: str
    """The order's id (the path's ``order_id``)."""
    restaurant_id: str
    """The restaurant that prepares the order."""
    items: list[TicketLine]
    """What to cook, line by line."""
    total: int
    """What the customer pays for the order, in ``currency``'s minor unit."""
    currency: str
    """The ISO 4217 code of ``total`` (e.g. ``EUR``)."""
    status: TicketStatus
    """``new`` (awaiting the kitchen's answer), ``accepted`` (being prepared), ``ready``
    (packed, waiting for the driver), ``rejected`` (refused by the kitchen), ``cancelled``
    (withdrawn by the Order subsystem), ``picked-up`` (collected by the driver) or
    ``lapsed`` (accepted or ready, and closed by the kitchen a day after it joined the queue,
    never having heard whether the driver collected it or Order cancelled it: see
    ``lapsedAt``)."""
    received_at: int
    """When the order reached the restaurant, in epoch milliseconds (UTC): when the Order
    subsystem recorded it and sent it here (the time of its ``placed`` announcement), from
    which its ``answerBy`` runs. Not when the customer placed it (``changedAt`` of
    ``placed``: before payment and Order's intake), and not when the kitchen heard it
    (``queuedAt``)."""
    queued_at: int | None = None
    """When the ticket joined the kitchen's queue, in epoch milliseconds (UTC), by this
    subsystem's clock: the queue is oldest first by it. Usually ``receivedAt``, or moments
    after; later for an order heard late (a lag, a retry), which joins the end of the queue
    rather than a place a client paging the queue has passed. ``null`` for a ticket that
    left the queue before tickets were stamped so."""
    finished_at: int | None = None
    """When the ticket left the queue for the history (turned ``rejected``, ``cancelled``,
    ``picked-up`` or ``lapsed``), in epoch milliseconds (UTC), by this subsystem's clock: the
    history is newest first by it. Set once: a later change of a finished ticket (Order's
    word on one the kitchen closed itself, say) keeps it. For a ticket that finished before
    tickets were stamped so, the latest time known of it (``lapsedAt``, ``readyAt``,
    ``queuedAt`` or ``receivedAt``); ``null`` while the ticket is in the queue."""
    answer_by: int | None = None
    """Until when the kitchen may accept or reject the order, in epoch milliseconds (UTC):
    afterwards both are refused (409) and the Order subsystem cancels the order as the
    restaurant's timeout; ``null`` for an order Order placed before it said (staff may answer
    such a one until the kitchen closes it, a day after it joined the queue: see
    ``lapsedAt``)."""
    expired: bool = False
    """Whether the order is ``new`` and its ``answerBy`` has passed, as of this answer: it can
    no longer be accepted or rejected (409), and stays in the queue only until the Order
    subsystem's cancellation (``restaurant-timeout``) arrives, a few minutes later, and moves
    it to the history (should that cancellation never be heard, the kitchen moves it there
    itself a day after ``answerBy``: see ``lapsedAt``); ``false`` for every other ticket. It
    turns ``true`` with the clock, not with a change of the ticket: the ``ETag`` says so too
    (``"1"``, then ``"1-expired"``)."""
    prep_minutes: int | None = None
    """How many minutes the kitchen said it needs, from when it accepted the order; ``null``
    unless it accepted it."""
    reason: str | None = None
    """Why the kitchen rejected the order, in its own words (an order that lists no dish is
    refused on arrival: ``the order lists no dish to prepare``); ``null`` unless it rejected it
    (kept on an order that is ``picked-up`` all the same: its driver collected it before the
    rejection reached the Order subsystem, which left the rejection aside)."""
    ready_at: int | None = None
    """When the kitchen marked the order ready, in epoch milliseconds (UTC); ``null`` until
    then."""
    revision: int = 0
    """Which version of the ticket this is: 1 when it was queued, one more at each change
    (an answer, Order's cancellation, the driver's collection, the kitchen closing it
    unanswered); 0 for one queued before changes were counted and unchanged since. The
    answer's ``ETag`` is it, quoted (``"2"``), followed by ``-expired`` while ``expired`` is
    ``true`` (``"1-expired"``): sent back as ``If-Match``, an answer is given only if the
    ticket is still as read (its time to answer included), and refused with 412 otherwise."""
    cancelled_for: str | None = None
    """Why the Order subsystem withdrew the order, once ``cancelled``: ``customer`` (the
    customer cancelled it), ``restaurant-timeout`` (nobody answered in time), ``no-driver``
    (no driver took it), ``driver-no-show`` (its driver never came), or a reason Order adds
    later; ``null`` otherwise, for an order withdrawn before the reason was passed on, and
    for one the kitchen closed itself (``lapsedAt``) until Order's word arrives."""
    lapsed_at: int | None = None
    """When the kitchen closed the order itself, in epoch milliseconds (UTC), having heard
    nothing of its end (lost to a fault): a ``new`` one a day after its ``answerBy``, or,
    without one, a day after it joined the queue (Order's cancellation is certain once the
    time to answer passed unanswered: the ticket is then ``cancelled``), or an ``accepted``
    or ``ready`` one a day after it joined the queue (``queuedAt``: far past every deadline
    Order gives the order's delivery; whether its driver collected it or Order cancelled it
    is not known, so the ticket is then ``lapsed``). Either is then in the history, and
    Order's word, should it come after all, says how it ended (``cancelledFor``, or
    ``picked-up``); ``null`` for every other ticket."""


class TicketList(ResponseView):
    """A page of the queue: open tickets, oldest received first; ``next`` asks for the
    following page (``?after=<next>``, with the same ``status``), ``null`` on the last one."""

    orders: list[Ticket]
    """This page's open tickets (``new``, ``accepted`` and ``ready``, or only the
    ``?status=`` asked for), oldest ``queuedAt`` first (then by id); at most ``limit``. A
    ``new`` ticket whose time to answer ran out is still listed, ``expired``, until Order's
    cancellation arrives, or for a day after its ``answerBy`` at most (one without
    ``answerBy`` for a day after it joined the queue); an ``accepted`` or ``ready`` one for a
    day after it joined the queue at most."""
    next: str | None = None
    """The ``after`` of the following page (an opaque token); ``null`` on the last page. A
    client that shows the whole queue follows it until it is ``null``, and polls by reading
    the queue again from its first page. The queue is in the order the kitchen heard the
    tickets (``queuedAt``), not Order's (``receivedAt``), so a ticket heard while a client
    pages joins after the page it is on and is listed on a later page, whatever Order's
    stamp on it (but for one whose write is under way as the page is read, in the
    milliseconds a write takes: the client's next reading of the queue lists it)."""


class TicketPage(ResponseView):
    """A page of the history: finished tickets, the latest to finish first; ``next`` asks for
    the following page (``?after=<next>``), ``null`` on the last one."""

    orders: list[Ticket]
    """This page's finished tickets (``rejected``, ``cancelled``, ``picked-up`` and
    ``lapsed``), newest ``finishedAt`` first (then by id, descending); at most ``limit``."""
    next: str | None = None
    """The ``after`` of the following page (an opaque token); ``null`` on the last page. The
    history is in the order the tickets finished, by the kitchen's clock (``finishedAt``), not
    in Order's (``receivedAt``), so a ticket that finishes while a client pages joins the
    history's first page, which the client reads again to see it, never a place behind the
    page the client is on. (``next`` was a time to send back as ``before``, which the history
    still takes: a ``finishedAt``.)"""


class AcceptOrder(Body):
    """How long the kitchen needs."""

    prep_minutes: int = Field(ge=1, le=240)
    """How many minutes, from now, the kitchen needs to prepare the order: 1 to 240."""


class RejectOrder(Body):
    """Why the kitchen refuses the order; the Order subsystem passes it on."""

    reason: str = Field(min_length=1, max_length=500)
    """Why, in the kitchen's own words (up to 500 characters; it may break lines, but holds
    no other control characters); passed on to the Order subsystem, the customer sees it as
    their cancelled order's ``detail``."""

    @field_validator("reason", mode="before")
    @classmethod
    def _not_blank(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise PydanticCustomError(
                "blank_reason", "say why the kitchen refuses the order: the reason is blank"
            )
        return value

    @field_validator("reason")
    @classmethod
    def _fit_to_show(cls, reason: str) -> str:
        """The customer reads the reason: no control characters, and something to read."""
        problem = text_problem(reason, multiline=True)
        if problem is not None:
            raise PydanticCustomError("unfit_reason", "{problem}", {"problem": problem})
        return reason


class QueueQuery(CursorQuery):
    """The queue's query string: ``?status=new`` keeps only that status; ``?limit=`` tickets
    per page (100 unless given, up to 100), ``?after=`` the ``next`` of the page before;
    nothing else.

    A finished status is refused, pointing to the history, rather than answered with an
    empty queue.
    """

    status: OpenStatus | None = None
    """Only tickets in this status: ``new``, ``accepted`` or ``ready`` (a finished one is
    refused, pointing to the history). Left out: all three."""
    limit: QueryInt = Field(default=QUEUE_LIMIT, ge=1, le=MAX_PAGE_LIMIT)
    """How many tickets to list per page at most, 100 unless given (up to 100): a kitchen's
    queue is seldom longer, so one page usually holds it whole."""

    @field_validator("status", mode="before")
    @classmethod
    def _not_finished(cls, value: object) -> object:
        if isinstance(value, str) and value in FINAL_STATUSES:
            raise PydanticCustomError(
                "finished_status",
                "{status} tickets have left the queue; "
                "GET /restaurants/{restaurant_id}/orders/history lists them",
                {"status": value},
            )
        return value


class HistoryQuery(PageQuery):
    """``?limit=`` tickets per page, ``?after=`` the ``next`` of the page before (or
    ``?before=`` a time: the page starts with the tickets that finished, ``finishedAt``,
    strictly earlier)."""
