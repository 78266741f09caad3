"""Google Pub/Sub consumers of the hub: a streaming-pull worker and a batch puller.

For local runs, benchmarks and the local event lake; on GCP, push
subscriptions deliver to the functions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC
from types import TracebackType
from typing import Any

from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]

from shared.hub.limits import delivery_problems
from shared.hub.message import Message

_LOG = logging.getLogger(__name__)
DEFAULT_ACK_DEADLINE_S = 60
"""A channel's ack deadline unless it declares one (``Channel.ack_deadline_s``), and that of
:func:`~shared.hub.provision.provision_subscription`."""


def to_kit_message(raw: Any, delivery_attempt: int | None = None) -> Message:
    """Map a Pub/Sub message (a streaming pull's, or a ``ReceivedMessage``'s ``message``)
    onto the kit's :class:`Message`."""
    published = raw.publish_time
    publish_time = published.astimezone(UTC).isoformat().replace("+00:00", "Z") if published else ""
    attempt = delivery_attempt if delivery_attempt is not None else raw.delivery_attempt
    return Message(
        data=bytes(raw.data),
        attributes=dict(raw.attributes),
        ordering_key=raw.ordering_key or "",
        message_id=str(raw.message_id),
        publish_time=publish_time,
        delivery_attempt=attempt or 1,
    )


RESTART_BACKOFF_S = (1.0, 30.0)
"""The first and the longest wait before a worker opens its ended stream again (doubling
while the stream keeps ending within the longest wait of its start)."""


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

    A message is leased for ``ack_deadline_s``, the subscription's declared deadline
    (10 to 600 s, as Pub/Sub takes it): no ``modifyAckDeadline`` the client sends extends
    it further than that (it picks each from how long acknowledgements take, 10 s at
    least), and it stops extending once the message has been held that long, so a handler
    that hangs has its message delivered again within two deadlines, as a push request
    that timed out is after one, not after the client's default hour.

    A stream the client ends on an error it does not retry is opened again after a backoff
    (:data:`RESTART_BACKOFF_S`), once the handlers still running on it have returned (or
    their messages' deadline has passed): the messages it had not handled (nacked by the
    client) or could not acknowledge any more, Pub/Sub redelivers on the new stream, each
    key's in order. :meth:`outage` says
    since when and why the worker hears nothing.
    """

    def __init__(
        self,
        subscription_path: str,
        handle: Callable[[Message], bool],
        client: pubsub_v1.SubscriberClient | None = None,
        max_messages: int = 1000,
        *,
        ack_deadline_s: int = DEFAULT_ACK_DEADLINE_S,
    ) -> None:
        problems = delivery_problems(
            max_attempts=None, min_backoff_s=0, max_backoff_s=0, ack_deadline_s=ack_deadline_s
        )
        if problems:
            raise ValueError(f"cannot pull {subscription_path}: {'; '.join(problems)}")
        self._ack_deadline_s = ack_deadline_s
        self._subscription_path = subscription_path
        self._handle = handle
        self._owns_client = client is None
        self._client = client
        self._max_messages = max_messages
        self._future: Any = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._handling = 0
        self._stopping = threading.Event()
        self._opened_at = 0.0
        self._delay_s = RESTART_BACKOFF_S[0]
        self._down: tuple[float, str] | None = None
        self._restarter: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop` while the stream is alive."""
        return self._future is not None and not self._future.done()

    def outage(self) -> tuple[float, str] | None:
        """Since when (``time.monotonic()``) and why the stream is down (ended, not yet open
        again), or ``None``."""
        with self._lock:
            return self._down

    def start(self) -> None:
        """Open the streaming pull; messages are handled on the client's threads."""
        if self._future is not None:
            raise RuntimeError(f"the worker on {self._subscription_path} is already started")
        if self._client is None:
            self._client = pubsub_v1.SubscriberClient()
        self._stopping.clear()
        self._down, self._delay_s = None, RESTART_BACKOFF_S[0]
        self._open()

    def _open(self) -> None:
        assert self._client is not None
        future = self._client.subscribe(
            self._subscription_path,
            self._on_message,
            flow_control=pubsub_v1.types.FlowControl(
                max_messages=self._max_messages,
                max_lease_duration=self._ack_deadline_s,
                max_duration_per_lease_extension=self._ack_deadline_s,
            ),
        )
        with self._lock:
            self._future, self._opened_at = future, time.monotonic()
        future.add_done_callback(self._on_stream_done)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel the stream, wait for it to end, and close the client if this worker built it."""
        with self._idle:
            self._stopping.set()
            self._idle.notify_all()
        restarter = self._restarter
        if restarter is not None and restarter is not threading.current_thread():
            restarter.join(timeout_s)
        with self._lock:
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
        with self._lock:
            self._handling += 1
        try:
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
        finally:
            with self._idle:
                self._handling -= 1
                self._idle.notify_all()

    def _on_stream_done(self, future: Any) -> None:
        """The client ended ``future``'s stream: open another, unless this worker stops."""
        if self._stopping.is_set() or future.cancelled():
            return
        error = future.exception()
        first, longest = RESTART_BACKOFF_S
        with self._lock:
            if self._future is not future:
                return
            now = time.monotonic()
            if self._down is None:
                self._down = (now, f"the streaming pull stopped: {error or 'it ended'!r}")
            if now - self._opened_at > longest:
                self._delay_s = first  # it had streamed a while: this is a new outage
            delay, self._delay_s = self._delay_s, min(longest, self._delay_s * 2)
        _LOG.error(
            "streaming pull on %s stopped: %r; restarting it in %.1f s",
            self._subscription_path,
            error,
            delay,
        )
        self._restarter = threading.Thread(
            target=self._restart,
            args=(future, delay),
            name=f"restart-{self._subscription_path.rsplit('/', 1)[-1]}",
            daemon=True,
        )
        self._restarter.start()

    def _restart(self, ended: Any, delay_s: float) -> None:
        """Open a stream in place of ``ended`` after ``delay_s``, once the handlers still
        running on it have returned (a key's next message must not overtake them)."""
        while not self._stopping.wait(delay_s):
            with self._idle:
                self._idle.wait_for(
                    lambda: self._handling == 0 or self._stopping.is_set(),
                    timeout=self._ack_deadline_s,
                )
                if self._stopping.is_set() or self._future is not ended:
                    return
            try:
                self._open()
            except Exception as error:
                delay_s = min(RESTART_BACKOFF_S[1], delay_s * 2)
                _LOG.exception(
                    "restarting the streaming pull on %s failed; trying again in %.1f s",
                    self._subscription_path,
                    delay_s,
                )
                with self._lock:
                    since = self._down[0] if self._down is not None else time.monotonic()
                    self._down = (since, f"restarting the streaming pull failed: {error!r}")
                continue
            with self._lock:
                self._down = None
            _LOG.warning("streaming pull on %s restarted", self._subscription_path)
            return


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
        return [
            (r.ack_id, to_kit_message(r.message, r.delivery_attempt))
            for r in response.received_messages
        ]

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
