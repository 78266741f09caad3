"""Tell the kitchen once that the driver has the order, whichever of Order's two words comes
first.

Order announces ``picked-up`` and then ``delivered`` for every delivered order, but the
two may arrive in either order, and an older Order may announce ``delivered`` alone (one
write moved the order by both): either closes the ticket, so the first heard becomes
``order-collected`` and the other is dropped. :data:`HEARD` remembers which came first
until the other comes (then it is deleted) or, for an order whose other word never
comes (cancelled after its pickup), until its TTL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.retention import EXPIRES, expire_at

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore

HEARD = "order-esg-collected"
"""``{id, heard, expireAt}`` per order of which ``picked-up`` or ``delivered`` was heard and
the other not yet, keyed by order id; ``heard`` is the status heard first."""


def first_to_collect(store: AbstractDocumentStore, order_id: str, status: str, now_ms: int) -> bool:
    """Whether ``status`` (``picked-up`` or ``delivered``, heard at ``now_ms``) should tell
    the kitchen: it is the first of the two heard, or heard again.

    Hearing the first again (a redelivery, or a retry after the event was not published)
    tells the kitchen again, which drops the repeat; the other one, heard after it, does
    not, and forgets the order.
    """
    record = {"id": order_id, "heard": status, EXPIRES: expire_at(now_ms)}
    if store.create(HEARD, order_id, record):
        return True
    return not store.delete_if(HEARD, order_id, lambda first: first["heard"] != status)
