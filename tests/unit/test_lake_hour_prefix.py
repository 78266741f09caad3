"""A lake folder's hour is formatted once per topic and hour, and reads as the definition
says: the UTC hour of the publish time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.lake import base
from shared.lake.base import encode_batches, hour_prefix

HOUR_MS = 3_600_000
LAST_MS = 253_402_300_799_999
"""The last millisecond of the year 9999, the last a ``datetime`` holds."""


def defined(subsystem: str, topic: str, timestamp_ms: int) -> str:
    """The folder as the layout defines it (the formula ``hour_prefix`` stands in for)."""
    t = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return f"{subsystem}/{topic}/{t:%Y/%m/%d/%H}/"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-10 * 365 * 24 * HOUR_MS, max_value=LAST_MS))
def test_the_folder_is_the_utc_hour_of_the_publish_time(timestamp_ms: int) -> None:
    assert hour_prefix("order", "bus", timestamp_ms) == defined("order", "bus", timestamp_ms)


@pytest.mark.parametrize("hour", [-5, 0, 1, 493_673])
def test_an_hours_first_and_last_millisecond_are_in_it(hour: int) -> None:
    for timestamp_ms in (hour * HOUR_MS - 1, hour * HOUR_MS, (hour + 1) * HOUR_MS - 1):
        assert hour_prefix("a", "b", timestamp_ms) == defined("a", "b", timestamp_ms)
    assert hour_prefix("a", "b", LAST_MS) == "a/b/9999/12/31/23/"
    assert hour_prefix("a", "other", 0) == "a/other/1970/01/01/00/"


@pytest.fixture
def formatted(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The times the lake turns into dates from now on."""
    seen: list[float] = []

    class Counting(datetime):
        @classmethod
        def fromtimestamp(cls, t: float, tz: object = None) -> datetime:  # type: ignore[override]
            seen.append(t)
            return datetime.fromtimestamp(t, tz=UTC)

    monkeypatch.setattr(base, "datetime", Counting)
    return seen


def test_a_burst_of_records_in_one_hour_formats_its_folder_once(formatted: list[float]) -> None:
    start = 1_767_225_600_000  # an hour no other test formats for this topic
    records = [(start + n * 1000, b"{}") for n in range(500)]

    [(name, _content)] = encode_batches("hot-path", "burst", records)

    assert name.startswith("hot-path/burst/2026/01/01/00/")
    assert len(formatted) == 1


def test_only_recent_hours_are_kept(formatted: list[float]) -> None:
    for hour in range(2000):
        hour_prefix("hot-path", "many-hours", hour * HOUR_MS)
    assert len(formatted) == 2000
    assert hour_prefix("hot-path", "many-hours", 0) == "hot-path/many-hours/1970/01/01/00/"
    assert len(formatted) == 2001  # the first hour was let go: formatted again
