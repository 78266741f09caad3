"""The event lake port: every bus message kept for good, replayable.

Objects share one layout across backends, the same one the GCP Cloud Storage
subscription writes (``filename_prefix`` = ``{subsystem}/{topic}/``)::

    {subsystem}/{topic}/{YYYY}/{MM}/{DD}/{hh}/{batch}.jsonl

Each line of an object is one message's data (the envelope JSON) as published.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.envelope import Envelope


def hour_prefix(subsystem: str, topic: str, timestamp_ms: int) -> str:
    """The folder of the hour that holds a message published at ``timestamp_ms``."""
    t = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return f"{subsystem}/{topic}/{t:%Y/%m/%d/%H}/"


class AbstractLake(ABC):
    """Append-only storage of raw message data, read back in time order."""

    @abstractmethod
    def append(self, subsystem: str, topic: str, records: Sequence[tuple[int, bytes]]) -> None:
        """Keep ``records`` (publish time in epoch ms, message data) in the lake."""

    @abstractmethod
    def objects(self, subsystem: str, topic: str = "bus") -> list[str]:
        """Object names under ``{subsystem}/{topic}/``, in layout (time) order."""

    @abstractmethod
    def read_object(self, name: str) -> Iterator[bytes]:
        """The lines of one object."""

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
