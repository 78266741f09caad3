"""``fooddelivery lake events`` streams: it prints as it reads, an hour folder at a time,
holding the events of a few hours whatever the window, with the output it had when it
read the whole window first."""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from shared.cli import main
from shared.envelope import Envelope, new_event
from shared.exceptions import LakeError
from shared.lake import LocalDirectoryLake, SkipNotes
from shared.lake import command as lake_command

MINUTE = 60_000
HOUR = 60 * MINUTE
T0 = int(datetime(2026, 1, 31, tzinfo=UTC).timestamp() * 1000)


def placed(at: int, key: str, kind: str = "order-placed") -> Envelope:
    return new_event(kind, "order", {"id": key}, partition_key=key, timestamp=at)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lake", "events", "order", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def ids_of(out: str) -> list[str]:
    return [line.split()[-1] for line in out.splitlines()]


def hourly(lake_root: Path, hours: int, per_hour: int) -> list[Envelope]:
    """``per_hour`` events in each of ``hours`` hours from T0, each stored a minute late."""
    lake = LocalDirectoryLake(lake_root)
    events = [
        placed(T0 + h * HOUR + i * (HOUR // per_hour), f"o-{h}-{i}")
        for h in range(hours)
        for i in range(per_hour)
    ]
    for event in events:
        lake.append("order", "bus", [(event.timestamp + MINUTE, event.to_bytes())])
    return events


class Held(Envelope):
    """An envelope a weak reference can follow, to tell whether anything still holds it."""

    __slots__ = ("__weakref__",)


class HoldingLake(LocalDirectoryLake):
    """A local lake whose envelopes are counted while anything holds them: ``most`` is the
    most held when an object was read."""

    made: ClassVar[list[weakref.ref[Held]]] = []
    most: ClassVar[int] = 0

    def read_envelopes(self, name: str, notes: SkipNotes) -> Iterator[Envelope]:
        alive = sum(ref() is not None for ref in HoldingLake.made)
        HoldingLake.most = max(HoldingLake.most, alive)
        for event in super().read_envelopes(name, notes):
            held = Held.from_bytes(event.to_bytes())
            HoldingLake.made.append(weakref.ref(held))
            yield held


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_a_long_window_holds_the_events_of_a_few_hours_not_all(
    tmp_path, capsys, monkeypatch, output
):
    events = hourly(tmp_path, hours=48, per_hour=5)
    monkeypatch.setattr(lake_command, "LocalDirectoryLake", HoldingLake)
    monkeypatch.setattr(HoldingLake, "made", [])
    monkeypatch.setattr(HoldingLake, "most", 0)
    code, out, err = run(capsys, "--dir", str(tmp_path), *output)
    assert (code, err) == (0, "")
    shown = ids_of(out) if not output else [json.loads(line)["id"] for line in out.splitlines()]
    assert shown == [e.id for e in events]
    assert HoldingLake.most <= 4 * 5, HoldingLake.most


class PrintingLake(LocalDirectoryLake):
    """A local lake that notes, as it reads each object, how many lines were printed."""

    capsys: ClassVar[pytest.CaptureFixture[str] | None] = None
    printed: ClassVar[list[int]] = []
    out: ClassVar[str] = ""

    def read_object(self, name: str) -> Iterator[bytes]:
        assert PrintingLake.capsys is not None
        PrintingLake.out += PrintingLake.capsys.readouterr().out
        PrintingLake.printed.append(len(PrintingLake.out.splitlines()))
        return super().read_object(name)


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_events_are_printed_as_the_folders_are_read(tmp_path, capsys, monkeypatch, output):
    """Each event is printed once the folders that could hold an older one are read (text
    lines once more than ALIGNED_LINES came, here 1)."""
    events = hourly(tmp_path, hours=12, per_hour=1)
    monkeypatch.setattr(lake_command, "LocalDirectoryLake", PrintingLake)
    monkeypatch.setattr(lake_command, "ALIGNED_LINES", 1, raising=False)
    monkeypatch.setattr(PrintingLake, "capsys", capsys)
    monkeypatch.setattr(PrintingLake, "printed", [])
    monkeypatch.setattr(PrintingLake, "out", "")
    code, out, _ = run(capsys, "--dir", str(tmp_path), *output)
    assert code == 0
    assert len((PrintingLake.out + out).splitlines()) == len(events)
    # reading hour h's object, the events up to hour h - 2 are out
    assert PrintingLake.printed == [max(0, h - 1) for h in range(12)]


def test_a_failed_read_after_printing_says_where_to_go_on(tmp_path, capsys, monkeypatch):
    events = hourly(tmp_path, hours=6, per_hour=1)
    broken = LocalDirectoryLake(tmp_path).objects("order")[4]  # 04:00's
    read = LocalDirectoryLake.read_object

    def failing(self: LocalDirectoryLake, name: str) -> Iterator[bytes]:
        if name == broken:
            raise LakeError(f"cannot read lake object {name}: Input/output error")
        return read(self, name)

    monkeypatch.setattr(LocalDirectoryLake, "read_object", failing)
    code, out, err = run(capsys, "--dir", str(tmp_path), "--since", "2026-01-31")
    assert code == 2
    assert ids_of(out) == [e.id for e in events[:3]]  # those no later folder could precede
    resume = "2026-01-31T03:00:00.000Z"  # an event of 04:00's folder happened after 03:00
    assert err == (
        "fooddelivery lake events: "
        f"cannot read lake object {broken}: Input/output error; 3 event(s) were "
        f"printed before it, every event before {resume} among them: run the command again "
        f"with --since {resume} to go on\n"
    )


def test_an_event_stored_beyond_the_lag_is_printed_when_read_behind_newer_ones(tmp_path, capsys):
    """As for `lake replay`: time order holds for events stored within --max-lag."""
    lake = LocalDirectoryLake(tmp_path)
    backlog, first, then = (
        placed(T0 + 30 * MINUTE, "o-b"),
        placed(T0, "o-1"),
        placed(T0 + HOUR, "o-2"),
    )
    for stored, event in [
        (T0 + MINUTE, first),
        (T0 + HOUR + MINUTE, then),
        (T0 + 4 * HOUR, backlog),
    ]:
        lake.append("order", "bus", [(stored, event.to_bytes())])
    lake.append("order", "bus", [(T0 + 6 * HOUR, placed(T0 + 6 * HOUR, "o-3").to_bytes())])
    _, out, _ = run(capsys, "--dir", str(tmp_path), "--until", "2026-01-31T02:00")
    assert ids_of(out) == [first.id, then.id]  # stored 3.5 hours late: beyond --max-lag
    _, out, _ = run(capsys, "--dir", str(tmp_path), "--until", "2026-01-31T05:00")
    assert ids_of(out)[:3] == [first.id, then.id, backlog.id]


# The output, pinned as it was when the whole window was read and sorted first: a regression
# check (it passed then too), over a window of several hour folders whose first lines are
# read before the widest type is.
WINDOW = [
    placed(T0 + 10 * HOUR + 5 * MINUTE, "o-1"),
    placed(T0 + 11 * HOUR, "o-22", "order-accepted"),
    placed(T0 + 13 * HOUR, "o-1", "order-delivered"),
]


def test_the_lines_are_one_table_as_when_the_window_was_read_first(tmp_path, capsys):
    lake = LocalDirectoryLake(tmp_path)
    for event in WINDOW:
        lake.append("order", "bus", [(event.timestamp + 2000, event.to_bytes())])
    code, out, err = run(capsys, "--dir", str(tmp_path))
    assert (code, err) == (0, "")
    a, b, c = (e.id for e in WINDOW)
    assert out == (
        f"2026-01-31T10:05:00.000Z  order-placed     o-1   {a}\n"
        f"2026-01-31T11:00:00.000Z  order-accepted   o-22  {b}\n"
        f"2026-01-31T13:00:00.000Z  order-delivered  o-1   {c}\n"
    )
    _, out, _ = run(capsys, "--dir", str(tmp_path), "--json")
    assert out == "".join(e.to_bytes().decode() + "\n" for e in WINDOW)
