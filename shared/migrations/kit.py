"""The kit's migrations: every subsystem runs them, before its own, without declaring them.

Answers to ``Idempotency-Key`` requests (:mod:`shared.idempotency_keys`) stored before
they carried :data:`~shared.idempotency_keys.EXPIRES` have nothing for Firestore's TTL
policy to go by: they would be kept, and replayed to a key used again, for good.

Fault records (:mod:`shared.runtime.faults`) stored before they carried
:data:`~shared.runtime.faults.ARISEN_AT` would be left out of ``faults list``, which
orders by it (Firestore leaves out every document without the field).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.clock import SystemClock
from shared.idempotency_keys import COLLECTION, expire_at
from shared.migrations import Migration, expire_unstamped, expiry_backfill, rewrite_each
from shared.runtime.faults import ARISEN_AT, FAULTS_COLLECTION, arisen_at

if TYPE_CHECKING:
    from shared.stores.base import AbstractDocumentStore, Doc


def expire_unstamped_keys(store: AbstractDocumentStore, now_ms: int) -> int:
    """Give every stored answer (or reservation) that does not expire yet the expiry of a
    key used at ``now_ms``: it is replayed for :data:`~shared.idempotency_keys.KEEP_ANSWER_S`
    more, then runs again. Returns how many it gave one."""
    return expire_unstamped(store, COLLECTION, expire_at(now_ms))


def stamp_fault_times(store: AbstractDocumentStore, now_ms: int) -> int:
    """Give every fault record without :data:`~shared.runtime.faults.ARISEN_AT` the time it
    arose there (:func:`~shared.runtime.faults.arisen_at`; ``now_ms`` for one whose record
    tells none); returns how many. Its status and the rest are left as they are."""

    def stamped(doc: Doc) -> Doc | None:
        if isinstance(doc.get(ARISEN_AT), int):
            return None
        return {**doc, ARISEN_AT: arisen_at(doc, now_ms)}

    return rewrite_each(store, FAULTS_COLLECTION, stamped)


KIT_MIGRATIONS = (
    expiry_backfill(
        "idempotency-keys-expire",
        "answers to Idempotency-Key requests stored before they expired (kept and replayed "
        "for good) expire a day from now, as those stored now do",
        expire_unstamped_keys,
    ),
    # No backfill while the version before, which stores faults without the field, may
    # still record one during a rollout.
    Migration(
        "faults-arisen-at",
        "faults recorded before they carried when they arose (arisenAt) get it, so `faults "
        "list`, which orders and pages by it, lists them",
        lambda store: stamp_fault_times(store, SystemClock().now_ms()),
    ),
)
"""The kit's migrations, in the order they run (before the subsystem's)."""
