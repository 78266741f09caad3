""":class:`GcsLake` writes with a generation precondition, so two writers of one object race
safely: the loser finds the object there and compares it with its own.

The Storage emulator ignores ``ifGenerationMatch`` (it overwrites), so the race is played
here on a fake bucket that keeps Cloud Storage's rule: a write with ``if_generation_match=0``
fails with 412 Precondition Failed when the object exists.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from google.api_core.exceptions import NotFound, PreconditionFailed

from shared.exceptions import LakeError
from shared.lake.base import NAME_TRIES, encode_batches, object_names
from shared.lake.gcs import GcsLake
from tests.contracts.lake_contract import T0, event, records


class FakeBucket:
    """Objects by name; an upload waits at ``gate`` (when set) before it checks, so two
    writers can both find the object missing before either stores it."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.preconditions: list[object] = []
        self.gate: threading.Barrier | None = None
        self._lock = threading.Lock()

    def blob(self, name: str) -> FakeBlob:
        return FakeBlob(self, name)


class FakeBlob:
    def __init__(self, bucket: FakeBucket, name: str) -> None:
        self.bucket, self.name = bucket, name

    def upload_from_string(self, content: bytes, **options: Any) -> None:
        condition = options.get("if_generation_match")
        self.bucket.preconditions.append(condition)
        if self.bucket.gate is not None:
            self.bucket.gate.wait(5)
        with self.bucket._lock:
            if condition == 0 and self.name in self.bucket.objects:
                raise PreconditionFailed(f"{self.name} exists")
            self.bucket.objects[self.name] = content

    def download_as_bytes(self) -> bytes:
        with self.bucket._lock:
            if self.name not in self.bucket.objects:
                raise NotFound(self.name)
            return self.bucket.objects[self.name]


class FakeClient:
    def __init__(self) -> None:
        self.fake = FakeBucket()

    def bucket(self, name: str) -> FakeBucket:
        return self.fake


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


BATCH = records(event(T0 + 1, 1), event(T0 + 2, 2))
[(NAME, CONTENT)] = encode_batches("order", "bus", BATCH)


def test_uploads_only_where_no_object_is(client: FakeClient) -> None:
    GcsLake("lake", client=client).append("order", "bus", BATCH)  # type: ignore[arg-type]
    assert client.fake.objects == {NAME: CONTENT}
    assert client.fake.preconditions == [0]


def test_two_writers_of_the_same_records_at_once_both_succeed(client: FakeClient) -> None:
    client.fake.gate = threading.Barrier(2)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            GcsLake("lake", client=client).append("order", "bus", BATCH)  # type: ignore[arg-type]
        except BaseException as error:
            errors.append(error)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(10)
    assert not [w for w in writers if w.is_alive()], "a writer never finished"
    assert errors == []
    assert client.fake.objects == {NAME: CONTENT}


def test_other_content_under_the_name_is_left_as_it_is_and_the_records_take_the_next_name(
    client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    # It was a LakeError on every try: the dev lake writer nacked and retried for ever.
    client.fake.objects[NAME] = b"someone else's\n"
    lake = GcsLake("lake", client=client)  # type: ignore[arg-type]
    lake.append("order", "bus", BATCH)
    lake.append("order", "bus", BATCH)  # a retry finds its object under the same name

    moved = NAME.removesuffix(".jsonl") + "-2.jsonl"
    assert client.fake.objects == {NAME: b"someone else's\n", moved: CONTENT}
    assert f"gs://lake/{NAME} holds different content" in caplog.text
    assert f"stored them as {moved} instead" in caplog.text


def test_other_content_under_every_name_is_an_error_and_left_as_it_is(client: FakeClient) -> None:
    names = list(object_names(NAME))
    for name in names:
        client.fake.objects[name] = b"someone else's\n"
    with pytest.raises(LakeError) as raised:
        GcsLake("lake", client=client).append("order", "bus", BATCH)  # type: ignore[arg-type]
    assert f"gs://lake/{NAME} and its {NAME_TRIES - 1} other names" in str(raised.value)
    assert "different content" in str(raised.value)
    assert len(names) == NAME_TRIES
    assert client.fake.objects == dict.fromkeys(names, b"someone else's\n")
