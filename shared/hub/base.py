"""The publisher port: how producers put messages on a subsystem's topics."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.hub.message import Message
    from shared.topology.model import Topic


class AbstractPublisher(ABC):
    """Publishes messages to one subsystem's topics (``bus``, ``faults``, ``external``).

    ``publish`` returns only when every message is accepted by the broker, in
    order per ordering key, and raises :class:`~shared.exceptions.PublishError`
    otherwise: a caller never believes a message was sent when it was not.
    It returns the message ids the broker assigned.

    The converse does not hold: a message of a call that raised may still be
    published, later (on Pub/Sub the client goes on retrying a batch after the call
    gave up, and a request the broker took may have lost its answer). A caller that
    publishes again after a ``PublishError`` may so publish a message twice, as
    Pub/Sub may deliver one twice anyway: consumers dedupe by the envelope's id.
    """

    @abstractmethod
    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        """Publish ``messages`` to ``topic``; raise ``PublishError`` on failure."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources."""
