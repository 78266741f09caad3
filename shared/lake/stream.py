"""A window of a lake read as a stream, oldest first, in bounded memory.

:func:`replay_objects` lists the objects of a storage window one hour folder at a
time as they are read, except the folders the reader's own writes may land in,
which it lists at once: a replay that publishes the events it reads (stored
again by the lake writer) never reads them back.

:func:`ordered_events` puts the events of those objects in timestamp order with
a bounded buffer. Objects come by the hour folder they were *stored* in, and an
event is stored at most ``max_lag_ms`` after it happened (the reader's
assumption, ``--max-lag``): so once the objects of a folder starting at ``S``
are reached, no event older than ``S - max_lag_ms`` is still to come, and the
buffered events older than that are given out, oldest first. The buffer holds
the events of about ``max_lag_ms`` plus two hours of folders, whatever the
window's length. An event stored later than that (a backlog) is given out with
the next ones given out, behind newer events given out before it.

An event id is kept once while its copies are stored within ``max_lag_ms`` of
each other (Pub/Sub's redeliveries, seconds apart): the ids given out are kept
for ``max_lag_ms`` beyond the buffer, not for the whole window, so a copy stored
later than that is given out again, with its id unchanged.
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING

from shared.lake.base import STORED_EARLY_MS, topic_prefix
from shared.lake.window import LEVELS, folder_span

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from shared.envelope import Envelope
    from shared.lake.base import AbstractLake, SkipNotes

HOUR_MS = 3_600_000


def replay_objects(
    lake: AbstractLake,
    subsystem: str,
    topic: str,
    *,
    since_ms: int | None,
    until_ms: int | None,
    now_ms: int,
) -> Iterator[str]:
    """The objects of the storage window ``[since_ms, until_ms)``, oldest first
    (:meth:`AbstractLake.objects_oldest_first`).

    The hour folders from :data:`STORED_EARLY_MS` before ``now_ms`` on, where the
    reader's own writes may be stored, are listed before this returns; older ones
    are listed one at a time, when their first object is asked for.
    """
    settled = (now_ms - STORED_EARLY_MS) // HOUR_MS * HOUR_MS
    listed_late = until_ms is None or until_ms > settled
    late = (
        list(
            lake.objects_oldest_first(
                subsystem,
                topic,
                since_ms=settled if since_ms is None else max(since_ms, settled),
                until_ms=until_ms,
            )
        )
        if listed_late
        else []
    )
    early_end = settled if until_ms is None else min(until_ms, settled)
    if since_ms is not None and since_ms >= early_end:
        return iter(late)
    early = lake.objects_oldest_first(subsystem, topic, since_ms=since_ms, until_ms=early_end)
    return itertools.chain(early, late)


def folder_start(subsystem: str, topic: str, name: str) -> int | None:
    """Epoch ms at which the hour folder of object ``name`` starts (None: no layout name)."""
    parts = name.removeprefix(topic_prefix(subsystem, topic)).split("/")
    span = folder_span(parts[:LEVELS]) if len(parts) == LEVELS + 1 else None
    return None if span is None else span[0]


class OrderedEvents:
    """The ``chosen`` events of objects ``names`` (oldest hour folder first), each id once,
    given out in chunks in timestamp order (ties in the order read) as far as the buffer
    allows (see the module's docstring). Objects skipped are noted in ``notes``."""

    def __init__(
        self,
        lake: AbstractLake,
        subsystem: str,
        topic: str,
        names: Iterable[str],
        notes: SkipNotes,
        *,
        chosen: Callable[[Envelope], bool],
        max_lag_ms: int,
    ) -> None:
        self._lake, self._subsystem, self._topic = lake, subsystem, topic
        self._names, self._notes = names, notes
        self._chosen, self._max_lag_ms = chosen, max_lag_ms
        self._buffer: list[tuple[int, int, Envelope]] = []
        self._buffered: set[str] = set()
        self._given: list[tuple[int, str]] = []
        self._given_ids: set[str] = set()
        self._order = itertools.count()
        self._threshold: int | None = None

    def chunks(self) -> Iterator[list[Envelope]]:
        """The events, in chunks of those that no object still to be read precedes."""
        for name in self._names:
            start = folder_start(self._subsystem, self._topic, name)
            if start is not None:
                self._threshold = start - self._max_lag_ms
                ready = self._release(self._threshold)
                while self._given and self._given[0][0] < self._threshold - self._max_lag_ms:
                    self._given_ids.discard(heapq.heappop(self._given)[1])
                if ready:
                    yield ready
            for event in self._lake.read_envelopes(name, self._notes):
                if event.id in self._buffered or event.id in self._given_ids:
                    continue
                if self._chosen(event):
                    self._buffered.add(event.id)
                    heapq.heappush(self._buffer, (event.timestamp, next(self._order), event))
        self._threshold = None
        rest = self._release(None)
        if rest:
            yield rest

    def pending_since(self) -> int | None:
        """The earliest time an event not yet given out may have, as far as the lake tells
        (an event stored later than ``max_lag_ms`` may be older): the oldest buffered one,
        or the earliest an event of the hour folder being read happened. None: none left."""
        times = [self._buffer[0][0]] if self._buffer else []
        if self._threshold is not None:
            times.append(self._threshold)
        return min(times) if times else None

    def _release(self, before: int | None) -> list[Envelope]:
        out = []
        while self._buffer and (before is None or self._buffer[0][0] < before):
            _, _, event = heapq.heappop(self._buffer)
            self._buffered.discard(event.id)
            self._given_ids.add(event.id)
            heapq.heappush(self._given, (event.timestamp, event.id))
            out.append(event)
        return out
