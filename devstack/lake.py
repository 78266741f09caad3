"""The event lake in emulator mode: a subsystem's ``bus`` written to the Storage emulator.

On GCP a Cloud Storage subscription writes each ``bus`` to the lake bucket with
no code. Locally a pull subscription (``lake-writer``) feeds this worker, which
writes each batch with :class:`~shared.lake.gcs.GcsLake` (the same object layout)
and acknowledges it only once stored. A batch is what the subscription holds: the
emulator hands out at most 100 messages a pull, so the worker pulls again at once
while messages come, up to :data:`MAX_BATCH` or :data:`FILL_S` a batch, and waits
:data:`INTERVAL_S` only once a pull came back empty.

A batch the lake cannot store is handed back, to be delivered again, unless it never can
be: when every name its object may take holds another object
(:class:`~shared.lake.base.NamesTaken`), each message the lake could not store becomes a
fault of ``{subsystem}/kit/lake-writer`` on the subsystem's ``faults`` topic, kept whole
for ``fooddelivery faults resubmit`` once those objects are moved away, and the batch is
acknowledged (the rest of it is stored).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING

from shared.clock import SystemClock
from shared.lake.base import NamesTaken
from shared.lake.faults import WRITER, unstored_faults, writer_function
from shared.topology.model import Topic

if TYPE_CHECKING:
    from shared.hub.base import AbstractPublisher
    from shared.hub.message import Message
    from shared.hub.pubsub_pull import PubSubBatchPuller
    from shared.lake.base import AbstractLake

SUBSCRIPTION = WRITER
INTERVAL_S = 5.0
"""Seconds between two batches once caught up: each batch costs an upload and an
acknowledgement whatever its size, so fewer, larger batches (a Cloud Storage subscription
waits minutes)."""
MAX_BATCH = 1000
"""Messages after which a batch takes no more pulls; a batch ended that way, or by
:data:`FILL_S`, is followed by the next one at once."""
FILL_S = 1.0
"""Seconds at most spent pulling one batch, so a steady trickle is stored well within the
subscription's acknowledgement deadline (60 s)."""
_log = logging.getLogger("fooddelivery.dev.lake")


def publish_ms(message: Message, stored_ms: int) -> int:
    """The message's publish time in epoch milliseconds; ``stored_ms``, the time it is
    stored, for a message without one (its folder then is its storage hour, as for every
    record, rather than 1970's)."""
    if not message.publish_time:
        return stored_ms
    return int(datetime.fromisoformat(message.publish_time).timestamp() * 1000)


class LakeWriter:
    """Pulls ``subsystem``'s bus in batches and appends them to ``lake``; ``faults`` publishes
    the faults of messages it can never store (without it, they are handed back)."""

    def __init__(
        self,
        subsystem: str,
        puller: PubSubBatchPuller,
        lake: AbstractLake,
        interval_s: float = INTERVAL_S,
        max_batch: int = MAX_BATCH,
        fill_s: float = FILL_S,
        *,
        faults: AbstractPublisher | None = None,
        env: str = "local",
    ) -> None:
        self._subsystem, self._puller, self._lake = subsystem, puller, lake
        self._faults, self._env = faults, env
        self.function = writer_function(subsystem)
        """What its faults name as the function that refused their messages."""
        self._interval_s, self._max_batch, self._fill_s = interval_s, max_batch, fill_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lake-writer", daemon=True)
        self.written = 0
        self._caught_up = True
        """Whether the last batch ended on an empty pull: else more are waiting."""

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
                if not self._caught_up:
                    continue  # a backlog: the next batch is waiting
            except Exception:
                _log.exception("lake writer of %s failed; retrying", self._subsystem)
            self._stop.wait(self._interval_s)

    def write_batch(self) -> int:
        """Pull one batch (pulls until one comes back empty, the batch holds ``max_batch``
        messages or ``fill_s`` have passed), store it, acknowledge it; returns how many
        messages it held."""
        self._caught_up = False
        batch = self._puller.pull()
        filled_by = time.monotonic() + self._fill_s
        while batch and len(batch) < self._max_batch and time.monotonic() < filled_by:
            more = self._puller.pull()
            if not more:
                self._caught_up = True
                break
            batch += more
        if not batch:
            self._caught_up = True
            return 0
        stored_ms = int(time.time() * 1000)
        records = [(publish_ms(message, stored_ms), message.data) for _, message in batch]
        ack_ids = [ack_id for ack_id, _ in batch]
        faulted = 0
        try:
            try:
                self._lake.append(self._subsystem, "bus", records)
            except NamesTaken as taken:
                faulted = self._record_faults(batch, records, taken)
        except Exception:
            self._puller.nack(ack_ids)
            raise
        self._puller.ack(ack_ids)
        self.written += len(batch) - faulted
        return len(batch)

    def _record_faults(
        self,
        batch: list[tuple[str, Message]],
        records: list[tuple[int, bytes]],
        taken: NamesTaken,
    ) -> int:
        """Publish a fault for each message of ``batch`` whose record (``records``, in the same
        order) the lake could not store; how many. Raises ``taken`` without a publisher."""
        if self._faults is None:
            raise taken
        faults = unstored_faults(
            self._subsystem,
            list(zip(records, (m for _, m in batch), strict=True)),
            taken,
            SystemClock(),
            self._env,
        )
        self._faults.publish(Topic.FAULTS, faults)
        _log.error(
            "lake writer of %s: %d message(s) recorded as faults (fooddelivery faults list %s), "
            "not stored: %s",
            self._subsystem,
            len(faults),
            self._subsystem,
            taken,
        )
        return len(faults)
