"""The kitchen's tickets (stored documents and API views) and the bodies of its commands."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from shared.api_models import QueryString, RequestBody, ResponseView
from shared.stores.paging import PageQuery

TICKETS = "tickets"
"""One ticket per queued order, keyed by order id."""

TicketStatus = Literal["new", "accepted", "rejected", "ready", "cancelled", "picked-up"]
STATUSES: tuple[str, ...] = get_args(TicketStatus)
OpenStatus = Literal["new", "accepted", "ready"]
OPEN_STATUSES: tuple[str, ...] = get_args(OpenStatus)
"""A ticket in one of these is in the kitchen's queue."""
FINAL_STATUSES = frozenset({"rejected", "cancelled", "picked-up"})
"""A ticket in one of these never changes again: it is in the kitchen's history."""


class Body(RequestBody):
    """A request body with strict types: ``"5"`` is no number and ``1`` no boolean."""

    model_config = ConfigDict(strict=True)


class TicketLine(ResponseView):
    """What to cook: one line of the order."""

    menu_item_id: str
    name: str
    quantity: int


class Ticket(ResponseView):
    """An order in the kitchen's queue; times are epoch milliseconds."""

    id: str
    restaurant_id: str
    items: list[TicketLine]
    total: int
    currency: str
    status: TicketStatus
    received_at: int
    prep_minutes: int | None = None
    reason: str | None = None
    ready_at: int | None = None


class TicketList(ResponseView):
    """The queue: the open tickets, oldest first."""

    orders: list[Ticket]


class TicketPage(ResponseView):
    """A page of the history: finished tickets, newest received first; ``next`` asks for the
    following page (``?before=<next>``), ``None`` on the last one."""

    orders: list[Ticket]
    next: int | None = None


class AcceptOrder(Body):
    """How long the kitchen needs."""

    prep_minutes: int = Field(ge=1, le=240)


class RejectOrder(Body):
    """Why the kitchen refuses the order; the Order subsystem passes it on."""

    reason: str = Field(min_length=1, max_length=500)


class QueueQuery(QueryString):
    """The queue's query string: ``?status=new`` keeps only that status; nothing else.

    A finished status is refused, pointing to the history, rather than answered with an
    empty queue.
    """

    status: OpenStatus | None = None

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
    """``?limit=`` tickets per page, ``?before=`` the ``next`` of the page before."""
