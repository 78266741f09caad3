"""Keep each order's tracking view, fed by the order, delivery and payment streams."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.tracking_bff.cancellation import settle
from customer.tracking_bff.models import TRACKING
from customer.tracking_bff.progress import APPLY, blank
from shared.stores.document_rules import id_problem

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import Doc

APPLIED = "_events"
"""The field in which a view keeps the ids of the events applied to it."""
REMEMBERED_EVENTS = 256
"""Ids kept per view; an older duplicate is still harmless, as every step is idempotent."""


def track(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Apply the event to its order's view, once (all of an order's events are keyed by it).

    An ``order-*`` event that says nothing about the order's progress is ignored, and so
    is one about an order whose id no document can have (Order's and Delivery's contracts
    allow any id): checkout keeps every order of the customer's under its id, so that
    order is none of theirs, and no customer could ever see its view. A request to cancel
    the order is decided once the order's progress says how it went.
    """
    apply = APPLY.get(event.type)
    if apply is None:
        return
    problem = id_problem(event.partition_key)
    if problem is not None:
        ctx.log.warning(
            "%s %s: order %r is none of the customer's (%s, so checkout could not have made "
            "it); not tracked",
            event.type,
            event.id,
            event.partition_key[:100],
            problem,
        )
        return

    def update(current: Doc | None) -> Doc | None:
        view = current or {**blank(event.partition_key), APPLIED: []}
        if event.id in view[APPLIED]:
            return None
        return {
            **settle(apply(view, event)),
            "updatedAt": max(view["updatedAt"] or 0, event.timestamp),
            APPLIED: [*view[APPLIED], event.id][-REMEMBERED_EVENTS:],
        }

    ctx.ports.store.update(TRACKING, event.partition_key, update)
