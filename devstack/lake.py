"""The event lake in emulator mode: a subsystem's ``bus`` written to the Storage emulator.

On GCP a Cloud Storage subscription writes each ``bus`` to the lake bucket with
no code. Locally a pull subscription (``lake-writer``) feeds this worker, which
writes each pulled batch with :class:`~shared.lake.gcs.GcsLake` (the same object
layout) and acknowledges it only once stored.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from shared.exceptions import LakeError

if TYPE_CHECKING:
    from shared.hub.message import Message
    from shared.hub.pubsub_pull import PubSubBatchPuller
    from shared.lake.base import AbstractLake

SUBSCRIPTION = "lake-writer"
INTERVAL_S = 5.0
"""Seconds between two pulls: each batch costs a pull, an upload and an acknowledgement
whatever its size, so fewer, larger batches (a Cloud Storage subscription waits minutes)."""
_log = logging.getLogger("fooddelivery.dev.lake")


def publish_ms(message: Message) -> int:
    """The message's publish time in epoch milliseconds (0 when unknown)."""
    if not message.publish_time:
        return 0
    return int(datetime.fromisoformat(message.publish_time).timestamp() * 1000)


class LakeWriter:
    """Pulls ``subsystem``'s bus in batches and appends them to ``lake``."""

    def __init__(
        self,
        subsystem: str,
        puller: PubSubBatchPuller,
        lake: AbstractLake,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self._subsystem, self._puller, self._lake = subsystem, puller, lake
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lake-writer", daemon=True)
        self.written = 0

    def start(self) -> None:
        """Start pulling."""
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the batch in hand."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._puller.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.write_batch()
            except Exception:
                _log.exception("lake writer of %s failed; retrying", self._subsystem)
            self._stop.wait(self._interval_s)

    def write_batch(self) -> int:
        """Pull one batch, store it, acknowledge it; returns how many messages it held."""
        batch = self._puller.pull()
        if not batch:
            return 0
        records = [(publish_ms(message), message.data) for _, message in batch]
        ack_ids = [ack_id for ack_id, _ in batch]
        try:
            self._lake.append(self._subsystem, "bus", records)
        except LakeError:
            self._puller.nack(ack_ids)
            raise
        self._puller.ack(ack_ids)
        self.written += len(batch)
        return len(batch)
