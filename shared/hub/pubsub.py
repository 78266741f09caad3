"""Google Pub/Sub adapters of the hub: a batching publisher and a streaming-pull worker.

This module and :mod:`shared.hub.provision` are the only ones that import the
Pub/Sub client library. Clients honour ``PUBSUB_EMULATOR_HOST``, so the same
code talks to the emulator locally and to Pub/Sub on GCP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC
from types import TracebackType
from typing import TYPE_CHECKING, Any

from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]

from shared.exceptions import PublishError
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message

if TYPE_CHECKING:
    from shared.topology.model import Topic

_LOG = logging.getLogger(__name__)

PUBLISH_KEYWORDS = frozenset({"topic", "data", "ordering_key", "retry", "timeout"})
"""Names the client's ``publish(topic, data, ordering_key, retry, timeout, **attrs)``
takes for itself: attributes with these names cannot be sent through it."""


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

        Raise :class:`PublishError` naming the topic when any message fails.
        Ordering keys that failed are resumed, so a later call can use them.
        """
        path = self.topic_path(topic)
        for message in messages:
            clash = PUBLISH_KEYWORDS.intersection(message.attributes)
            if clash:
                raise PublishError(
                    f"cannot publish to {path}: attribute names {sorted(clash)} are reserved "
                    "by the Pub/Sub client"
                )
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


def to_kit_message(received: Any) -> Message:
    """Map a message from the subscriber client onto the kit's :class:`Message`."""
    published = received.publish_time
    publish_time = published.astimezone(UTC).isoformat().replace("+00:00", "Z") if published else ""
    return Message(
        data=bytes(received.data),
        attributes=dict(received.attributes),
        ordering_key=received.ordering_key or "",
        message_id=str(received.message_id),
        publish_time=publish_time,
        delivery_attempt=received.delivery_attempt or 1,
    )


class PubSubPullWorker:
    """Feed one subscription to ``handle`` through a streaming pull.

    For local runs and benchmarks (on GCP, push subscriptions deliver to the
    functions). ``handle`` returns ``True`` to acknowledge and ``False`` to
    nack (redeliver now, counting an attempt). An exception from ``handle`` is
    logged and nacks; it never stops the worker. The SDK calls ``handle`` from
    its own thread pool, so ``handle`` must be thread-safe.

    Ordering keys are kept only while every message is acknowledged: the client
    hands on a key's next message once the previous one is acked *or nacked*, so
    after a nack later messages of that key may run before the redelivery
    (Pub/Sub then redelivers them after it). Push subscriptions, which feed the
    functions, have one outstanding message per key.
    """

    def __init__(
        self,
        subscription_path: str,
        handle: Callable[[Message], bool],
        client: pubsub_v1.SubscriberClient | None = None,
        max_messages: int = 1000,
    ) -> None:
        self._subscription_path = subscription_path
        self._handle = handle
        self._owns_client = client is None
        self._client = client
        self._max_messages = max_messages
        self._future: Any = None

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop` while the stream is alive."""
        return self._future is not None and not self._future.done()

    def start(self) -> None:
        """Open the streaming pull; messages are handled on the client's threads."""
        if self._future is not None:
            raise RuntimeError(f"the worker on {self._subscription_path} is already started")
        if self._client is None:
            self._client = pubsub_v1.SubscriberClient()
        self._future = self._client.subscribe(
            self._subscription_path,
            self._on_message,
            flow_control=pubsub_v1.types.FlowControl(max_messages=self._max_messages),
        )
        self._future.add_done_callback(self._on_stream_done)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel the stream, wait for it to end, and close the client if this worker built it."""
        future, self._future = self._future, None
        if future is not None:
            future.cancel()
            try:
                future.result(timeout=timeout_s)
            except Exception as e:  # a cancelled stream may end with its last error
                _LOG.debug("stream on %s ended with %r", self._subscription_path, e)
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> PubSubPullWorker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _on_message(self, received: Any) -> None:
        try:
            ok = self._handle(to_kit_message(received))
        except Exception:
            _LOG.exception(
                "handler failed on message %s from %s; nacking",
                received.message_id,
                self._subscription_path,
            )
            ok = False
        if ok:
            received.ack()
        else:
            received.nack()

    def _on_stream_done(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            _LOG.error(
                "streaming pull on %s stopped: %r", self._subscription_path, future.exception()
            )


class PubSubBatchPuller:
    """Synchronous pulls from one subscription, acknowledged a whole batch at a time.

    For consumers that write in batches (a local event lake): :meth:`pull`
    returns up to ``max_messages`` messages with their ack ids, and
    :meth:`ack` / :meth:`nack` settle them once the batch is stored, so a crash
    between the two redelivers the batch instead of losing it.
    """

    def __init__(
        self,
        subscription_path: str,
        client: pubsub_v1.SubscriberClient | None = None,
        *,
        max_messages: int = 1000,
        timeout_s: float = 2.0,
    ) -> None:
        self._subscription_path = subscription_path
        self._owns_client = client is None
        self._client = client if client is not None else pubsub_v1.SubscriberClient()
        self._max_messages = max_messages
        self._timeout_s = timeout_s

    def pull(self) -> list[tuple[str, Message]]:
        """The next batch (possibly empty after ``timeout_s``) as (ack id, message) pairs."""
        from google.api_core import exceptions as api_exceptions

        try:
            response = self._client.pull(
                request={
                    "subscription": self._subscription_path,
                    "max_messages": self._max_messages,
                },
                timeout=self._timeout_s,
                retry=None,
            )
        except (api_exceptions.DeadlineExceeded, api_exceptions.ServiceUnavailable):
            return []
        return [(r.ack_id, _pulled(r)) for r in response.received_messages]

    def ack(self, ack_ids: Sequence[str]) -> None:
        """Acknowledge a stored batch."""
        if ack_ids:
            self._client.acknowledge(
                request={"subscription": self._subscription_path, "ack_ids": list(ack_ids)}
            )

    def nack(self, ack_ids: Sequence[str]) -> None:
        """Hand a batch back for redelivery now."""
        if ack_ids:
            self._client.modify_ack_deadline(
                request={
                    "subscription": self._subscription_path,
                    "ack_ids": list(ack_ids),
                    "ack_deadline_seconds": 0,
                }
            )

    def close(self) -> None:
        """Close the client if this puller built it."""
        if self._owns_client:
            self._client.close()


def _pulled(received: Any) -> Message:
    """A ``ReceivedMessage`` of a synchronous pull as the kit's :class:`Message`."""
    raw = received.message
    published = raw.publish_time
    publish_time = published.astimezone(UTC).isoformat().replace("+00:00", "Z") if published else ""
    return Message(
        data=bytes(raw.data),
        attributes=dict(raw.attributes),
        ordering_key=raw.ordering_key or "",
        message_id=str(raw.message_id),
        publish_time=publish_time,
        delivery_attempt=received.delivery_attempt or 1,
    )
