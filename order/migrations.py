"""Bring the records Order stored before they expired up to :mod:`order.retention`.

Order's micro event store (``order-events``) and the point of sale's callbacks
(``pos-inbox``) stored before they carried :data:`~order.retention.EXPIRES` have nothing
for Firestore's TTL policy to go by, so they would be kept for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from order.lifecycle_control.event_store import EVENTS
from order.pos_esg.webhook import INBOX
from order.retention import expire_at
from shared.migrations import expire_unstamped, expiry_backfill

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore


def expire_unstamped_records(store: AbstractDocumentStore, now_ms: int) -> int:
    """Give every event and callback that does not expire yet the expiry of one written at
    ``now_ms``: none is deleted while an order it tells of still runs, whenever it was
    written. Returns how many it gave one."""
    expires = expire_at(now_ms)
    return sum(expire_unstamped(store, collection, expires) for collection in (EVENTS, INBOX))


MIGRATIONS = (
    expiry_backfill(
        "order-records-expire",
        "events and point-of-sale callbacks stored before they expired (kept for good) "
        "expire a month from now, as those written now do",
        expire_unstamped_records,
    ),
)
"""Order's migrations, in the order they run."""
