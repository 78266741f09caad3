"""apply_event orders an entity's events by (time, revision): the later save is kept.

Two saves in one millisecond carry the same time; the producer's count of saves (the
revision) tells which came last. An event without one (published before its producer
counted) is older than one of the same time that has one. Two of the same time that both
lack it cannot be told apart, and the one handled last is kept, as ever; that, redelivery
and the remembered ids are the store contract's (tests/contracts/store_contract.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.envelope import Envelope, new_event
from shared.stores import InMemoryDocumentStore, apply_event
from shared.stores.idempotent import META

COLL = "copies"
T = 1_767_225_600_000


def save(v: int, timestamp: int = T, revision: int | None = None) -> Envelope:
    """An event carrying an entity's state ``v`` (and its ``revision``, when counted)."""
    body: dict[str, Any] = {"v": v} if revision is None else {"v": v, "revision": revision}
    return new_event("thing-updated", "thing", body, partition_key="t-1", timestamp=timestamp)


def handle(store: InMemoryDocumentStore, *events: Envelope) -> list[bool]:
    """Apply each event in turn, as a view keeping the latest state does; what was written."""
    return [copy(store, e) for e in events]


def copy(store: InMemoryDocumentStore, event: Envelope) -> bool:
    state = dict(event.body)
    return apply_event(store, COLL, "t-1", event, lambda _: state, revision=state.get("revision"))


def kept(store: InMemoryDocumentStore) -> Any:
    """The state the copy holds."""
    return held(store)["v"]


def held(store: InMemoryDocumentStore) -> dict[str, Any]:
    doc = store.get(COLL, "t-1")
    assert doc is not None
    return doc


@pytest.fixture
def store() -> InMemoryDocumentStore:
    return InMemoryDocumentStore()


def test_of_two_saves_in_one_millisecond_the_higher_revision_is_kept_in_either_order(
    store: InMemoryDocumentStore,
) -> None:
    earlier, later = save(1, revision=1), save(2, revision=2)

    assert handle(store, later, earlier) == [True, False]

    assert kept(store) == 2
    assert held(store)[META] == {"timestamp": T, "revision": 2, "ids": [later.id]}
    other = InMemoryDocumentStore()
    assert handle(other, earlier, later) == [True, True]
    assert kept(other) == 2


def test_time_comes_before_revision(store: InMemoryDocumentStore) -> None:
    # Time decides first: the revision only tells apart saves of the same millisecond.
    older, newer = save(1, T, revision=9), save(2, T + 1, revision=1)

    assert handle(store, newer, older) == [True, False]
    assert kept(store) == 2


def test_an_event_without_revision_is_older_than_one_of_the_same_time_with_one(
    store: InMemoryDocumentStore,
) -> None:
    uncounted, counted = save(1), save(2, revision=1)

    assert handle(store, counted, uncounted) == [True, False]
    assert kept(store) == 2
    other = InMemoryDocumentStore()
    assert handle(other, uncounted, counted) == [True, True]
    assert kept(other) == 2


def test_an_event_without_revision_still_wins_by_its_time(store: InMemoryDocumentStore) -> None:
    counted, uncounted_later = save(1, T, revision=5), save(2, T + 1)

    assert handle(store, counted, uncounted_later) == [True, True]
    assert kept(store) == 2
    assert "revision" not in held(store)[META]  # the state held has none
    assert handle(store, save(3, T + 1, revision=1)) == [True]  # so one counted then is later
