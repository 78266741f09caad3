"""Listener: records every event about an order in the order's micro event store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from order.lifecycle_control.event_store import record
from shared.hub.routing import Rule

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

COLLECTED = frozenset(
    {
        "order-placed",
        "cancel-requested",
        "restaurant-accepted",
        "restaurant-rejected",
        "restaurant-ready",
        "driver-assigned",
        "order-picked-up",
        "order-delivered",
    }
)
ROUTE = Rule(
    types=COLLECTED - {"restaurant-accepted", "restaurant-rejected", "restaurant-ready"},
    type_prefixes=("restaurant-",),
)
"""Listing every type makes a filter longer than Pub/Sub's 256 bytes; this one also lets
``restaurant-updated`` through, which :func:`collect` leaves out."""


def collect(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Record ``event``; a redelivered one is already there and changes nothing."""
    if event.type not in COLLECTED:
        return
    if not record(ctx.ports.store, event):
        ctx.log.debug("event %s was recorded before", event.id)
