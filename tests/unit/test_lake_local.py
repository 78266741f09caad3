"""The lake contract on :class:`LocalDirectoryLake`, plus its on-disk details."""

from __future__ import annotations

import tracemalloc
from typing import TYPE_CHECKING

import pytest

from shared.exceptions import LakeError, PoisonError
from shared.lake import LocalDirectoryLake, NamesTaken, SkipNotes, hour_prefix, local
from shared.lake.base import NAME_TRIES, encode_batches, object_names
from shared.lake.stream import OrderedEvents
from tests.contracts.lake_contract import HOUR_MS, T0, LakeContract, event, records
from tests.unit.unreadable import refuse_reads

if TYPE_CHECKING:
    from pathlib import Path


class TestLocalDirectoryLake(LakeContract):
    @pytest.fixture(autouse=True)
    def _root(self, tmp_path: Path) -> None:
        self.root = tmp_path / "lake"

    def make_lake(self) -> LocalDirectoryLake:
        return LocalDirectoryLake(self.root)

    def store_raw(self, name: str, content: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    def delete_raw(self, name: str) -> None:
        (self.root / name).unlink()

    def test_objects_are_files_with_the_layout_path(self, lake: LocalDirectoryLake) -> None:
        e = event(T0 + 1)
        lake.append("order", "bus", records(e))
        [name] = lake.objects("order")
        assert (self.root / name).read_bytes() == e.to_bytes() + b"\n"
        assert name.split("/")[-1].startswith(f"{T0 + 1:013d}-")

    def test_leftover_temporary_files_are_ignored(self, lake: LocalDirectoryLake) -> None:
        lake.append("order", "bus", records(event(T0)))
        [name] = lake.objects("order")
        (self.root / name).with_name(".crashed.jsonl.1234.tmp").write_bytes(b"partial")
        assert lake.objects("order") == [name]
        assert list(self.root.rglob("*.tmp")) != []

    def test_names_escaping_the_root_are_refused(self, lake: LocalDirectoryLake) -> None:
        for name in ("../outside.jsonl", "/etc/passwd", "order//x.jsonl"):
            with pytest.raises(LakeError):
                lake.read_object(name)


@pytest.mark.parametrize("window", [{}, {"since_ms": T0, "until_ms": T0 + 1}])
def test_a_folder_that_cannot_be_listed_is_named_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: dict[str, int]
) -> None:
    lake = LocalDirectoryLake(tmp_path / "lake")
    lake.append("order", "bus", records(event(T0)))
    [name] = lake.objects("order")
    hour = name.rsplit("/", 1)[0]
    refuse_reads(monkeypatch, tmp_path / "lake" / hour)

    with pytest.raises(LakeError, match=f"cannot list lake folder {hour}/: .*Permission denied"):
        lake.objects("order", **window)
    with pytest.raises(LakeError, match=f"cannot list lake folder {hour}/"):
        list(lake.objects_oldest_first("order", **window))


def test_a_file_of_other_content_under_an_objects_name_is_left_and_the_records_move_on(
    tmp_path: Path,
) -> None:
    # It was taken for the object already stored: the records were lost.
    lake = LocalDirectoryLake(tmp_path)
    batch = records(event(T0, 1), event(T0 + 1, 2))
    [(name, content)] = encode_batches("order", "bus", batch)
    names = list(object_names(name))
    for taken in names[:2]:
        (tmp_path / taken).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / taken).write_bytes(b"copied here\n")

    lake.append("order", "bus", batch)
    lake.append("order", "bus", batch)  # a retry: stored once

    assert [(tmp_path / n).read_bytes() for n in names[:3]] == [b"copied here\n"] * 2 + [content]
    assert lake.objects("order") == sorted(names[:3])


def test_a_file_copied_under_an_objects_name_while_it_is_written_is_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The write checked the name was free, then renamed its temporary file over the copy.
    lake = LocalDirectoryLake(tmp_path)
    batch = records(event(T0, 1))
    [(name, content)] = encode_batches("order", "bus", batch)
    first, second, *_ = object_names(name)
    make_dirs = local._make_dirs

    def copied_meanwhile(folder: Path) -> None:
        make_dirs(folder)
        if folder == (tmp_path / first).parent and not (tmp_path / first).exists():
            (tmp_path / first).write_bytes(b"copied here\n")

    monkeypatch.setattr(local, "_make_dirs", copied_meanwhile)
    lake.append("order", "bus", batch)

    assert (tmp_path / first).read_bytes() == b"copied here\n"
    assert (tmp_path / second).read_bytes() == content
    assert sorted(p.name for p in (tmp_path / first).parent.iterdir()) == sorted(
        [(tmp_path / first).name, (tmp_path / second).name]
    )  # no temporary file left behind


def test_a_directory_under_an_objects_name_is_left_and_the_records_move_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = LocalDirectoryLake(tmp_path)
    batch = records(event(T0, 1))
    [(name, content)] = encode_batches("order", "bus", batch)
    first, second, *_ = object_names(name)
    (tmp_path / first / "inside").mkdir(parents=True)

    lake.append("order", "bus", batch)

    assert (tmp_path / first / "inside").is_dir()
    assert (tmp_path / second).read_bytes() == content
    assert lake.objects("order") == [second]
    assert f"stored them as {second} instead" in caplog.text


def test_files_of_other_content_under_every_name_are_an_error(tmp_path: Path) -> None:
    lake = LocalDirectoryLake(tmp_path)
    batch = records(event(T0, 1))
    [(name, _)] = encode_batches("order", "bus", batch)
    for taken in object_names(name):
        (tmp_path / taken).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / taken).write_bytes(b"copied here\n")

    with pytest.raises(LakeError, match=f"{name} and its {NAME_TRIES - 1} other names"):
        lake.append("order", "bus", batch)


def test_every_name_taken_is_poison_naming_them_and_the_other_hours_are_stored(
    tmp_path: Path,
) -> None:
    # It was a plain LakeError, retried for ever, and it stopped the hours after it unstored.
    lake = LocalDirectoryLake(tmp_path)
    before, after = event(T0 - HOUR_MS, 4), event(T0 + HOUR_MS, 3)
    blocked = records(event(T0, 1), event(T0 + 1, 2))
    [(name, _)] = encode_batches("order", "bus", blocked)
    names = list(object_names(name))
    for taken in names:
        (tmp_path / taken).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / taken).write_bytes(b"copied here\n")

    with pytest.raises(NamesTaken) as raised:
        lake.append("order", "bus", [*records(after), *blocked, *records(before)])

    assert isinstance(raised.value, PoisonError)
    assert raised.value.names == tuple(names)
    assert raised.value.records == tuple(blocked)
    assert all(f"{tmp_path}/{taken}" in str(raised.value) for taken in names)
    assert list(lake.replay("order")) == [before, after]
    assert all((tmp_path / taken).read_bytes() == b"copied here\n" for taken in names)


def test_records_stored_again_after_the_foreign_object_left_are_replayed_once(
    tmp_path: Path,
) -> None:
    """A write found a copied file under its name and stored the records under ``-2``; its
    answer was lost, the file was moved away, and the retry stored them under the first name
    too: the same records twice, in the same hour folder, which readers keep once."""
    lake = LocalDirectoryLake(tmp_path)
    events = [event(T0, 1), event(T0 + 1, 2)]
    [(name, content)] = encode_batches("order", "bus", records(*events))
    copied = tmp_path / name
    copied.parent.mkdir(parents=True)
    copied.write_bytes(b"copied here\n")
    lake.append("order", "bus", records(*events))
    copied.unlink()
    lake.append("order", "bus", records(*events))

    first, second, *_ = object_names(name)
    assert lake.objects("order") == sorted([first, second])
    assert (tmp_path / first).read_bytes() == (tmp_path / second).read_bytes() == content
    assert list(lake.replay("order")) == events
    stream = OrderedEvents(
        lake, "order", "bus", lake.objects("order"), SkipNotes(), chosen=bool, max_lag_ms=0
    )
    assert [e for chunk in stream.chunks() for e in chunk] == events  # `lake events`' reader


def test_a_large_foreign_file_is_skipped_after_its_first_bytes(tmp_path: Path) -> None:
    # It was read whole (here 64 MiB) before its lines were found to be no envelopes.
    lake = LocalDirectoryLake(tmp_path)
    name = f"{hour_prefix('order', 'bus', T0)}{T0:013d}-copied.jsonl"
    path = tmp_path / name
    path.parent.mkdir(parents=True)
    with path.open("wb") as file:
        file.write(b"PK\x03\x04")  # a zip archive
        file.truncate(64 << 20)  # sparse: no disk used
    notes = SkipNotes()

    tracemalloc.start()
    try:
        assert list(lake.read_envelopes(name, notes)) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert list(notes.foreign) == [name]
    assert "starts as a zip file does" in notes.foreign[name]
    assert peak < 1 << 20
