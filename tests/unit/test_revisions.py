"""Saves that count: a save that changes anything, a value's type included, is a revision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.stores.base import DocumentChange
from shared.stores.memory import InMemoryDocumentStore
from shared.stores.revisions import REVISION, counted


def save(current: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any] | None:
    return counted(lambda _: new)(current)


def test_the_first_save_is_revision_one_and_an_unchanged_save_keeps_the_document():
    first = save(None, {"name": "Bao"})
    assert first == {"name": "Bao", REVISION: 1}
    assert save(first, {"name": "Bao"}) is first


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (1, 1.0),  # an integer becomes a double
        (True, 1),
        (0, False),
        ({"price": 5}, {"price": 5.0}),
        ([1, 2], [1.0, 2]),
        ("a", "b"),
        ({"a": 1}, {"a": 1, "b": None}),
    ],
)
def test_a_change_of_value_or_of_type_is_a_new_revision(before: Any, after: Any):
    stored = save(None, {"v": before})
    assert stored is not None
    changed = save(stored, {"v": after})
    assert changed == {"v": after, REVISION: 2}
    assert type(changed["v"]) is type(after)


def test_writing_nothing_writes_nothing():
    assert counted(lambda _: None)({"v": 1, REVISION: 3}) is None


@pytest.mark.parametrize(
    "value",
    [
        (1, 2),  # stored as an array
        {"pair": ("a", "b")},
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # read back as DatetimeWithNanoseconds
        datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1))),  # read back in UTC
        datetime(2026, 1, 2, 3, 4, 5),  # naive: taken as UTC
    ],
    ids=["tuple", "tuple-in-map", "utc-datetime", "other-zone", "naive"],
)
def test_a_value_the_store_holds_in_another_form_is_no_change(value: Any):
    store = InMemoryDocumentStore()
    changes: list[DocumentChange] = []
    store.watch("c", changes.append)
    first = store.update("c", "k", counted(lambda _: {"v": value}))
    again = store.update("c", "k", counted(lambda _: {"v": value}))
    assert first is not None and again == first and again[REVISION] == 1
    assert [c.kind for c in changes] == ["created"]
