"""The kitchen's tickets (stored documents and API views) and the bodies of its commands."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

TICKETS = "tickets"
"""One ticket per queued order, keyed by order id."""

TicketStatus = Literal["new", "accepted", "rejected", "ready", "cancelled", "picked-up"]
STATUSES: tuple[str, ...] = get_args(TicketStatus)
FINAL_STATUSES = frozenset({"rejected", "cancelled", "picked-up"})
"""A ticket in one of these never changes again."""


class ApiModel(BaseModel):
    """camelCase on the wire, strict types, no unknown fields, surrounding blanks trimmed."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        str_strip_whitespace=True,
    )


class TicketLine(ApiModel):
    """What to cook: one line of the order."""

    menu_item_id: str
    name: str
    quantity: int


class Ticket(ApiModel):
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


class TicketList(ApiModel):
    """A page of the queue, oldest first."""

    orders: list[Ticket]


class AcceptOrder(ApiModel):
    """How long the kitchen needs."""

    prep_minutes: int = Field(ge=1, le=240)


class RejectOrder(ApiModel):
    """Why the kitchen refuses the order; the Order subsystem passes it on."""

    reason: str = Field(min_length=1, max_length=500)


class QueueQuery(BaseModel):
    """The queue's query string: ``?status=new`` keeps only that status; nothing else."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    status: TicketStatus | None = None
