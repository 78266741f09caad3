""":class:`GcsLake` writes with a generation precondition, so two writers of one object race
safely: the loser finds the object there and compares it with its own.

The Storage emulator ignores ``ifGenerationMatch`` (it overwrites), so the race is played
here on a fake bucket that keeps Cloud Storage's rule: a write with ``if_generation_match=0``
fails with 412 Precondition Failed when the object exists.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import Any

import google_crc32c
import pytest
from google.api_core.exceptions import NotFound, PreconditionFailed

from shared.exceptions import LakeError, PoisonError
from shared.lake.base import NAME_TRIES, NamesTaken, encode_batches, object_names
from shared.lake.gcs import GcsLake
from tests.contracts.lake_contract import T0, event, records


class FakeBucket:
    """Objects by name; an upload waits at ``gate`` (when set) before it checks, so two
    writers can both find the object missing before either stores it. ``composite`` objects
    have no MD5 in their metadata (as Cloud Storage's composed objects); ``downloads`` names
    each object downloaded; ``appearing`` objects are created by someone else just before an
    upload of their name checks; ``vanishing`` objects are deleted once an upload finds them;
    ``ignores_preconditions`` makes it overwrite as the Storage emulator does."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.preconditions: list[object] = []
        self.gate: threading.Barrier | None = None
        self.composite: set[str] = set()
        self.downloads: list[str] = []
        self.appearing: dict[str, bytes] = {}
        self.vanishing: set[str] = set()
        self.ignores_preconditions = False
        self._lock = threading.Lock()

    def blob(self, name: str) -> FakeBlob:
        return FakeBlob(self, name)

    def get_blob(self, name: str) -> FakeBlob | None:
        """The object's metadata, as Cloud Storage gives it (hashes in base64), or None."""
        with self._lock:
            content = self.objects.get(name)
        if content is None:
            return None
        blob = FakeBlob(self, name)
        blob.size = len(content)
        blob.crc32c = b64(google_crc32c.value(content).to_bytes(4, "big"))
        blob.md5_hash = None if name in self.composite else b64(hashlib.md5(content).digest())
        return blob


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


class FakeBlob:
    def __init__(self, bucket: FakeBucket, name: str) -> None:
        self.bucket, self.name = bucket, name
        self.size: int | None = None
        self.crc32c: str | None = None
        self.md5_hash: str | None = None

    def upload_from_string(self, content: bytes, **options: Any) -> None:
        condition = options.get("if_generation_match")
        self.bucket.preconditions.append(condition)
        if self.bucket.gate is not None:
            self.bucket.gate.wait(5)
        with self.bucket._lock:
            if self.name in self.bucket.appearing:
                self.bucket.objects[self.name] = self.bucket.appearing.pop(self.name)
            if (
                condition == 0
                and self.name in self.bucket.objects
                and not self.bucket.ignores_preconditions
            ):
                if self.name in self.bucket.vanishing:
                    del self.bucket.objects[self.name]
                raise PreconditionFailed(f"{self.name} exists")
            self.bucket.objects[self.name] = content

    def download_as_bytes(self) -> bytes:
        self.bucket.downloads.append(self.name)
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
    assert isinstance(raised.value, NamesTaken) and isinstance(raised.value, PoisonError)
    assert raised.value.names == tuple(names) and raised.value.records == tuple(BATCH)
    assert all(f"gs://lake/{name}" in str(raised.value) for name in names)


def test_a_retry_finding_its_own_object_tells_it_by_its_md5_without_downloading_it(
    client: FakeClient,
) -> None:
    # It was downloaded whole to be compared, on every redelivery of the batch.
    lake = GcsLake("lake", client=client)  # type: ignore[arg-type]
    lake.append("order", "bus", BATCH)
    lake.append("order", "bus", BATCH)

    assert client.fake.objects == {NAME: CONTENT}
    assert client.fake.downloads == []


@pytest.mark.parametrize(
    "foreign",
    [
        pytest.param(b"someone else's\n", id="another size"),
        pytest.param(bytes(len(CONTENT)), id="the same size"),
    ],
)
def test_a_foreign_object_is_told_by_its_metadata_without_downloading_it(
    client: FakeClient, foreign: bytes
) -> None:
    client.fake.objects[NAME] = foreign
    GcsLake("lake", client=client).append("order", "bus", BATCH)  # type: ignore[arg-type]

    assert client.fake.objects == {NAME: foreign, NAME.replace(".jsonl", "-2.jsonl"): CONTENT}
    assert client.fake.downloads == []


def test_a_composite_object_has_no_md5_its_crc32c_tells_a_foreign_one(client: FakeClient) -> None:
    client.fake.composite = {NAME}
    client.fake.objects[NAME] = bytes(len(CONTENT))
    GcsLake("lake", client=client).append("order", "bus", BATCH)  # type: ignore[arg-type]

    assert client.fake.objects[NAME.replace(".jsonl", "-2.jsonl")] == CONTENT
    assert client.fake.downloads == []


def test_a_composite_object_of_the_same_crc32c_is_compared_byte_for_byte(
    client: FakeClient,
) -> None:
    client.fake.composite = {NAME}
    client.fake.objects[NAME] = CONTENT  # composed of the lake's own object, say
    GcsLake("lake", client=client).append("order", "bus", BATCH)  # type: ignore[arg-type]

    assert client.fake.objects == {NAME: CONTENT}
    assert client.fake.downloads == [NAME]


def test_an_object_deleted_after_it_refused_the_upload_frees_its_name(client: FakeClient) -> None:
    client.fake.appearing[NAME] = b"someone else's\n"
    client.fake.vanishing = {NAME}
    GcsLake("lake", client=client).append("order", "bus", BATCH)  # type: ignore[arg-type]

    assert client.fake.objects == {NAME: CONTENT}


def test_where_preconditions_are_ignored_an_object_found_is_never_uploaded_over(
    client: FakeClient,
) -> None:
    # The Storage emulator ignores if_generation_match: a file copied there was overwritten.
    client.fake.ignores_preconditions = True
    client.fake.objects[NAME] = b"someone else's\n"
    GcsLake("lake", client=client).append("order", "bus", BATCH)  # type: ignore[arg-type]

    assert client.fake.objects[NAME] == b"someone else's\n"
    assert client.fake.objects[NAME.replace(".jsonl", "-2.jsonl")] == CONTENT
