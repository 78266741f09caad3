"""The kit's migrations: every subsystem runs them, before its own, without declaring them.

Answers to ``Idempotency-Key`` requests (:mod:`shared.idempotency_keys`) stored before
they carried :data:`~shared.idempotency_keys.EXPIRES` have nothing for Firestore's TTL
policy to go by: they would be kept, and replayed to a key used again, for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.idempotency_keys import COLLECTION, expire_at
from shared.migrations import expire_unstamped, expiry_backfill

if TYPE_CHECKING:
    from shared.stores.base import AbstractDocumentStore


def expire_unstamped_keys(store: AbstractDocumentStore, now_ms: int) -> int:
    """Give every stored answer (or reservation) that does not expire yet the expiry of a
    key used at ``now_ms``: it is replayed for :data:`~shared.idempotency_keys.KEEP_ANSWER_S`
    more, then runs again. Returns how many it gave one."""
    return expire_unstamped(store, COLLECTION, expire_at(now_ms))


KIT_MIGRATIONS = (
    expiry_backfill(
        "idempotency-keys-expire",
        "answers to Idempotency-Key requests stored before they expired (kept and replayed "
        "for good) expire a day from now, as those stored now do",
        expire_unstamped_keys,
    ),
)
"""The kit's migrations, in the order they run (before the subsystem's)."""
