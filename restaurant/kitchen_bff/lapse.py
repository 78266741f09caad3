"""Close, by the kitchen's own clock, the open tickets whose end was never heard.

The kitchen hears how an order ends only from Order: its cancellation, or its driver's
pickup (``picked-up`` or ``delivered``). Such a word is lost only when a fault on the way is
never resubmitted, but then the ticket would wait in the queue for good. So the schedule
closes, hourly:

- a ticket still ``new`` :data:`LAPSE_AFTER` past its ``answerBy``. Once ``answerBy``
  passes unanswered, Order cancels the order (``restaurant-timeout``) whatever the
  restaurant says, and the kitchen refuses to answer it (409): its ticket only waits,
  ``expired``, for that cancellation. It moves to the history ``cancelled`` with
  ``lapsedAt`` and no ``cancelledFor`` (the kitchen does not know whether the customer or
  the timeout cancelled it); Order's cancellation, should it arrive after all, fills in
  ``cancelledFor``. A ticket without ``answerBy`` (from an Order that did not say it) is
  closed so :data:`LAPSE_AFTER` after it joined the queue (``queuedAt``): its deadline was
  Order's alone to know, but Order gives a restaurant minutes to answer, never a day, so no
  one is waiting for an answer to it by then (staff may answer it until then).
- a ticket still ``accepted`` or ``ready`` :data:`OPEN_LAPSE_AFTER` after it joined the
  queue (``queuedAt``). Order's deadlines end every order long before (delivered, or
  cancelled for want of a driver or a delivery), but which way is not known here: the
  ticket moves to the history ``lapsed``, with ``lapsedAt``, and Order's word, should it
  arrive after all, turns it ``picked-up`` or ``cancelled`` (with ``cancelledFor``).

Either publishes nothing: there is no answer to announce.

Each tick reads only the tickets due: three queries on a status and a time, served by the
``(status, answerBy)``, ``(status, answerBy, queuedAt)`` and ``(status, queuedAt)`` indexes,
whatever the size of the history.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from restaurant.kitchen_bff.models import LAPSED, LAPSED_AT, QUEUED_AT, TICKETS, revised
from shared.stores import Where
from shared.stores.query import matches

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from restaurant.ports import RestaurantPorts
    from shared.runtime.context import Context
    from shared.stores import Doc

LAPSE_AFTER = timedelta(days=1)
"""How long past its ``answerBy`` (or, without one, after it joined the queue) a ticket still
``new`` is closed: far beyond Order's cancellation (minutes) and any clock skew between the
subsystems, and short enough that a day's queue is not cluttered with orders no one can
answer."""
OPEN_LAPSE_AFTER = timedelta(days=1)
"""How long after it joined the queue a ticket still ``accepted`` or ``ready`` is closed:
far beyond Order's deadlines for the order, which add up to about eight hours (the
restaurant's answer, the longest preparation, a driver, the pickup and the delivery), and
short enough that yesterday's orders do not clutter today's queue."""
PREPARING = ("accepted", "ready")
"""The open statuses of a ticket the kitchen answered: only Order's word closes them."""
LAPSE_EVERY_S = 3600
"""How often the schedule looks for such tickets (seconds)."""


def close_lapsed(now_ms: int, ctx: Context[RestaurantPorts]) -> None:
    """Close every ``new`` ticket whose ``answerBy`` passed more than :data:`LAPSE_AFTER`
    before ``now_ms`` (or, without ``answerBy``, that joined the queue more than that before
    it), and every ``accepted`` or ``ready`` one that joined the queue more than
    :data:`OPEN_LAPSE_AFTER` before it; one answered, withdrawn or collected meanwhile is left
    as it is."""
    unanswered = now_ms - LAPSE_AFTER // timedelta(milliseconds=1)
    unended = now_ms - OPEN_LAPSE_AFTER // timedelta(milliseconds=1)
    cancelled = {"status": "cancelled", "cancelledFor": None, LAPSED_AT: now_ms}
    new = Where("status", "==", "new")
    closed_new = _close(ctx, [new, Where("answerBy", "<", unanswered)], cancelled, now_ms)
    for key in closed_new:
        ctx.log.warning(
            "order %s: still new %s after its time to answer ran out, and the Order "
            "subsystem's cancellation never heard: closed as cancelled",
            key,
            LAPSE_AFTER,
        )
    no_deadline = [new, Where("answerBy", "==", None), Where(QUEUED_AT, "<", unanswered)]
    for key in _close(ctx, no_deadline, cancelled, now_ms):
        ctx.log.warning(
            "order %s: still new %s after it was queued, with no time to answer said, and "
            "the Order subsystem's cancellation never heard: closed as cancelled",
            key,
            LAPSE_AFTER,
        )
    closed_open = _close(
        ctx,
        [Where("status", "in", list(PREPARING)), Where(QUEUED_AT, "<", unended)],
        {"status": LAPSED, LAPSED_AT: now_ms},
        now_ms,
    )
    for key in closed_open:
        ctx.log.warning(
            "order %s: still open %s after it joined the queue, neither its pickup nor its "
            "cancellation heard from the Order subsystem: closed as lapsed",
            key,
            OPEN_LAPSE_AFTER,
        )


def _close(
    ctx: Context[RestaurantPorts], due: Sequence[Where], changes: Doc, now_ms: int
) -> list[str]:
    """Apply ``changes`` at ``now_ms`` to each ticket matching ``due``, checked again as it is
    when it is written; returns the keys of those closed."""
    store = ctx.ports.store
    closed: list[str] = []
    for doc in store.query(TICKETS, due):
        if store.update(TICKETS, doc.key, _closer(due, changes, now_ms)) is not None:
            closed.append(doc.key)
    return closed


def _closer(due: Sequence[Where], changes: Doc, now_ms: int) -> Callable[[Doc | None], Doc | None]:
    def close(ticket: Doc | None) -> Doc | None:
        if ticket is None or not all(matches(ticket, where) for where in due):
            return None  # answered, withdrawn or closed since the query read it
        return revised(ticket, changes, now_ms)

    return close
