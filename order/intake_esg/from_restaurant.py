"""Ingress of the Restaurant subsystem's answers and profiles.

``restaurant.order-accepted|-rejected|-ready`` become ``restaurant-accepted|-rejected|-ready``
(keyed by the order id); ``restaurant.restaurant-updated`` becomes ``restaurant-updated``
(keyed by the restaurant id), with the ``revision`` of the save it tells of (``null`` when
Restaurant did not say), which orders two saves of one millisecond.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from order import events
from shared.contracts import ReadEpochMs, Reader, knows, read

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

ORDER_ACCEPTED = "restaurant.order-accepted"
ORDER_REJECTED = "restaurant.order-rejected"
ORDER_READY = "restaurant.order-ready"
RESTAURANT_UPDATED = "restaurant.restaurant-updated"
ORDERINGS = frozenset({"kitchen", "pos"})
"""The ways of taking orders Order knows; a restaurant using another is skipped."""


MAX_PREP_MINUTES = 240
"""The longest preparation ``restaurant.order-accepted`` allows: a longer one breaks the
contract and is a fault, not an order waiting for its food (and a driver) for days."""
MAX_REASON_LENGTH = 500
"""The longest reason ``restaurant.order-rejected`` allows: Order passes it on to the
customer (``detail``), so a longer one breaks the contract and is a fault."""


class Accepted(Reader):
    """The kitchen took the order."""

    id: str = Field(min_length=1)
    restaurant_id: str
    prep_minutes: int = Field(ge=0, le=MAX_PREP_MINUTES)


class Rejected(Reader):
    """The kitchen refused the order, in its own words."""

    id: str = Field(min_length=1)
    restaurant_id: str
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class Ready(Reader):
    """The order waits for its driver (since ``readyAt``, read as
    :data:`~shared.contracts.ReadEpochMs` reads times)."""

    id: str = Field(min_length=1)
    restaurant_id: str
    ready_at: ReadEpochMs


class Restaurant(Reader):
    """How a restaurant takes its orders, as of which save of its profile."""

    id: str = Field(min_length=1)
    name: str
    ordering: str
    revision: int | None = None


_ANSWERS: dict[str, tuple[type[Accepted | Rejected | Ready], str]] = {
    ORDER_ACCEPTED: (Accepted, events.RESTAURANT_ACCEPTED),
    ORDER_REJECTED: (Rejected, events.RESTAURANT_REJECTED),
    ORDER_READY: (Ready, events.RESTAURANT_READY),
}


def receive_restaurant_event(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Emit the internal counterpart of a restaurant's answer or profile."""
    if event.type == RESTAURANT_UPDATED:
        restaurant = read(event, Restaurant)
        if not knows(ctx, event, "ordering", restaurant.ordering, ORDERINGS):
            return
        body = restaurant.model_dump(mode="json", by_alias=True)
        ctx.emit(events.RESTAURANT_UPDATED, "restaurant", body, partition_key=restaurant.id)
        return
    reader, internal_type = _ANSWERS[event.type]
    answer = read(event, reader)
    body = answer.model_dump(mode="json", by_alias=True)
    ctx.emit(internal_type, "order", body, partition_key=answer.id)
