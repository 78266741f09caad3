"""Events read back from the lake, published on their subsystem's bus again.

This is how views are rebuilt from the lake (``fooddelivery lake replay``): the
chosen events go back on the ``bus`` they were carried by, through the publisher
port, oldest first, so every consumer of the bus receives them as it would a
redelivery. Each keeps its envelope, id and partition key (its ordering key)
unchanged: a consumer that processed an event already skips it, so a replay
changes nothing but what was lost (a view dropped or newly added). The lake
writer stores the events again; readers of the lake keep each id once. A view
that a database-first trigger watches runs that trigger again as it is rebuilt
(its documents are created anew), and what the trigger emits is new events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.exceptions import EnvelopeError, LakeError, PublishError
from shared.hub.message import check_publishable, to_message
from shared.topology.model import Topic

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shared.envelope import Envelope
    from shared.hub.base import AbstractPublisher
    from shared.hub.message import Message

BATCH = 100
"""Messages per publish call: each call returns only once the bus took them all."""


class RepublishError(LakeError):
    """The bus refused a batch: ``published`` events (the oldest) were published before."""

    def __init__(self, published: int, message: str) -> None:
        super().__init__(message)
        self.published = published


@dataclass
class Prepared:
    """The messages that carry the events to publish, and the events that cannot be
    published, each as ``(event id, why)``."""

    messages: list[Message] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def prepare(events: Sequence[Envelope], topic: str) -> Prepared:
    """The bus messages of ``events``, in their order; an event no bus would take (a tag
    named like an envelope attribute, a message over Pub/Sub's limits) is refused.
    ``topic`` is the bus's resource name (``projects/{project}/topics/bus``)."""
    prepared = Prepared()
    for event in events:
        try:
            message = to_message(event)
            check_publishable([message], topic)
        except (EnvelopeError, PublishError) as error:
            prepared.refused.append((event.id, " ".join(str(error).split())))
            continue
        prepared.messages.append(message)
    return prepared


def publish(
    publisher: AbstractPublisher, messages: Sequence[Message], batch: int | None = None
) -> int:
    """Publish ``messages`` on the bus in order, ``batch`` (:data:`BATCH`) at a time;
    returns how many.

    Raises :class:`RepublishError` when the bus refuses a batch, saying how many were
    published before it: publishing the same events again is harmless (ids unchanged).
    """
    size = BATCH if batch is None else batch
    done = 0
    for start in range(0, len(messages), size):
        chunk = messages[start : start + size]
        try:
            publisher.publish(Topic.BUS, chunk)
        except PublishError as error:
            raise RepublishError(
                done,
                f"the bus refused events {done + 1} to {done + len(chunk)} of "
                f"{len(messages)} ({' '.join(str(error).split())}); the {done} before "
                "them were published",
            ) from error
        done += len(chunk)
    return done


class Republisher:
    """Publishes events on the bus as they come, :data:`BATCH` at a time, holding no more
    than a batch: for a replay as long as the lake. Without a publisher (``--dry-run``) it
    only counts what it would publish."""

    def __init__(
        self, publisher: AbstractPublisher | None, topic: str, batch: int | None = None
    ) -> None:
        self._publisher, self._topic = publisher, topic
        self._batch = BATCH if batch is None else batch
        self._pending: list[tuple[int, Message]] = []
        self.published = 0
        """Events published so far (or that would be, without a publisher)."""
        self.refused = 0
        """Events no bus would take (:func:`prepare`)."""

    def queue(self, events: Sequence[Envelope]) -> list[tuple[str, str]]:
        """Queue ``events`` (in order); returns those no bus would take, as ``(event id,
        why)``, which are not queued."""
        refused = []
        for event in events:
            prepared = prepare([event], self._topic)
            refused += prepared.refused
            self._pending += [(event.timestamp, message) for message in prepared.messages]
        self.refused += len(refused)
        return refused

    def send(self, *, all_queued: bool = False) -> None:
        """Publish the queued events in full batches, and with ``all_queued`` the last one
        too. Raises :class:`RepublishError` when the bus refuses a batch, which stays queued
        (:meth:`pending_since`)."""
        while len(self._pending) >= self._batch or (all_queued and self._pending):
            self._send(self._batch)

    def pending_since(self) -> int | None:
        """The earliest time of a queued event not yet published (None: none queued)."""
        return min((at for at, _ in self._pending), default=None)

    def _send(self, size: int) -> None:
        chunk = [message for _, message in self._pending[:size]]
        if self._publisher is not None:
            try:
                self._publisher.publish(Topic.BUS, chunk)
            except PublishError as error:
                raise RepublishError(
                    self.published,
                    f"the bus refused a batch of {len(chunk)} event(s) "
                    f"({' '.join(str(error).split())})",
                ) from error
        del self._pending[:size]
        self.published += len(chunk)
