"""Idempotent, order-tolerant writes for event handlers.

At-least-once delivery means a handler sees some events twice and some out of
order. These helpers make that harmless:

* :func:`apply_event` keeps the latest state of an entity (event-carried state
  transfer): it records the ids of recent events in the same write, skips an
  event it has already applied, and ignores one older than the state it has.
  Events are ordered by their time and then, for two of one millisecond, by the
  producer's count of the entity's saves (the revision), when it gives one.
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
REVISION = "revision"
"""The field of :data:`META` holding the revision of the event applied, when it had one."""


def apply_event(
    store: AbstractDocumentStore,
    collection: str,
    key: str,
    event: Envelope,
    mutate: Callable[[Doc | None], Doc],
    *,
    revision: int | None = None,
) -> bool:
    """Apply ``event`` to one document with ``mutate`` unless it is a duplicate or stale.

    Returns ``True`` when the document was written. The event's id, timestamp and
    ``revision`` are stored in the document in the same write. For one entity's
    latest state only: an event older than the last one applied is dropped (see
    :func:`later`), and only the last :data:`REMEMBERED_IDS` ids are kept, so a
    document that adds up many entities' events (a count, a total) must not be
    built with it.

    ``revision`` is the producer's count of the entity's saves that the event
    carries (``None`` when it carries none): of two events of the same time, the
    one with the higher revision is the later save.
    """

    def updater(current: Doc | None) -> Doc | None:
        applied = (current or {}).get(META, {})
        seen: list[str] = applied.get("ids", [])
        if event.id in seen:
            return None
        held = (applied.get("timestamp", 0), applied.get(REVISION))
        if current is not None and not later((event.timestamp, revision), held):
            return None
        note: Doc = {"timestamp": event.timestamp, "ids": [*seen, event.id][-REMEMBERED_IDS:]}
        if revision is not None:
            note[REVISION] = revision
        return {**mutate(current), META: note}

    return store.update(collection, key, updater) is not None


def later(save: tuple[int, int | None], than: tuple[int, int | None]) -> bool:
    """Whether the ``(time, revision)`` of ``save`` comes after ``than``, or cannot be told
    apart from it.

    The later time wins; at the same time the higher revision does. A save without a
    revision (its producer did not count then) is older than one of the same time that
    has one; two of the same time without one cannot be told apart, and the one handled
    last is kept.
    """
    (time, revision), (other_time, other_revision) = save, than
    if time != other_time:
        return time > other_time
    if revision is None or other_revision is None:
        return other_revision is None
    return revision > other_revision


def record_event(
    store: AbstractDocumentStore, collection: str, event: Envelope, **index: str
) -> bool:
    """Append ``event`` to a micro event store; ``index`` adds fields to query by.

    Returns ``False`` when the event was already recorded.
    """
    doc = {**event.to_json(), **index}
    return store.create(collection, event.id, doc)
