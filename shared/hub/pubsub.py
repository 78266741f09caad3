"""The Google Pub/Sub publisher of the hub: batching, ordered per key, bounded in time.

This module, :mod:`shared.hub.pubsub_pull` and :mod:`shared.hub.provision` are
the only ones that import the Pub/Sub client library. Clients honour
``PUBSUB_EMULATOR_HOST``, so the same code talks to the emulator locally and
to Pub/Sub on GCP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]

from shared.envelope import CLIENT_KEYWORDS
from shared.exceptions import PublishError
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message, check_publishable

if TYPE_CHECKING:
    from shared.topology.model import Topic

_LOG = logging.getLogger(__name__)

PUBLISH_KEYWORDS = CLIENT_KEYWORDS
"""Attribute names the client cannot send (checked on every envelope and message, too)."""


def publisher_client() -> pubsub_v1.PublisherClient:
    """A publisher client tuned for throughput, with message ordering enabled.

    Batches close at 1,000 messages, 4 MB or 5 ms, whichever comes first: a
    caller of :meth:`PubSubPublisher.publish` waits at most one batch latency
    after its last message.
    """
    return pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(
            max_messages=1000, max_bytes=4_000_000, max_latency=0.005
        ),
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
    )


class PubSubPublisher(AbstractPublisher):
    """Publishes to one project's topics (``projects/{project}/topics/{topic}``).

    Messages go out concurrently through the client's batches; :meth:`publish`
    then waits for every one (up to ``timeout_s`` in all) so it never returns
    before the broker has accepted the whole sequence.

    ``timeout_s`` bounds the wait, not the client's retries: with message ordering
    enabled the client retries a batch without a deadline (it overrides any retry
    deadline it is given), until the broker takes or refuses it, or :meth:`close` closes a
    client this publisher built. A message of a call that raised
    :class:`PublishError` may so land later (see :class:`AbstractPublisher`).
    """

    def __init__(
        self,
        project: str,
        client: pubsub_v1.PublisherClient | None = None,
        *,
        timeout_s: float = 60.0,
    ) -> None:
        self._project = project
        self._owns_client = client is None
        self._client = client if client is not None else publisher_client()
        self._timeout_s = timeout_s
        self._closed = False

    def topic_path(self, topic: Topic) -> str:
        """The full resource name of ``topic`` in this publisher's project."""
        return f"projects/{self._project}/topics/{topic.value}"

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        """Publish ``messages`` to ``topic`` and return their ids, in order.

        Raise :class:`PublishError` naming the topic when any message fails, before
        sending any when one is a message Pub/Sub refuses (:func:`check_publishable`).
        Ordering keys that failed are resumed, so a later call can use them.
        """
        path = self.topic_path(topic)
        check_publishable(messages, path)  # the emulator would take some of them
        pending = [(message, self._submit(path, message)) for message in messages]
        deadline = time.monotonic() + self._timeout_s
        ids: list[str] = []
        failures: list[tuple[Message, BaseException]] = []
        for message, future in pending:
            try:
                ids.append(str(future.result(timeout=max(0.0, deadline - time.monotonic()))))
            except Exception as e:
                failures.append((message, e))
        if not failures:
            return ids
        for key in sorted({m.ordering_key for m, _ in failures if m.ordering_key}):
            self._resume(path, key)
        error = failures[0][1]
        detail = (
            f"no answer within {self._timeout_s} s" if isinstance(error, TimeoutError) else error
        )
        raise PublishError(
            f"publishing to {path} failed for {len(failures)} of {len(messages)} messages: "
            f"{type(error).__name__}: {detail}"
        ) from error

    def close(self) -> None:
        """Stop the client's batching (flushing what is queued); idempotent.

        A client this publisher built also has its channel closed, which ends
        the SDK's retries of a batch that timed out (its thread logs the error).
        """
        if self._closed:
            return
        self._closed = True
        self._client.stop()
        if self._owns_client:
            self._client.transport.close()

    def _submit(self, path: str, message: Message) -> Future[Any]:
        try:
            future: Future[Any] = self._client.publish(
                path, message.data, ordering_key=message.ordering_key, **message.attributes
            )
        except Exception as e:  # e.g. a stopped client: fail like a rejected publish
            future = Future()
            future.set_exception(e)
        return future

    def _resume(self, path: str, ordering_key: str) -> None:
        try:
            self._client.resume_publish(path, ordering_key)
        except (RuntimeError, ValueError) as e:  # not paused (a timeout), stopped, unordered
            _LOG.debug("cannot resume ordering key %r on %s: %s", ordering_key, path, e)
