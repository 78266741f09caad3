"""The event lake port: every bus message kept for good, replayable.

Objects share one layout across backends, the same one the GCP Cloud Storage
subscription writes (``filename_prefix`` = ``{subsystem}/{topic}/``)::

    {subsystem}/{topic}/{YYYY}/{MM}/{DD}/{hh}/{batch}.jsonl

Each line of an object is one message's data (the envelope JSON) as published,
followed by ``\n``. Batch names sort in time order: ``{first_ms:013d}-{id}.jsonl``
where ``first_ms`` is the earliest publish time in the object, so listing an
hour folder by name lists its objects oldest first.

The newline rule: a line must never hold more than one message. Envelope JSON
(:meth:`Envelope.to_bytes`) never contains a raw ``\n`` or ``\r``, so it is
stored verbatim. Any other data that contains ``\n`` or ``\r``, or that starts
with the escape prefix ``{"base64":"``, is stored as the JSON line
``{"base64":"<standard base64 of the data>"}``; :meth:`AbstractLake.read_object`
turns such a line back into the original bytes, so every record round-trips
exactly. (Objects written by the Cloud Storage subscription itself are not
escaped; their lines are returned as they are.)
"""

from __future__ import annotations

import base64
import binascii
import functools
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from shared.envelope import Envelope


_HOUR_MS = 3_600_000


def hour_prefix(subsystem: str, topic: str, timestamp_ms: int) -> str:
    """The folder of the hour that holds a message published at ``timestamp_ms``."""
    return _hour_folder(subsystem, topic, timestamp_ms // _HOUR_MS)


@functools.lru_cache(maxsize=256)
def _hour_folder(subsystem: str, topic: str, hour: int) -> str:
    """The folder of the ``hour``-th hour since the epoch: formatted once per topic and hour
    while they are recent, as a burst of records shares a few."""
    t = datetime.fromtimestamp(hour * 3600, tz=UTC)
    return f"{subsystem}/{topic}/{t:%Y/%m/%d/%H}/"


_ESCAPE_PREFIX = b'{"base64":"'
_ESCAPE_SUFFIX = b'"}'


def topic_prefix(subsystem: str, topic: str) -> str:
    """The folder ``{subsystem}/{topic}/``; raise ``ValueError`` for an unusable name."""
    for value in (subsystem, topic):
        if not value or "/" in value or value in {".", ".."}:
            raise ValueError(f"{value!r} is not a valid lake folder name")
    return f"{subsystem}/{topic}/"


def encode_line(data: bytes) -> bytes:
    """One record as one line (without its ``\\n``), escaped by the newline rule."""
    if b"\n" in data or b"\r" in data or data.startswith(_ESCAPE_PREFIX):
        return _ESCAPE_PREFIX + base64.b64encode(data) + _ESCAPE_SUFFIX
    return data


def decode_line(line: bytes) -> bytes:
    """The record a line holds: the inverse of :func:`encode_line`."""
    if line.startswith(_ESCAPE_PREFIX) and line.endswith(_ESCAPE_SUFFIX):
        try:
            return base64.b64decode(line[len(_ESCAPE_PREFIX) : -len(_ESCAPE_SUFFIX)], validate=True)
        except binascii.Error:
            return line
    return line


def decode_object(content: bytes) -> Iterator[bytes]:
    """The records of an object's content, one per line (a last line may lack ``\\n``)."""
    if not content:
        return
    lines = content.split(b"\n")
    if content.endswith(b"\n"):
        lines.pop()
    for line in lines:
        yield decode_line(line)


def encode_batches(
    subsystem: str, topic: str, records: Sequence[tuple[int, bytes]]
) -> list[tuple[str, bytes]]:
    """Group ``records`` into one object per hour: ``(object name, content)`` pairs.

    Within an object records are sorted by publish time; ties keep their given order.
    """
    topic_prefix(subsystem, topic)
    hours: dict[str, list[tuple[int, bytes]]] = {}
    for publish_ms, data in records:
        if publish_ms < 0:
            raise ValueError(f"publish time {publish_ms} is before the epoch")
        hours.setdefault(hour_prefix(subsystem, topic, publish_ms), []).append((publish_ms, data))
    batches = []
    for folder, items in sorted(hours.items()):
        items.sort(key=lambda item: item[0])
        name = f"{folder}{items[0][0]:013d}-{uuid.uuid4().hex[:12]}.jsonl"
        batches.append((name, b"".join(encode_line(data) + b"\n" for _, data in items)))
    return batches


class AbstractLake(ABC):
    """Append-only storage of raw message data, read back in time order."""

    @abstractmethod
    def append(self, subsystem: str, topic: str, records: Sequence[tuple[int, bytes]]) -> None:
        """Keep ``records`` (publish time in epoch ms, message data) in the lake."""

    @abstractmethod
    def objects(
        self,
        subsystem: str,
        topic: str = "bus",
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> list[str]:
        """Object names under ``{subsystem}/{topic}/``, in layout (time) order.

        With ``since_ms`` and/or ``until_ms``, only the objects of the hour folders
        that overlap ``[since_ms, until_ms)``, found without listing the other
        folders (:func:`shared.lake.window.folders_in_window`). A folder is the hour
        a record was *stored* in, which may differ from its envelope's timestamp:
        a reader filtering on event time widens the window by the lag it allows.
        """

    @abstractmethod
    def read_object(self, name: str) -> Iterator[bytes]:
        """The records of one object, one per line, unescaped by the newline rule."""

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Write out anything buffered."""

    def replay(
        self, subsystem: str, topic: str = "bus", *, since_ms: int = 0, until_ms: int | None = None
    ) -> Iterator[Envelope]:
        """Stream the events kept for ``subsystem``, oldest object first.

        Lines that are not valid envelopes are skipped here; they remain in the
        lake for inspection.
        """
        from shared.envelope import Envelope
        from shared.exceptions import EnvelopeError

        for name in self.objects(subsystem, topic):
            for line in self.read_object(name):
                try:
                    event = Envelope.from_bytes(line)
                except EnvelopeError:
                    continue
                if event.timestamp >= since_ms and (until_ms is None or event.timestamp < until_ms):
                    yield event
