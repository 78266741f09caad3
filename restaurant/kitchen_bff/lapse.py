"""Close, by the kitchen's own clock, the new tickets whose cancellation was never heard.

Once a new order's ``answerBy`` passes unanswered, the Order subsystem cancels it
(``restaurant-timeout``) whatever the restaurant says, and the kitchen refuses to answer
it (409): its ticket only waits, ``expired``, for that cancellation. Order announces it a
few minutes later; it is lost only when a fault on the way is never resubmitted. So a
ticket still ``new`` :data:`LAPSE_AFTER` past its ``answerBy`` waits for nothing anyone can
act on: the schedule moves it to the history, ``cancelled`` with ``lapsedAt`` and no
``cancelledFor`` (the kitchen does not know whether the customer or the timeout cancelled
it), and publishes nothing, since there is no answer to announce. Order's cancellation,
should it arrive after all, fills in ``cancelledFor``.

A ticket without ``answerBy`` (from an Order that did not say it) is left alone: its
deadline is Order's alone to know, and staff may still answer it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from restaurant.kitchen_bff.models import LAPSED_AT, TICKETS, revised
from shared.stores import Where

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.runtime.context import Context
    from shared.stores import Doc

LAPSE_AFTER = timedelta(days=1)
"""How long past its ``answerBy`` a ticket still ``new`` is closed: far beyond Order's
cancellation (minutes) and any clock skew between the subsystems, and short enough that a
day's queue is not cluttered with orders no one can answer."""
LAPSE_EVERY_S = 3600
"""How often the schedule looks for such tickets (seconds)."""


def close_lapsed(now_ms: int, ctx: Context[RestaurantPorts]) -> None:
    """Close every ``new`` ticket whose ``answerBy`` passed more than :data:`LAPSE_AFTER`
    before ``now_ms``; one answered or withdrawn meanwhile is left as it is."""
    store = ctx.ports.store
    cutoff = now_ms - LAPSE_AFTER // timedelta(milliseconds=1)

    def lapse(ticket: Doc | None) -> Doc | None:
        if ticket is None or not _lapsed(ticket, cutoff):
            return None  # answered, withdrawn or closed since the query read it
        return revised(ticket, {"status": "cancelled", "cancelledFor": None, LAPSED_AT: now_ms})

    due = [Where("status", "==", "new"), Where("answerBy", "<", cutoff)]
    for doc in store.query(TICKETS, due):
        if store.update(TICKETS, doc.key, lapse) is not None:
            ctx.log.warning(
                "order %s: still new %s after its time to answer ran out, and the Order "
                "subsystem's cancellation never heard: closed",
                doc.key,
                LAPSE_AFTER,
            )


def _lapsed(ticket: Doc, cutoff: int) -> bool:
    answer_by: int | None = ticket.get("answerBy")
    return ticket["status"] == "new" and answer_by is not None and answer_by < cutoff
