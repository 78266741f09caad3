"""Keep the latest of a restaurant's profile (or menu) events: the later save wins.

Restaurant stamps each event with the time of the save and, since it counts its
saves, the save's ``revision`` (on ``restaurant-updated`` and ``menu-updated``
alike). Two saves in one millisecond share the time; the higher revision is then
the later one. An event published before Restaurant counted carries no revision:
it is ordered by its time alone, and is older than an event of the same time
that has one. Two such events of the same time cannot be told apart: the one
handled last is kept, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.stores.idempotent import META, REMEMBERED_IDS

if TYPE_CHECKING:
    from shared.envelope import Envelope
    from shared.stores import AbstractDocumentStore, Doc

REVISION = "revision"
"""The body field (and the field of a copy's ``_applied``) that holds the save's revision."""


def keep_latest(
    store: AbstractDocumentStore, collection: str, key: str, event: Envelope, state: Doc
) -> bool:
    """Make ``state`` (``event``'s entity) the document, unless the document holds
    ``event`` already or a later save; whether it was written.

    The document's ``_applied`` field notes the time and revision of the save it
    holds and the ids of recent events, as :func:`shared.stores.apply_event` does.
    """
    revision = event.body.get(REVISION)

    def updater(current: Doc | None) -> Doc | None:
        applied = (current or {}).get(META, {})
        seen: list[str] = applied.get("ids", [])
        if event.id in seen:
            return None
        if current is not None and not later(
            (event.timestamp, revision), (applied.get("timestamp", 0), applied.get(REVISION))
        ):
            return None
        ids = [*seen, event.id][-REMEMBERED_IDS:]
        return {**state, META: {"timestamp": event.timestamp, REVISION: revision, "ids": ids}}

    return store.update(collection, key, updater) is not None


def later(save: tuple[int, int | None], than: tuple[int, int | None]) -> bool:
    """Whether the save of ``(time, revision)`` ``save`` comes after ``than``, or cannot be
    told apart from it (same time, neither revision known)."""
    (time, revision), (other_time, other_revision) = save, than
    if time != other_time:
        return time > other_time
    if revision is None or other_revision is None:
        return other_revision is None
    return revision > other_revision
