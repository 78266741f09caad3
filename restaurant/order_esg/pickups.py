"""Tell the kitchen once that the driver has the order, whichever of Order's two words comes
first.

Order announces ``picked-up`` and then ``delivered`` for every delivered order, but the
two may arrive in either order, and an older Order may announce ``delivered`` alone (one
write moved the order by both): either closes the ticket, so the first heard becomes
``order-collected`` and the other is dropped. :data:`HEARD` remembers which came first
until its TTL, also once the other came: a word heard again meanwhile (redelivered, a
fault resubmitted) finds it and tells the kitchen nothing new. One heard after the TTL is
taken afresh; the event it becomes is the fact :func:`collected_fact` names, so its id is
the one the kitchen already had, and drops as a repeat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.retention import EXPIRES, expire_at

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore

HEARD = "order-esg-collected"
"""``{id, heard, expireAt}`` per order of which ``picked-up`` or ``delivered`` was heard,
keyed by order id; ``heard`` is the status heard first."""


def first_to_collect(store: AbstractDocumentStore, order_id: str, status: str, now_ms: int) -> bool:
    """Whether ``status`` (``picked-up`` or ``delivered``, heard at ``now_ms``) should tell
    the kitchen: it is the first of the two heard, or heard again.

    Hearing the first again (a redelivery, or a retry after the event was not published)
    tells the kitchen again, which drops the repeat; the other one, heard after it, does
    not, however often.
    """
    record = {"id": order_id, "heard": status, EXPIRES: expire_at(now_ms)}
    if store.create(HEARD, order_id, record):
        return True
    first = store.get(HEARD, order_id)
    return first is None or first["heard"] == status


def collected_fact(order_id: str) -> str:
    """The fact ``order-collected`` states, whichever word told it: the event's id derives
    from it (``ctx.emit(..., fact=...)``), so every telling of one order is the same event."""
    return f"{order_id}/collected"
