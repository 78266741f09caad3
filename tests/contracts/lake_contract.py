"""The contract every :class:`AbstractLake` backend must honour.

A backend's test module subclasses :class:`LakeContract` as ``Test...`` and
implements :meth:`LakeContract.make_lake`; each call must return a lake over the
*same* storage (the flush test reads back through a second instance).
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from shared.envelope import Envelope, new_event
from shared.exceptions import LakeError
from shared.lake import AbstractLake, ObjectGone, SkipNotes, hour_prefix
from shared.lake.base import FILE_SIGNATURES

if TYPE_CHECKING:
    from collections.abc import Iterator

HOUR_MS = 3_600_000


def ms(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> int:
    """Epoch milliseconds of a UTC wall-clock time."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


# 2025-12-31T23:00Z: the next hour is on another day, month and year.
T0 = ms(2025, 12, 31, 23)


def event(timestamp: int, n: int = 0) -> Envelope:
    """An order event published at ``timestamp``."""
    return new_event("order-placed", "order", {"n": n}, partition_key=f"o-{n}", timestamp=timestamp)


def records(*events: Envelope) -> list[tuple[int, bytes]]:
    """Lake records for ``events``, published at their own timestamps."""
    return [(e.timestamp, e.to_bytes()) for e in events]


class LakeContract(ABC):
    """Behaviour shared by every lake backend."""

    @abstractmethod
    def make_lake(self) -> AbstractLake:
        """A lake over this test's storage (the same storage on every call)."""

    @abstractmethod
    def store_raw(self, name: str, content: bytes) -> None:
        """Put ``content`` at object name ``name`` in this test's storage, bypassing the lake."""

    @abstractmethod
    def delete_raw(self, name: str) -> None:
        """Delete object ``name`` from this test's storage, as a lifecycle rule does."""

    @pytest.fixture
    def lake(self) -> AbstractLake:
        return self.make_lake()

    def test_objects_off_the_layout_are_not_listed(self, lake: AbstractLake) -> None:
        lake.append("order", "bus", records(event(T0)))
        lake.flush()
        [name] = lake.objects("order")
        hour = name.rsplit("/", 1)[0]
        strays = ("order/bus/notes.jsonl", f"{hour}/sub/x.jsonl", f"{hour}/.hidden.jsonl")
        for stray in (*strays, f"{hour}/folder.jsonl/x.jsonl"):
            self.store_raw(stray, event(T0 + 1).to_bytes() + b"\n")
        self.store_raw(f"{hour}/readme.txt", b"not an object")

        assert lake.objects("order") == [name]
        assert lake.objects("order", since_ms=T0 - HOUR_MS) == [name]
        assert lake.objects("order", since_ms=T0, until_ms=T0 + 1) == [name]
        assert len(list(lake.replay("order"))) == 1

    def test_records_land_in_their_hour_folders(self, lake: AbstractLake) -> None:
        late = [event(T0 + 30 * 60_000, 1), event(T0 + HOUR_MS - 1, 2)]  # 23:30, 23:59:59.999
        early = [event(T0 + HOUR_MS, 3), event(T0 + HOUR_MS + 45 * 60_000, 4)]  # 00:00, 00:45
        lake.append("order", "bus", records(early[1], late[0], early[0], late[1]))
        lake.flush()

        names = lake.objects("order")
        assert len(names) == 2
        assert names[0].startswith("order/bus/2025/12/31/23/")
        assert names[1].startswith("order/bus/2026/01/01/00/")
        for name, expected in zip(names, (late, early), strict=True):
            folder = hour_prefix("order", "bus", expected[0].timestamp)
            assert name.startswith(folder)
            assert "/" not in name[len(folder) :]
            assert name.endswith(".jsonl")
            assert list(lake.read_object(name)) == [e.to_bytes() for e in expected]

    def test_objects_are_listed_in_time_order_across_appends(self, lake: AbstractLake) -> None:
        third = event(T0 + 2 * HOUR_MS + 50 * 60_000, 3)
        first = event(T0 + 10 * 60_000, 1)
        second = event(T0 + 2 * HOUR_MS + 5 * 60_000, 2)  # same hour as ``third``, earlier
        for e in (third, first, second):
            lake.append("order", "bus", records(e))
        lake.flush()

        names = lake.objects("order", "bus")
        assert [list(lake.read_object(n)) for n in names] == [
            [first.to_bytes()],
            [second.to_bytes()],
            [third.to_bytes()],
        ]

    def test_objects_oldest_first_lists_what_objects_lists(self, lake: AbstractLake) -> None:
        hours = [T0 - 25 * HOUR_MS, T0, T0 + 30 * 60_000, T0 + HOUR_MS, T0 + 40 * 24 * HOUR_MS]
        for n, at in enumerate(hours):  # across days, a month and a year
            lake.append("order", "bus", records(event(at, n)))
        self.store_raw(hour_prefix("order", "bus", T0) + "x/stray.jsonl", b"{}\n")
        lake.flush()

        for window in [(None, None), (T0, None), (None, T0 + HOUR_MS), (T0 - HOUR_MS, T0 + 1)]:
            since, until = window
            listed = lake.objects("order", since_ms=since, until_ms=until)
            lazily = list(lake.objects_oldest_first("order", since_ms=since, until_ms=until))
            assert lazily == listed, window
        assert len(lake.objects("order")) == len(hours)

    def test_replay_yields_oldest_first_within_since_and_until(self, lake: AbstractLake) -> None:
        events = [event(T0 + i * 20 * 60_000, i) for i in range(6)]  # spans three hours
        lake.append("order", "bus", records(*events[3:]))
        lake.append("order", "bus", records(*events[:3]))
        lake.flush()

        assert [e.id for e in lake.replay("order")] == [e.id for e in events]
        assert list(lake.replay("order")) == events
        window = lake.replay("order", since_ms=events[1].timestamp, until_ms=events[4].timestamp)
        assert [e.id for e in window] == [e.id for e in events[1:4]]
        assert list(lake.replay("order", since_ms=events[5].timestamp + 1)) == []

    def test_a_window_lists_only_the_hour_folders_that_overlap_it(self, lake: AbstractLake) -> None:
        stored = {  # hour folder -> publish time; across a day, a month and a year
            "2024/06/15/08": ms(2024, 6, 15, 8, 5),
            "2025/12/30/22": T0 - 25 * HOUR_MS + 59 * 60_000,
            "2025/12/31/23": T0,
            "2026/01/01/00": T0 + HOUR_MS + 30 * 60_000,
            "2026/01/01/01": T0 + 2 * HOUR_MS,
            "2026/01/02/01": T0 + 26 * HOUR_MS + 1,
        }
        for n, at in enumerate(stored.values()):
            lake.append("order", "bus", records(event(at, n)))
        lake.append("delivery", "bus", records(event(T0 + HOUR_MS)))
        lake.flush()

        def hours(**window: int) -> list[str]:
            names = lake.objects("order", "bus", **window)
            assert names == sorted(names)
            return [name.removeprefix("order/bus/")[:13] for name in names]

        everything = list(stored)
        assert hours() == everything
        assert hours(since_ms=T0 + 30 * 60_000, until_ms=T0 + HOUR_MS + 1) == everything[2:4]
        assert hours(since_ms=T0 + HOUR_MS, until_ms=T0 + 2 * HOUR_MS) == ["2026/01/01/00"]
        assert hours(since_ms=T0 + HOUR_MS - 1) == everything[2:]
        assert hours(until_ms=T0) == everything[:2]
        assert hours(since_ms=ms(2024, 1, 1, 0), until_ms=ms(2025, 1, 1, 0)) == everything[:1]
        assert hours(since_ms=T0 + 3 * HOUR_MS, until_ms=T0 + 25 * HOUR_MS) == []
        assert hours(since_ms=T0 + 40 * HOUR_MS) == []
        assert lake.objects("delivery", since_ms=T0, until_ms=T0 + HOUR_MS) == []
        assert lake.objects("customer", since_ms=T0) == []

    def test_replay_of_another_subsystem_or_topic_yields_nothing(self, lake: AbstractLake) -> None:
        lake.append("order", "bus", records(event(T0)))
        lake.flush()

        assert list(lake.replay("delivery")) == []
        assert list(lake.replay("order", "faults")) == []
        assert list(lake.replay("orde")) == []  # a name prefix is not a folder
        assert lake.objects("order", "bu") == []
        assert len(list(lake.replay("order", "bus"))) == 1

    def test_non_envelope_lines_are_kept_but_skipped_by_replay(self, lake: AbstractLake) -> None:
        good = [event(T0 + 1, 1), event(T0 + 4, 4)]
        junk = [(T0 + 2, b"not json"), (T0 + 3, b'{"id":"x","type":"no-payload"}')]
        lake.append("order", "bus", [*records(good[0]), *junk, *records(good[1])])
        lake.flush()

        [name] = lake.objects("order")
        assert list(lake.read_object(name)) == [
            good[0].to_bytes(),
            b"not json",
            b'{"id":"x","type":"no-payload"}',
            good[1].to_bytes(),
        ]
        assert list(lake.replay("order")) == good

    def test_arbitrary_bytes_round_trip(self, lake: AbstractLake) -> None:
        data = [
            b"",
            b"two\nlines",
            b"\r\n",
            b"trailing newline\n",
            b"\x00\xff\xfe\x80 not utf-8",
            b'{"base64":"aGk="}',  # looks like an escaped line
            b'{"base64":"',
            "ünïcødé \u2028".encode(),
            b"  spaces  ",
        ]
        lake.append("raw", "bus", [(T0 + i, d) for i, d in enumerate(data)])
        lake.flush()

        [name] = lake.objects("raw")
        assert list(lake.read_object(name)) == data
        assert list(lake.replay("raw")) == []

    def test_flush_makes_everything_visible_to_another_instance(self, lake: AbstractLake) -> None:
        events = [event(T0 + i * 7 * 60_000, i) for i in range(20)]
        for i in range(0, 20, 5):
            lake.append("order", "bus", records(*events[i : i + 5]))
        lake.flush()

        assert list(self.make_lake().replay("order")) == events

    def test_concurrent_appends_lose_nothing(self, lake: AbstractLake) -> None:
        threads, appends = 4, 8
        start = threading.Barrier(threads)

        def work(t: int) -> list[str]:
            start.wait()
            ids = []
            for a in range(appends):
                n = t * 1000 + a
                batch = [event(T0 + (n % 7) * 13 * 60_000, n), event(T0 + HOUR_MS + n, n)]
                lake.append("order", "bus", records(*batch))
                ids += [e.id for e in batch]
            return ids

        with ThreadPoolExecutor(threads) as pool:
            written = [i for ids in pool.map(work, range(threads)) for i in ids]
        lake.flush()

        replayed = [e.id for e in self.make_lake().replay("order")]
        assert sorted(replayed) == sorted(written)
        assert len(written) == threads * appends * 2

    def test_appending_the_same_records_again_stores_them_once(self, lake: AbstractLake) -> None:
        batch = records(event(T0 + 1, 1), event(T0 + HOUR_MS + 2, 2), event(T0 + 3, 3))
        lake.append("order", "bus", batch)
        lake.flush()
        stored = lake.objects("order")
        lake.append("order", "bus", batch)  # a retry: the first answer was lost
        lake.flush()

        assert lake.objects("order") == stored
        assert len(stored) == 2
        assert len(list(self.make_lake().replay("order"))) == 3

    def test_replay_yields_an_event_stored_twice_once(self, lake: AbstractLake) -> None:
        first, second = event(T0 + 1, 1), event(T0 + 2, 2)
        lake.append("order", "bus", records(first))
        lake.append("order", "bus", [(T0 + 5, first.to_bytes()), *records(second)])  # redelivered
        lake.append("order", "bus", [(T0 + HOUR_MS, first.to_bytes())])  # in a later hour too
        lake.flush()

        assert len(lake.objects("order")) == 3
        assert [e.id for e in lake.replay("order")] == [first.id, second.id]

    def test_replay_reads_only_the_hour_folders_of_its_window(
        self, lake: AbstractLake, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        events = [event(T0 + h * HOUR_MS + 60_000, h) for h in range(10)]  # one a hour
        for e in events:
            lake.append("order", "bus", records(e))
        lake.flush()
        read: list[str] = []
        read_object = lake.read_object

        def spy(name: str) -> Iterator[bytes]:
            read.append(name)
            return read_object(name)

        monkeypatch.setattr(lake, "read_object", spy)
        since = events[5].timestamp

        assert list(lake.replay("order", since_ms=since)) == events[5:]
        assert len(read) == 6  # from an hour before since on: an event may be stored early
        read.clear()
        window = lake.replay("order", since_ms=since, until_ms=since + 1, max_lag_ms=HOUR_MS)
        assert list(window) == [events[5]]
        assert [name.removeprefix("order/bus/")[:13] for name in read] == [
            "2026/01/01/03",
            "2026/01/01/04",
            "2026/01/01/05",
        ]

    def test_replay_finds_an_event_stored_late_unless_the_lag_is_bounded(
        self, lake: AbstractLake
    ) -> None:
        late = event(T0 + 60_000, 1)
        lake.append("order", "bus", [(T0 + 5 * HOUR_MS, late.to_bytes())])  # a five-hour backlog
        lake.flush()

        until = T0 + HOUR_MS
        assert list(lake.replay("order", since_ms=T0, until_ms=until)) == [late]
        assert list(lake.replay("order", since_ms=T0, until_ms=until, max_lag_ms=HOUR_MS)) == []
        bounded = lake.replay("order", since_ms=T0, until_ms=until, max_lag_ms=5 * HOUR_MS)
        assert list(bounded) == [late]

    def test_append_of_nothing_writes_nothing(self, lake: AbstractLake) -> None:
        lake.append("order", "bus", [])
        lake.flush()
        assert lake.objects("order") == []

    @pytest.mark.parametrize(
        ("subsystem", "topic"),
        [("", "bus"), ("a/b", "bus"), ("..", "bus"), ("order", ""), ("order", "x/y")],
    )
    def test_unusable_folder_names_are_refused(
        self, lake: AbstractLake, subsystem: str, topic: str
    ) -> None:
        refused = "is not a valid lake folder name"
        with pytest.raises(ValueError, match=refused):
            lake.append(subsystem, topic, records(event(T0)))
        with pytest.raises(ValueError, match=refused):
            lake.objects(subsystem, topic)
        with pytest.raises(ValueError, match=refused):
            lake.objects(subsystem, topic, since_ms=T0)

    def test_reading_a_missing_object_raises_lake_error(self, lake: AbstractLake) -> None:
        with pytest.raises(LakeError):
            lake.read_object("order/bus/2025/12/31/23/0000000000000-missing.jsonl")

    def test_reading_an_object_gone_raises_object_gone_naming_it(self, lake: AbstractLake) -> None:
        lake.append("order", "bus", records(event(T0)))
        lake.flush()
        [name] = lake.objects("order")
        self.delete_raw(name)

        with pytest.raises(ObjectGone) as gone:
            lake.read_object(name)
        assert gone.value.name == name
        assert name in str(gone.value)

    def test_an_object_deleted_between_listing_and_reading_is_skipped_and_noted_once(
        self, lake: AbstractLake, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        events = [event(T0 + h * HOUR_MS, h) for h in range(3)]  # one object an hour
        for e in events:
            lake.append("order", "bus", records(e))
        lake.flush()
        doomed = lake.objects("order")[1]
        list_objects = lake._list_objects

        def list_then_expire(folder: str) -> list[str]:
            listed = list_objects(folder)
            if doomed in listed:
                self.delete_raw(doomed)  # the lifecycle rule strikes right after the listing
            return listed

        monkeypatch.setattr(lake, "_list_objects", list_then_expire)
        notes = SkipNotes()
        assert list(lake.replay("order", notes=notes)) == [events[0], events[2]]
        assert notes.gone == [doomed]
        assert notes.bad_lines == {}
        assert list(lake.read_envelopes(doomed, notes)) == []
        assert notes.gone == [doomed]  # noted once, however often it is met

        lake.append("order", "bus", records(events[1]))  # the same object, to be deleted again
        lake.flush()
        with caplog.at_level(logging.WARNING, logger="fooddelivery.lake"):
            assert list(lake.replay("order", since_ms=T0)) == [events[0], events[2]]
        [warning] = caplog.records
        assert doomed in warning.getMessage()
        assert "gone" in warning.getMessage()

    def test_corrupt_objects_are_skipped_and_named_their_good_lines_kept(
        self, lake: AbstractLake, caplog: pytest.LogCaptureFixture
    ) -> None:
        whole, cut, sound = event(T0 + 1, 1), event(T0 + 2, 2), event(T0 + 3, 3)
        lake.append("order", "bus", records(sound))
        lake.flush()
        hour = hour_prefix("order", "bus", T0)
        truncated = f"{hour}{T0 + 1:013d}-truncated.jsonl"  # a write cut short
        self.store_raw(truncated, whole.to_bytes() + b"\n" + cut.to_bytes()[:40])
        binary = f"{hour}{T0 + 2:013d}-binary.jsonl"  # no JSON lines at all
        self.store_raw(binary, b"\x08\x00\xff\xfe\n\x00\x01{[\n\x80")  # no file format's
        notes = SkipNotes()

        replayed = list(lake.replay("order", notes=notes))

        assert replayed == [whole, sound]
        assert notes.bad_lines == {truncated: 1, binary: 3}
        assert notes.gone == []
        described = notes.describe()
        assert len(described) == 2
        assert truncated in described[0] and binary in described[1]
        with caplog.at_level(logging.WARNING, logger="fooddelivery.lake"):
            assert len(list(lake.replay("order"))) == 2
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == 2
        assert truncated in messages[0] and binary in messages[1]

    @pytest.mark.parametrize("signature", sorted(FILE_SIGNATURES))
    def test_an_object_starting_as_another_file_format_is_skipped_as_foreign(
        self, lake: AbstractLake, signature: bytes
    ) -> None:
        sound = event(T0 + 3, 3)
        lake.append("order", "bus", records(sound))
        lake.flush()
        copied = f"{hour_prefix('order', 'bus', T0)}{T0 + 1:013d}-copied.jsonl"
        self.store_raw(copied, signature + b"\n" + event(T0 + 2, 2).to_bytes() + b"\n")
        notes = SkipNotes()

        assert list(lake.replay("order", notes=notes)) == [sound]
        assert list(notes.foreign) == [copied] and notes.bad_lines == {}
        [described] = notes.describe()
        assert described.startswith(f"skipped {copied}: not in the lake's line format")
        assert f"starts as a {FILE_SIGNATURES[signature]} file does" in described

    def test_replaying_again_yields_the_same_envelopes_though_they_were_stored_again(
        self, lake: AbstractLake
    ) -> None:
        events = [event(T0 + i * 20 * 60_000, i) for i in range(4)]
        lake.append("order", "bus", records(*events))
        lake.flush()

        first = []
        for replayed in lake.replay("order"):  # published again, and the lake stores it again
            first.append(replayed)
            lake.append("order", "bus", [(T0 + 5 * HOUR_MS + len(first), replayed.to_bytes())])
            lake.append("order", "bus", records(event(T0 + 6 * HOUR_MS + len(first), 99)))
            lake.flush()

        assert first == events  # it ended with what was there when it began
        second = list(lake.replay("order", until_ms=T0 + 5 * HOUR_MS))
        assert second == events  # the same ids: consumers that saw them ignore them
        assert [e.to_bytes() for e in second] == [e.to_bytes() for e in events]
        everything = [e.id for e in lake.replay("order")]
        assert len(everything) == len(set(everything)) == len(events) + 4

    def test_since_is_inclusive_and_until_exclusive_to_the_millisecond(
        self, lake: AbstractLake
    ) -> None:
        at = [event(T0 + HOUR_MS - 1, 1), event(T0 + HOUR_MS, 2), event(T0 + HOUR_MS + 1, 3)]
        lake.append("order", "bus", records(*at))
        lake.flush()
        edge = T0 + HOUR_MS  # also an hour folder's edge

        assert list(lake.replay("order", since_ms=edge)) == at[1:]
        assert list(lake.replay("order", until_ms=edge)) == at[:1]
        assert list(lake.replay("order", since_ms=edge, until_ms=edge + 1)) == at[1:2]
        assert list(lake.replay("order", since_ms=edge, until_ms=edge + 1, max_lag_ms=0)) == [at[1]]
