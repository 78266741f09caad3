"""Where each emulator keeps the owner records of :mod:`devstack.emulator_owner`.

A record is created only where it does not exist, which each emulator does atomically:
on Pub/Sub a topic ``owner-<generation>`` labelled with the owner; on Firestore a
document ``owners/<generation>``; on Storage a bucket ``devstack-owner-<generation>``
(the emulator takes no labels when it creates a bucket, and ignores
``ifGenerationMatch``: the owner goes into an object of the bucket just after, and a
record without it is one being written). All of them live in the project
:data:`PROJECT`, which no subsystem uses.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any, Protocol

from shared import emulators as emu

PROJECT = "devstack"
"""The project of the records."""
CALL_TIMEOUT_S = 10.0
"""How long one call may take; it is made once (the emulator answered already, and one that
stopped meanwhile must not hold up the stack's stop)."""
Labels = Mapping[str, str]


class Records(Protocol):
    """The owner records of one emulator, by generation."""

    emulator: str
    """The emulator's name, as messages give it (``Pub/Sub``)."""

    def read(self) -> dict[int, Labels | None]:
        """Every record's labels by generation (``None``: labels not written yet)."""
        ...

    def create(self, generation: int, labels: Labels) -> bool:
        """Create the record ``generation``; ``False`` when it exists already."""
        ...

    def delete(self, generation: int) -> None:
        """Delete the record ``generation`` if it exists."""
        ...

    def close(self) -> None:
        """Let the emulator's client go."""
        ...


def records_of(running: emu.RunningEmulator) -> Records:
    """The records of an emulator of the stack (its ``*_EMULATOR_HOST`` set)."""
    if running.spec is emu.PUBSUB:
        return PubSubRecords()
    if running.spec is emu.FIRESTORE:
        return FirestoreRecords()
    return StorageRecords(running.url)


class PubSubRecords:
    """Topics ``owner-<generation>`` labelled with the owner."""

    emulator = "Pub/Sub"

    def __init__(self, publisher: Any = None) -> None:
        from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]

        self._own = publisher is None
        self.publisher = pubsub_v1.PublisherClient() if publisher is None else publisher

    def read(self) -> dict[int, Labels | None]:
        request = {"project": f"projects/{PROJECT}"}
        found: dict[int, Labels | None] = {}
        for topic in self.publisher.list_topics(
            request=request, timeout=CALL_TIMEOUT_S, retry=None
        ):
            generation = _generation(topic.name.rsplit("/", 1)[-1], "owner-")
            if generation is not None:
                found[generation] = dict(topic.labels)
        return found

    def create(self, generation: int, labels: Labels) -> bool:
        from google.api_core import exceptions

        request = {"name": self._topic(generation), "labels": dict(labels)}
        try:
            self.publisher.create_topic(request=request, timeout=CALL_TIMEOUT_S, retry=None)
        except exceptions.AlreadyExists:
            return False
        return True

    def delete(self, generation: int) -> None:
        from google.api_core import exceptions

        with contextlib.suppress(exceptions.NotFound):
            request = {"topic": self._topic(generation)}
            self.publisher.delete_topic(request=request, timeout=CALL_TIMEOUT_S, retry=None)

    def close(self) -> None:
        if self._own:
            self.publisher.transport.close()

    @staticmethod
    def _topic(generation: int) -> str:
        return f"projects/{PROJECT}/topics/owner-{generation}"


class FirestoreRecords:
    """Documents ``owners/<generation>`` holding the owner's labels."""

    emulator = "Firestore"

    def __init__(self) -> None:
        from google.cloud import firestore  # type: ignore[attr-defined, unused-ignore]

        self._client: Any = firestore.Client(project=PROJECT)
        self._owners = self._client.collection("owners")

    def read(self) -> dict[int, Labels | None]:
        found: dict[int, Labels | None] = {}
        for document in self._owners.stream(timeout=CALL_TIMEOUT_S, retry=None):
            generation = _generation(document.id, "")
            if generation is not None:
                found[generation] = {k: str(v) for k, v in (document.to_dict() or {}).items()}
        return found

    def create(self, generation: int, labels: Labels) -> bool:
        from google.api_core import exceptions

        try:
            self._owners.document(str(generation)).create(
                dict(labels), timeout=CALL_TIMEOUT_S, retry=None
            )
        except exceptions.Conflict:
            return False
        return True

    def delete(self, generation: int) -> None:
        self._owners.document(str(generation)).delete(timeout=CALL_TIMEOUT_S, retry=None)

    def close(self) -> None:
        self._client.close()


class StorageRecords:
    """Buckets ``devstack-owner-<generation>`` whose object ``owner.json`` holds the labels."""

    emulator = "Storage"
    PREFIX = "devstack-owner-"
    OBJECT = "owner.json"

    def __init__(self, url: str) -> None:
        from google.cloud import storage  # type: ignore[import-untyped, unused-ignore]

        self._client = storage.Client(project=PROJECT, client_options={"api_endpoint": url})

    def read(self) -> dict[int, Labels | None]:
        from google.api_core import exceptions

        found: dict[int, Labels | None] = {}
        for bucket in self._client.list_buckets(timeout=CALL_TIMEOUT_S, retry=None):
            generation = _generation(bucket.name, self.PREFIX)
            if generation is None:
                continue
            try:
                text = bucket.blob(self.OBJECT).download_as_text(timeout=CALL_TIMEOUT_S, retry=None)
            except exceptions.NotFound:
                found[generation] = None
            else:
                found[generation] = {k: str(v) for k, v in json.loads(text).items()}
        return found

    def create(self, generation: int, labels: Labels) -> bool:
        from google.api_core import exceptions

        try:
            bucket = self._client.create_bucket(
                self.PREFIX + str(generation), timeout=CALL_TIMEOUT_S, retry=None
            )
        except exceptions.Conflict:
            return False
        try:
            bucket.blob(self.OBJECT).upload_from_string(
                json.dumps(dict(labels)), timeout=CALL_TIMEOUT_S, retry=None
            )
        except BaseException:  # a record left without its owner would block the emulator
            with contextlib.suppress(Exception):
                bucket.delete(force=True, timeout=CALL_TIMEOUT_S, retry=None)
            raise
        return True

    def delete(self, generation: int) -> None:
        from google.api_core import exceptions

        with contextlib.suppress(exceptions.NotFound):
            bucket = self._client.bucket(self.PREFIX + str(generation))
            bucket.delete(force=True, timeout=CALL_TIMEOUT_S, retry=None)

    def close(self) -> None:
        self._client.close()


def _generation(name: str, prefix: str) -> int | None:
    """The generation a record's name gives, ``None`` for names of other things."""
    rest = name.removeprefix(prefix) if name.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None
