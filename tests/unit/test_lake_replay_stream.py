"""``fooddelivery lake replay`` streams: it publishes as it reads, in bounded memory, skips
objects it cannot read as lines, and reaches only the bus (no Firestore)."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from requests.exceptions import ContentDecodingError

from shared.cli import main
from shared.envelope import Envelope, new_event
from shared.exceptions import LakeError, PublishError
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message, from_message
from shared.lake import LocalDirectoryLake, SkipNotes
from shared.lake import command as lake_command
from shared.lake.gcs import GcsLake
from shared.runtime import operator
from shared.topology.model import Topic

HOUR_MS = 3_600_000
T0 = int(datetime(2026, 1, 31, tzinfo=UTC).timestamp() * 1000)


def placed(at: int, key: str = "o-1") -> Envelope:
    return new_event("order-placed", "order", {"id": key}, partition_key=key, timestamp=at)


class ReadingLake(LocalDirectoryLake):
    """A local lake that counts the objects it has read."""

    reads = 0

    def read_object(self, name: str) -> Iterator[bytes]:
        ReadingLake.reads += 1
        return super().read_object(name)


class Bus(AbstractPublisher):
    """Records each message with how many objects the lake had read when it was published;
    with ``lake``, stores what it publishes in it, as the lake writer would."""

    def __init__(self, lake: LocalDirectoryLake | None = None) -> None:
        self.published: list[tuple[Message, int]] = []
        self.lake = lake

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        self.published += [(m, ReadingLake.reads) for m in messages]
        if self.lake is not None:
            now = lake_command._now_ms()
            self.lake.append("order", "bus", [(now, m.data) for m in messages])
        return [str(i) for i, _ in enumerate(messages)]

    @property
    def events(self) -> list[Envelope]:
        return [from_message(m) for m, _ in self.published]


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Bus:
    recording = Bus()
    monkeypatch.setattr(operator, "connect_bus", lambda subsystem, environ=None: recording)
    monkeypatch.setattr(lake_command, "LocalDirectoryLake", ReadingLake)
    monkeypatch.setattr(ReadingLake, "reads", 0)
    return recording


def replay(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lake", "replay", "order", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_long_window_is_published_as_it_is_read(tmp_path, bus, capsys, monkeypatch):
    """A day and more, an event an hour: each is published once the folders that could
    hold an older event are read, not after the whole window."""
    lake = LocalDirectoryLake(tmp_path)
    events = [placed(T0 + h * HOUR_MS + HOUR_MS // 2) for h in range(30)]
    for e in events:
        lake.append("order", "bus", [(e.timestamp + 60_000, e.to_bytes())])
    monkeypatch.setattr("shared.lake.republish.BATCH", 1)
    code, _, err = replay(capsys, "--dir", str(tmp_path), "--since", "2026-01-31")
    assert code == 0, err
    assert bus.events == events
    assert "published 30 event(s)" in err
    reads = [read for _, read in bus.published]
    assert all(read <= i + 3 for i, read in enumerate(reads)), reads  # a few folders ahead


def test_events_stored_out_of_order_within_the_lag_are_published_in_time_order(
    tmp_path, bus, capsys
):
    lake = LocalDirectoryLake(tmp_path)
    late = placed(T0 + 50 * 60_000, "late")  # 00:50, stored at 01:10 (folder 01)
    first = placed(T0 + 55 * 60_000, "first")  # 00:55, stored at once (folder 00)
    early = placed(T0 + 2 * HOUR_MS + 10 * 60_000, "early")  # 02:10, stored at 01:50
    then = placed(T0 + 2 * HOUR_MS + 5 * 60_000, "then")  # 02:05, stored at once (folder 02)
    for stored, e in [(70, late), (55, first), (110, early), (125, then)]:
        lake.append("order", "bus", [(T0 + stored * 60_000, e.to_bytes())])
    lake.append("order", "bus", [(T0 + 71 * 60_000, late.to_bytes())])  # a redelivery
    code, _, err = replay(capsys, "--dir", str(tmp_path), "--since", "2026-01-31")
    assert code == 0, err
    assert bus.events == [late, first, then, early]


def test_events_the_replay_stores_again_are_not_read_back(tmp_path, monkeypatch, capsys):
    """The lake writer stores what the replay publishes, in this hour's folder: the replay
    listed that folder before it published anything, so it ends."""
    lake = LocalDirectoryLake(tmp_path)
    now = lake_command._now_ms()
    events = [placed(now - 3 * 60_000, "o-1"), placed(now - 2 * 60_000, "o-2")]
    lake.append("order", "bus", [(e.timestamp, e.to_bytes()) for e in events])
    writing = Bus(lake)
    monkeypatch.setattr(operator, "connect_bus", lambda subsystem, environ=None: writing)
    monkeypatch.setattr("shared.lake.republish.BATCH", 1)
    code, _, err = replay(capsys, "--dir", str(tmp_path), "--since", "2026-01-01")
    assert code == 0, err
    assert writing.events == events
    assert len(lake.objects("order")) > 1  # stored again, not replayed again


def test_a_failed_read_says_how_far_the_replay_got(tmp_path, bus, capsys, monkeypatch):
    lake = LocalDirectoryLake(tmp_path)
    events = [placed(T0 + h * HOUR_MS + HOUR_MS // 2) for h in range(6)]
    for e in events:
        lake.append("order", "bus", [(e.timestamp, e.to_bytes())])
    broken = lake.objects("order")[4]  # 04:30's
    read = ReadingLake.read_object

    def failing(self: ReadingLake, name: str) -> Iterator[bytes]:
        if name == broken:
            raise LakeError(f"cannot read lake object {name}: Input/output error")
        return read(self, name)

    monkeypatch.setattr(ReadingLake, "read_object", failing)
    monkeypatch.setattr("shared.lake.republish.BATCH", 1)
    code, _, err = replay(capsys, "--dir", str(tmp_path), "--since", "2026-01-31")
    assert code == 2
    assert bus.events == events[:3]  # those no later folder could precede
    resume = "2026-01-31T03:00:00.000Z"  # an event of 04:00's folder happened after 03:00
    assert err == (
        "fooddelivery lake replay: "
        f"cannot read lake object {broken}: Input/output error; 3 event(s) were "
        f"published before it, every event before {resume} among them: run the command "
        f"again with --since {resume} to go on (consumers skip what they processed)\n"
    )


def test_a_batch_refused_first_says_nothing_was_published(tmp_path, monkeypatch, capsys):
    class Refusing(Bus):
        def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
            raise PublishError("unavailable")

    monkeypatch.setattr(operator, "connect_bus", lambda subsystem, environ=None: Refusing())
    LocalDirectoryLake(tmp_path).append("order", "bus", [(T0, placed(T0).to_bytes())])
    code, _, err = replay(capsys, "--dir", str(tmp_path), "--since", "2026-01-31")
    assert code == 2
    assert err == (
        "fooddelivery lake replay: the bus refused a batch of 1 event(s) (unavailable); none was "
        "published: run the same command again\n"
    )


def test_a_dry_run_streams_the_lines_and_publishes_nothing(tmp_path, monkeypatch, capsys):
    def connect_bus(subsystem: str, environ: object = None) -> None:
        raise AssertionError("a dry run reaches no bus")

    monkeypatch.setattr(operator, "connect_bus", connect_bus)
    lake = LocalDirectoryLake(tmp_path)
    events = [placed(T0 + h * HOUR_MS, f"o-{h}") for h in range(5)]
    lake.append("order", "bus", [(e.timestamp, e.to_bytes()) for e in events])
    code, out, err = replay(capsys, "--dir", str(tmp_path), "--since", "2026-01-31", "--dry-run")
    assert code == 0
    assert [line.split()[-1] for line in out.splitlines()] == [e.id for e in events]
    assert err == "--dry-run: 5 event(s) would be published on order's bus\n"


# --- an object the lake cannot read as lines --------------------------------------------


class Blob:
    def __init__(self, bucket: dict[str, bytes], name: str) -> None:
        self.bucket, self.name = bucket, name
        self.downloaded = 0

    def download_to_file(self, file: Any) -> None:
        content = self.bucket[self.name]
        if content.startswith(b"GZIP?"):  # stored with Content-Encoding: gzip, not gzip
            raise ContentDecodingError("Received response with content-encoding: gzip")
        for start in range(0, len(content), CHUNK):  # as the SDK streams it
            chunk = content[start : start + CHUNK]
            self.downloaded += len(chunk)
            file.write(chunk)


CHUNK = 8192


class Listing:
    def __init__(self, prefixes: set[str]) -> None:
        self.pages: list[object] = [object()]
        self.prefixes = prefixes


class Client:
    """A Cloud Storage client over one bucket's objects."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def bucket(self, name: str) -> Any:
        objects = self.objects

        class Bucket:
            def blob(self, blob_name: str) -> Blob:
                return Blob(objects, blob_name)

        return Bucket()

    def list_blobs(self, bucket: str, prefix: str, delimiter: str | None = None) -> Any:
        names = [name for name in sorted(self.objects) if name.startswith(prefix)]
        if delimiter is None:
            return [Blob(self.objects, name) for name in names]
        below = [name[len(prefix) :] for name in names]
        return Listing({prefix + rest.split("/")[0] + "/" for rest in below if "/" in rest})


def gcs_objects(*events: Envelope) -> dict[str, bytes]:
    folder = "order/bus/2026/01/31/00/"
    objects = {f"{folder}{e.timestamp:013d}-x.jsonl": e.to_bytes() + b"\n" for e in events}
    objects[f"{folder}{T0 + 1:013d}-copied.jsonl"] = b"GZIP?not gzip at all"
    return objects


def test_a_gcs_object_its_encoding_does_not_decode_is_skipped_and_named() -> None:
    events = [placed(T0), placed(T0 + 2, "o-2")]
    lake = GcsLake("lake", client=Client(gcs_objects(*events)))
    notes = SkipNotes()
    assert list(lake.replay("order", notes=notes)) == events
    foreign = f"order/bus/2026/01/31/00/{T0 + 1:013d}-copied.jsonl"
    assert list(notes.foreign) == [foreign]
    assert notes.objects == 1
    [note] = notes.describe()
    assert note.startswith(f"skipped {foreign}: not in the lake's line format, left as it is (")
    assert "content-encoding: gzip" in note


def test_a_large_foreign_gcs_object_is_skipped_after_its_first_chunk() -> None:
    # It was downloaded whole (here 4 MiB) before its lines were found to be no envelopes.
    folder = "order/bus/2026/01/31/00/"
    name = f"{folder}{T0:013d}-archive.jsonl"
    objects = {name: b"PK\x03\x04" + bytes(4 << 20)}
    blobs: list[Blob] = []

    class Recording(Client):
        def bucket(self, bucket_name: str) -> Any:
            class Bucket:
                def blob(self, blob_name: str) -> Blob:
                    blobs.append(Blob(objects, blob_name))
                    return blobs[-1]

            return Bucket()

    notes = SkipNotes()
    assert list(GcsLake("lake", client=Recording(objects)).read_envelopes(name, notes)) == []
    assert list(notes.foreign) == [name]
    assert f"gs://lake/{name} starts as a zip file does" in notes.foreign[name]
    [blob] = blobs
    assert blob.downloaded == CHUNK


def test_replay_skips_a_foreign_object_names_it_and_counts_it(bus, capsys, monkeypatch):
    events = [placed(T0), placed(T0 + 2, "o-2")]
    monkeypatch.setenv("FOODDELIVERY_MODE", "gcp")
    monkeypatch.setenv("FOODDELIVERY_PROJECT_ORDER", "acme-order")
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setattr("shared.lake.gcs._default_client", lambda: Client(gcs_objects(*events)))
    code, _, err = replay(capsys, "--since", "2026-01-31")
    assert code == 0, err
    assert bus.events == events
    lines = err.splitlines()
    assert lines[0].startswith("published 2 event(s) from order's lake")
    assert lines[0].endswith("; 1 object(s) of the lake skipped, named below")
    assert lines[1].startswith(f"skipped order/bus/2026/01/31/00/{T0 + 1:013d}-copied.jsonl: ")


# --- the bus alone ---------------------------------------------------------------------


def test_replay_needs_no_firestore(tmp_path, monkeypatch, capsys):
    """On a stack whose environment names the Pub/Sub emulator but no Firestore one."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    made: list[str] = []

    def publisher(project: str) -> Bus:
        made.append(project)
        return Bus()

    monkeypatch.setattr("shared.hub.pubsub.PubSubPublisher", publisher)
    monkeypatch.setenv("FOODDELIVERY_MODE", "emulator")
    monkeypatch.setenv("FOODDELIVERY_PROJECT_ORDER", "order-dev")
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{listener.getsockname()[1]}")
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    LocalDirectoryLake(tmp_path).append("order", "bus", [(T0, placed(T0).to_bytes())])
    try:
        code, _, err = replay(capsys, "--dir", str(tmp_path), "--since", "2026-01-31")
    finally:
        listener.close()
    assert code == 0, err
    assert made == ["order-dev"]
    assert err.startswith("published 1 event(s)")


def test_replay_still_says_when_the_bus_emulator_is_not_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FOODDELIVERY_MODE", "emulator")
    monkeypatch.setenv("FOODDELIVERY_PROJECT_ORDER", "order-dev")
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    code, _, err = replay(capsys, "--dir", str(tmp_path), "--since", "2026-01-31")
    assert code == 2
    assert err.startswith(
        "fooddelivery lake replay: cannot reach order's bus: PUBSUB_EMULATOR_HOST is not set"
    )
