"""Idempotent, order-tolerant writes for event handlers.

At-least-once delivery means a handler sees some events twice and some out of
order. These helpers make that harmless:

* :func:`apply_event` keeps the latest state of an entity (event-carried state
  transfer): it records the ids of recent events in the same write, skips an
  event it has already applied, and ignores one older than the state it has.
* :func:`record_event` appends an event to a micro event store, keyed by the
  event id, so a duplicate is a no-op by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.envelope import Envelope
    from shared.stores.base import AbstractDocumentStore, Doc

META = "_applied"
"""The field in which a view keeps what it has applied."""
REMEMBERED_IDS = 32


def apply_event(
    store: AbstractDocumentStore,
    collection: str,
    key: str,
    event: Envelope,
    mutate: Callable[[Doc | None], Doc],
) -> bool:
    """Apply ``event`` to one document with ``mutate`` unless it is a duplicate or stale.

    Returns ``True`` when the document was written. The event's id and
    timestamp are stored in the document in the same write. For one entity's
    latest state only: an event older than the last one applied is dropped, and
    only the last :data:`REMEMBERED_IDS` ids are kept, so a document that adds up
    many entities' events (a count, a total) must not be built with it.
    """

    def updater(current: Doc | None) -> Doc | None:
        applied = (current or {}).get(META, {})
        seen: list[str] = applied.get("ids", [])
        if event.id in seen:
            return None
        if current is not None and applied.get("timestamp", 0) > event.timestamp:
            return None
        new = mutate(current)
        new[META] = {"timestamp": event.timestamp, "ids": [*seen, event.id][-REMEMBERED_IDS:]}
        return new

    return store.update(collection, key, updater) is not None


def record_event(
    store: AbstractDocumentStore, collection: str, event: Envelope, **index: str
) -> bool:
    """Append ``event`` to a micro event store; ``index`` adds fields to query by.

    Returns ``False`` when the event was already recorded.
    """
    doc = {**event.to_json(), **index}
    return store.create(collection, event.id, doc)
