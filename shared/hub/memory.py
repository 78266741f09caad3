"""The embedded event hub: topics, subscriptions and Pub/Sub delivery semantics in memory.

It behaves like Pub/Sub push delivery so that code tested here behaves the same
on the emulator and on GCP:

* **at-least-once**: a delivery answered with :attr:`Outcome.RETRY` (or an
  exception) is redelivered after exponential backoff, its attempt counted (and
  reported to the subscriber only under a dead-letter policy, as Pub/Sub's
  ``deliveryAttempt`` is);
* **ordering per key**: on an ordered subscription the next message of an
  ordering key is delivered only after the previous one is acknowledged;
* **dead letters**: after ``max_attempts`` the message goes to the subsystem's
  ``faults`` topic with the ``CloudPubSubDeadLetterSource*`` attributes;
* **ack deadline**: a delivery not answered within the subscription's
  ``ack_deadline_ms`` (a push request that timed out) is a failed attempt; its late
  answer is ignored (see below);
* **retention**: a message still unacknowledged ``retention_ms`` after it was
  published is dropped, with a warning, as Pub/Sub deletes it (one waiting out a
  backoff, when its retention ends);
* **filters**: a subscription's rule is applied at publish time, as Pub/Sub
  does server-side (consumers check it again, as they must on the emulator);
* **lake**: every message published on a ``bus`` topic is kept in the lake;
* **refusals**: its publisher port refuses, before publishing any of a call, a message
  Pub/Sub would refuse (:func:`~shared.hub.message.check_publishable`).

Two ways to run it: :meth:`InMemoryHub.run_until_quiet` delivers on the calling
thread until nothing is left, one message at a time (deterministic; with a
:class:`ManualClock`, backoff waits advance virtual time), and :meth:`InMemoryHub.start`
delivers in real time on a pool of :data:`WORKERS` background threads, as Pub/Sub delivers
concurrently: only messages of the same ordering key on an ordered subscription wait for
each other, so a hung handler holds its own key (or message) and one worker, no more.

How a delivery past its ack deadline is seen depends on the mode, as a Python thread
cannot be stopped. Its elapsed time is the longer of the hub's clock and the wall
clock (a :class:`ManualClock` stands still while a handler runs, a slow handler
does not). In threaded mode a watch (every :data:`WATCH_INTERVAL_S`) expires the
delivery at its deadline: the attempt is counted failed (backoff, then redelivery
or, after the last attempt, the dead letter) and a new worker takes the held one's
place in the pool (the held one is told to stop only once the new one runs), while
the old one finishes the handler and stops, its answer ignored: GCP's timed-out
instance also runs on. On an ordered subscription the expired message comes again
meanwhile, and the key's next ones only once that redelivery is acknowledged.
:meth:`InMemoryHub.wait_until_idle` and :meth:`InMemoryHub.stop` wait for such a handler
too, within their timeout.
:meth:`InMemoryHub.run_until_quiet` delivers on the caller's thread, which a handler
holds until it returns: the attempt then counts failed, its answer ignored, and it
is redelivered after its backoff, never while it still runs (that would make the
calling thread's runs, the demo's and tests', depend on timing).

By default it delivers first in, first out, each message once: kinder than Google.
With a :class:`~shared.hub.chaos.Chaos` it shuffles deliveries wherever Pub/Sub
and Eventarc give no order and now and then redelivers an acknowledged message; with an
``overlap`` rate, a handling on the calling thread now and then pauses past its ack
deadline: it runs on a thread of its own, one handling at a time, and resumes later,
after its redelivery and other deliveries were made meanwhile (:mod:`shared.hub.chaos`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.clock import Clock, ManualClock
from shared.exceptions import PublishError
from shared.hub.base import AbstractPublisher
from shared.hub.chaos import Chaos, Handling
from shared.hub.limits import DEFAULT_RETENTION_S, delivery_problems
from shared.hub.message import Message, check_publishable, dead_lettered
from shared.lake.base import NamesTaken
from shared.lake.faults import unstored_faults
from shared.runtime.outcome import Outcome
from shared.topology.model import Topic

if TYPE_CHECKING:
    from shared.hub.routing import Selection
    from shared.lake.base import AbstractLake

_log = logging.getLogger("fooddelivery.hub")
Deliver = Callable[[Any, int], Outcome]
"""Called with the item and its attempt number as Pub/Sub reports it: counted (1 for the
first delivery) on a subscription with a dead-letter policy (``max_attempts``), else 1 on
every delivery, as Pub/Sub leaves it unset there (which the kit reads as 1)."""
LAKE_BATCH = 2000
STOP_TIMEOUT_S = 10.0
"""How long :meth:`InMemoryHub.stop` waits for the deliveries in progress to return."""
WORKERS = 4
"""How many deliveries threaded mode makes at once (a hung handler past its ack deadline
not counted: a new worker takes its place)."""
_NO_KEY = "\x00"
"""What the queue keys of messages delivered in no particular order start with."""
WATCH_INTERVAL_S = 0.5
"""How often threaded mode looks for deliveries past their ack deadline: an ack deadline
is 10 s at least, so one is expired at most 5% late."""


@dataclass
class _Pending:
    item: Any
    since_ms: int
    """When it was published (queued), by the hub's clock: its retention counts from here."""
    attempts: int = 0


@dataclass(eq=False)
class Subscription:
    """A channel in the embedded hub, with its delivery settings."""

    name: str
    deliver: Deliver
    rule: Selection | None = None
    ordered: bool = True
    max_attempts: int | None = None
    """Deliveries before the item is forwarded to ``dead_letter``; ``None`` retries it for
    ever, as Pub/Sub does for a subscription without a dead-letter policy. The settings
    are held to Pub/Sub's limits (:mod:`shared.hub.limits`): a ``ValueError`` otherwise."""
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 60_000
    ack_deadline_ms: int | None = None
    """A delivery not answered within this counts as failed and is redelivered, its late
    answer ignored, as Pub/Sub does when a push request times out; ``None``: no deadline."""
    retention_ms: int = DEFAULT_RETENTION_S * 1000
    """How long an unacknowledged message is kept after it was published (Pub/Sub's
    ``message_retention_duration``, 7 days by default): an older one is dropped."""
    dead_letter: Callable[[Any, int], None] | None = None
    queues: dict[str, deque[_Pending]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.dead_letter is None:
            raise ValueError(
                f"subscription {self.name}: max_attempts needs a dead_letter to forward to "
                "(Pub/Sub counts attempts only under a dead-letter policy)"
            )
        problems = delivery_problems(
            max_attempts=self.max_attempts,
            min_backoff_s=self.min_backoff_ms / 1000,
            max_backoff_s=self.max_backoff_ms / 1000,
            ack_deadline_s=None if self.ack_deadline_ms is None else self.ack_deadline_ms / 1000,
            retention_s=self.retention_ms / 1000,
        )
        if problems:
            raise ValueError(f"subscription {self.name}: {'; '.join(problems)}, as on Pub/Sub")

    def backoff_ms(self, attempt: int) -> int:
        """Exponential backoff after ``attempt`` failed deliveries, capped."""
        return int(min(self.max_backoff_ms, self.min_backoff_ms * 2 ** (attempt - 1)))


@dataclass(eq=False)
class _Attempt:
    """One delivery in progress, which an ack-deadline watch may expire before it returns."""

    sub: Subscription
    key: str
    pending: _Pending
    sent_ms: int
    began: float
    """When it was sent, by :func:`time.perf_counter`."""
    worker: threading.Event | None
    """The stop signal of the worker thread making it; ``None`` on the caller's thread."""
    expired: bool = False

    def overdue_ms(self, now_ms: int) -> int:
        """How far past its ack deadline it is (positive) by the hub's clock or the wall
        clock, whichever has moved more; never positive without a deadline."""
        if self.sub.ack_deadline_ms is None:
            return 0
        elapsed_ms = max(now_ms - self.sent_ms, (time.perf_counter() - self.began) * 1000)
        return int(elapsed_ms) - self.sub.ack_deadline_ms


class InMemoryHub:
    """Every subsystem's topics in one process, with push-delivery semantics."""

    def __init__(
        self,
        clock: Clock,
        lake: AbstractLake | None = None,
        chaos: Chaos | None = None,
        env: str = "embedded",
    ) -> None:
        """``chaos`` (off by default) delivers in an order and with duplicates Google allows;
        ``env`` is the environment the faults the hub itself records name (its lake's)."""
        self.clock = clock
        self.env = env
        self.chaos = chaos.start() if chaos is not None else None
        if chaos is not None:
            _log.warning(
                "chaos mode: seed %d, redelivering %.0f%%", chaos.seed, chaos.redeliver * 100
            )
        self._lake = lake
        self._lake_buffer: dict[tuple[str, str], list[tuple[int, Message]]] = {}
        """The bus messages not yet in the lake, by (project, topic), each with when it was
        published (epoch ms)."""
        self._stamped: tuple[int | None, str] = (None, "")
        """The last publish time: (epoch ms, as RFC 3339), reused while the clock stands."""
        self._topics: dict[tuple[str, str], list[Subscription]] = {}
        self._ready: deque[tuple[Subscription, str]] = deque()
        self._delayed: list[tuple[int, int, Subscription, str]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._in_flight = 0
        self._lock = threading.RLock()
        """Held around every change of state; taken directly (``with self._lock``) on the
        delivery path, where the condition's own ``__enter__`` is a Python call more."""
        self._cond = threading.Condition(self._lock)
        self._workers: dict[threading.Event, threading.Thread] = {}
        """Every worker thread still running, by its own signal to stop: the pool's and
        those told to stop that still finish a delivery."""
        self._held: set[threading.Event] = set()
        """The pool's workers held by a delivery past its ack deadline, not yet replaced."""
        self._stale = 0
        """Handlers still running whose delivery was expired at its ack deadline."""
        self._watched: set[_Attempt] = set()
        """The workers' deliveries in progress that have an ack deadline."""
        self._watch: threading.Thread | None = None
        self._unwatch = threading.Event()
        """The running watch's signal to stop."""
        self.delivered = 0
        self.observers: list[Callable[[str, str, Message], None]] = []
        """Called with (project, topic, message) for every message published."""
        self.delivery_observers: list[Callable[[str, float], None]] = []
        """Called with (subscription name, seconds it took) after every delivery."""

    # -- topology ------------------------------------------------------------------------

    def create_topic(self, project: str, topic: str) -> None:
        """Create ``topic`` in ``project`` (idempotent)."""
        with self._cond:
            self._topics.setdefault((project, topic), [])

    def subscribe(self, project: str, topic: str, subscription: Subscription) -> None:
        """Attach ``subscription`` to a topic; it receives messages published from now on."""
        with self._cond:
            if (project, topic) not in self._topics:
                raise PublishError(f"topic {project}/{topic} does not exist")
            self._topics[(project, topic)].append(subscription)

    def publisher(self, project: str) -> InMemoryPublisher:
        """A publisher port bound to ``project``'s topics."""
        return InMemoryPublisher(self, project)

    # -- publishing and enqueueing ------------------------------------------------------------

    def publish(self, project: str, topic: str, messages: Sequence[Message]) -> list[str]:
        """Accept ``messages`` on a topic and fan them out to its subscriptions."""
        if self.chaos is not None:
            self.chaos.point()
        with self._lock:
            subscriptions = self._topics.get((project, topic))
            if subscriptions is None:
                raise PublishError(f"topic {project}/{topic} does not exist")
            now = self.clock.now_ms()
            if now != self._stamped[0]:
                iso = datetime.fromtimestamp(now / 1000, UTC).isoformat()
                self._stamped = (now, iso.replace("+00:00", "Z"))
            stamp = self._stamped[1]
            ids = []
            try:
                for message in messages:
                    message_id = str(next(self._ids))
                    ids.append(message_id)
                    stored = message.published(message_id, stamp)
                    for observe in self.observers:
                        observe(project, topic, stored)
                    for sub in subscriptions:
                        if sub.rule is None or sub.rule.matches(stored.attributes):
                            self._enqueue(sub, stored, stored.ordering_key, now)
                    if topic == Topic.BUS and self._lake is not None:
                        buffer = self._lake_buffer.setdefault((project, topic), [])
                        buffer.append((now, stored))
            finally:  # whatever was queued before an observer raised is due
                self._cond.notify_all()
            if self._lake_buffer and sum(map(len, self._lake_buffer.values())) >= LAKE_BATCH:
                try:
                    self.flush_lake()
                except Exception:  # the lake is a separate subscriber: publishing goes on
                    _log.exception("the lake could not be written; will try again")
            return ids

    def enqueue(self, sub: Subscription, item: Any, key: str = "") -> None:
        """Queue ``item`` for delivery to ``sub``; ``key`` orders items on ordered subscriptions."""
        if self.chaos is not None:
            self.chaos.point(locked=True)  # a store tells its watchers under its lock
        with self._lock:
            self._enqueue(sub, item, key, self.clock.now_ms())
            self._cond.notify_all()

    def _enqueue(self, sub: Subscription, item: Any, key: str, now_ms: int) -> None:
        """:meth:`enqueue` for a caller that holds the lock and notifies when done."""
        if not (sub.ordered and key):
            key = f"{_NO_KEY}{next(self._seq)}"
        queue = sub.queues.get(key)
        if queue is None:
            queue = sub.queues[key] = deque()
        queue.append(_Pending(item, now_ms))
        if len(queue) == 1:
            self._ready.append((sub, key))

    def flush_lake(self) -> None:
        """Write buffered bus messages to the lake; what cannot be written stays buffered,
        unless it never can be (:class:`~shared.lake.base.NamesTaken`): each such message is
        then published as a fault on its subsystem's ``faults`` topic, kept whole, and
        dropped from the buffer, as the dev stack's lake writer does
        (:mod:`shared.lake.faults`)."""
        with self._cond:
            buffered, self._lake_buffer = self._lake_buffer, {}
        if self._lake is None:
            return
        unwritten = list(buffered)
        try:
            for project_topic in list(unwritten):
                records = [(ms, message.data) for ms, message in buffered[project_topic]]
                try:
                    self._lake.append(*project_topic, records)
                except NamesTaken as taken:
                    self._publish_unstored(project_topic[0], buffered[project_topic], taken)
                unwritten.remove(project_topic)
            self._lake.flush()
        except Exception:
            with self._cond:
                for project_topic in unwritten:
                    later = self._lake_buffer.get(project_topic, [])
                    self._lake_buffer[project_topic] = buffered[project_topic] + later
            raise

    def _publish_unstored(
        self, project: str, buffered: list[tuple[int, Message]], taken: NamesTaken
    ) -> None:
        """Publish on ``project``'s ``faults`` topic a fault for each of the ``buffered``
        messages whose record ``taken`` says the lake could not store."""
        batch = [((ms, message.data), message) for ms, message in buffered]
        faults = unstored_faults(project, batch, taken, self.clock, self.env)
        self.publish(project, Topic.FAULTS, faults)
        _log.error(
            "the lake: %d message(s) of %s recorded as faults, not stored: %s",
            len(faults),
            project,
            taken,
        )

    # -- delivery ------------------------------------------------------------------------------

    def _step(self, worker: threading.Event | None = None) -> bool:
        """Deliver one item if one is ready; False when none is. ``worker`` is the stop
        signal of the worker thread calling, whose deliveries the watch may expire."""
        with self._lock:
            while True:
                if not self._ready:
                    return False
                elif self.chaos is None:
                    sub, key = self._ready.popleft()
                else:
                    sub, key = self.chaos.take(self._ready)
                pending = sub.queues[key][0]
                now = self.clock.now_ms()
                if now - pending.since_ms < sub.retention_ms:
                    break
                self._drop(sub, key, now)
            pending.attempts += 1
            self._in_flight += 1
            attempt = _Attempt(sub, key, pending, now, time.perf_counter(), worker)
            if worker is not None and sub.ack_deadline_ms is not None:
                self._watched.add(attempt)
        # In flight until its answer is taken in: what it queues next (the key's next
        # message, a retry) is not queued yet, and the hub must not look idle meanwhile.
        try:
            outcome = self._answer(attempt)
        except BaseException:  # e.g. KeyboardInterrupt: the item stays, ready for a redelivery
            with self._lock:
                if attempt.expired:
                    self._end_stale(attempt)
                else:
                    self._watched.discard(attempt)
                    self._in_flight -= 1
                    self._ready.appendleft((sub, key))
                    self._cond.notify_all()
            raise
        if outcome is None:  # paused past its ack deadline: taken in as failed (_pause)
            return True
        with self._lock:
            if attempt.expired:  # already counted failed: Pub/Sub ignores a late ack
                self._end_stale(attempt)
                _log.warning(
                    "%s answered %s after its ack deadline: ignored", sub.name, outcome.name
                )
                return True
            self._watched.discard(attempt)
            late_ms = attempt.overdue_ms(self.clock.now_ms())
            if late_ms > 0:
                _log.warning(
                    "%s answered %d ms past its ack deadline (%d s): counted as failed, "
                    "redelivering",
                    sub.name,
                    late_ms,
                    _seconds(sub.ack_deadline_ms),
                )
                outcome = Outcome.RETRY
            self._take_in(attempt, outcome)
        return True

    def _take_in(self, attempt: _Attempt, outcome: Outcome) -> None:
        """Act on ``attempt``'s answer (the caller holds the lock): acknowledge the item, or
        queue its redelivery, or forward it to the dead-letter topic after the last attempt."""
        sub, key, pending = attempt.sub, attempt.key, attempt.pending
        self._in_flight -= 1
        self.delivered += 1
        handled = outcome is Outcome.ACK
        if (
            outcome is Outcome.RETRY
            and sub.max_attempts is not None
            and pending.attempts >= sub.max_attempts
        ):
            outcome = self._dead_letter(sub, pending)
        if outcome is Outcome.RETRY:  # due after its backoff, or to drop when its retention ends
            due = min(
                self.clock.now_ms() + sub.backoff_ms(pending.attempts),
                pending.since_ms + sub.retention_ms,
            )
            heapq.heappush(self._delayed, (due, next(self._seq), sub, key))
        else:
            queue = sub.queues[key]
            queue.popleft()
            if handled and self.chaos is not None:
                self._redeliver(sub, key, pending, queue)
            self._move_on(sub, key, queue)
        self._cond.notify_all()

    def _move_on(self, sub: Subscription, key: str, queue: deque[_Pending]) -> None:
        """After its head left ``queue``: its next item is ready, or the queue goes."""
        if queue:
            self._ready.append((sub, key))
        else:
            del sub.queues[key]

    def _drop(self, sub: Subscription, key: str, now_ms: int) -> None:
        """Drop the head of ``key``'s queue, older than ``sub``'s retention, as Pub/Sub does."""
        queue = sub.queues[key]
        pending = queue.popleft()
        _log.warning(
            "%s dropped %s, unacknowledged %d s after it was published: past the "
            "subscription's message retention (%d s), as Pub/Sub deletes it",
            sub.name,
            _named(pending.item),
            (now_ms - pending.since_ms) // 1000,
            _seconds(sub.retention_ms),
        )
        self._move_on(sub, key, queue)

    def _expire_overdue(self) -> None:
        """Count as failed every worker's delivery past its ack deadline, as Pub/Sub counts a
        push request that timed out, and replace the pool's workers they hold."""
        with self._lock:
            now = self.clock.now_ms()
            for attempt in [a for a in self._watched if a.overdue_ms(now) > 0]:
                self._watched.discard(attempt)
                attempt.expired = True
                self._stale += 1
                _log.warning(
                    "%s has not answered %s within its ack deadline (%d s): counted as "
                    "failed and redelivered; the handler still runs and its answer will be "
                    "ignored",
                    attempt.sub.name,
                    _named(attempt.pending.item),
                    _seconds(attempt.sub.ack_deadline_ms),
                )
                self._take_in(attempt, Outcome.RETRY)
                if attempt.worker is not None and not attempt.worker.is_set():
                    self._held.add(attempt.worker)
            self._replace_held()

    def _replace_held(self) -> None:
        """Start a worker in place of each held one, then tell that one to stop once its
        handler returns (the caller holds the lock). One that cannot be started is tried
        again on the watch's next pass; the held worker meanwhile stays in the pool."""
        for held in list(self._held):
            try:
                self._start_worker()
            except Exception:
                _log.exception(
                    "could not start a worker in place of one held past an ack deadline; "
                    "will try again"
                )
                return
            held.set()
            self._held.discard(held)

    def _end_stale(self, attempt: _Attempt) -> None:
        """``attempt``, expired at its ack deadline, has returned (the caller holds the lock):
        its worker, if still held, was never replaced and delivers on."""
        self._stale -= 1
        if attempt.worker is not None:
            self._held.discard(attempt.worker)
        self._cond.notify_all()

    def _answer(self, attempt: _Attempt) -> Outcome | None:
        """Make ``attempt``; its answer, a delivery that raised counting as RETRY. Under chaos
        one on the caller's thread may pause past its ack deadline (:meth:`ChaosRun.point`):
        ``None`` then, its late answer taken in by :meth:`_resumed`."""
        sub, pending = attempt.sub, attempt.pending

        def deliver() -> Outcome:
            try:
                return sub.deliver(pending.item, _reported_attempt(sub, pending))
            except Exception:
                _log.exception("delivery to %s raised; will redeliver", sub.name)
                return Outcome.RETRY

        last = sub.max_attempts is not None and pending.attempts >= sub.max_attempts
        outcome: Outcome | None
        if self.chaos is None or attempt.worker is not None or last:
            outcome = deliver()  # an overrun last attempt would be dead-lettered: not chaos's
        else:
            outcome = self.chaos.overlapped(
                deliver, lambda: self._pause(attempt), lambda late: self._resumed(attempt, late)
            )
            if outcome is None:
                return None
        self._observe_delivery(sub.name, time.perf_counter() - attempt.began)
        return outcome

    def _pause(self, attempt: _Attempt) -> None:
        """Chaos: ``attempt``, paused on a thread of its own, is past its ack deadline now.
        It is counted failed, as the watch counts a worker's, and its message is ready again
        at once (its backoff not waited for), to be delivered among the others; on an
        ordered subscription the key's next messages come once that is acknowledged."""
        sub, key = attempt.sub, attempt.key
        with self._lock:
            attempt.expired = True
            self._stale += 1
            _log.info(
                "chaos: %s overruns its ack deadline handling %s: paused, delivering meanwhile",
                sub.name,
                _named(attempt.pending.item),
            )
            self._take_in(attempt, Outcome.RETRY)
            waiting = [d for d in self._delayed if d[2] is sub and d[3] == key]
            if waiting:  # else dead-lettered: the key's next message is ready, if any
                self._delayed.remove(waiting[0])
                heapq.heapify(self._delayed)
                self._ready.append((sub, key))

    def _resumed(self, attempt: _Attempt, late: Handling) -> None:
        """Chaos: ``attempt``, paused past its ack deadline, resumed and has returned (or was
        abandoned): its answer is ignored; what it raised past the hub's catch (a
        ``KeyboardInterrupt``) is raised here."""
        with self._lock:
            self._end_stale(attempt)
            if not late.abandoned:
                _log.warning(
                    "%s answered %s after its ack deadline: ignored",
                    attempt.sub.name,
                    "nothing" if late.outcome is None else late.outcome.name,
                )
        self._observe_delivery(attempt.sub.name, time.perf_counter() - attempt.began)
        if late.error is not None:
            raise late.error

    def _redeliver(
        self, sub: Subscription, key: str, acked: _Pending, queue: deque[_Pending]
    ) -> None:
        """Chaos: queue again what :meth:`ChaosRun.again` picks once ``acked`` is acknowledged.

        An ordered key's replay goes before the key's next message; a message with no
        order is queued anew, to come at any later point. Attempts go on counting.
        """
        assert self.chaos is not None
        ordered = not key.startswith(_NO_KEY)
        again = self.chaos.again((sub, key) if ordered else None, acked)
        if not again:
            return
        _log.info("chaos: %s gets %d acknowledged message(s) again", sub.name, len(again))
        if ordered:
            queue.extendleft(reversed(again))
            return
        for pending in again:
            fresh = f"{_NO_KEY}{next(self._seq)}"
            sub.queues[fresh] = deque([pending])
            self._ready.append((sub, fresh))

    def _observe_delivery(self, name: str, seconds: float) -> None:
        for observe in self.delivery_observers:
            try:
                observe(name, seconds)
            except Exception:  # an observer must not stop delivery
                _log.exception("delivery observer %r raised", observe)

    def _dead_letter(self, sub: Subscription, pending: _Pending) -> Outcome:
        """Forward an item that used up its attempts; RETRY (keep it) if forwarding fails."""
        assert sub.dead_letter is not None  # Subscription refuses max_attempts without one
        try:
            sub.dead_letter(pending.item, pending.attempts)
        except Exception:
            _log.exception("%s could not forward an item to its dead-letter topic", sub.name)
            return Outcome.RETRY
        return Outcome.ACK

    def _release_due(self) -> None:
        now = self.clock.now_ms()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, sub, key = heapq.heappop(self._delayed)
            self._ready.append((sub, key))

    def run_until_quiet(self, max_deliveries: int = 1_000_000) -> int:
        """Deliver on this thread until nothing is ready or waiting for redelivery, then
        flush the lake (and deliver the faults of what it can never store, if any).

        With a :class:`ManualClock`, waiting for a backoff advances virtual time.
        Returns the number of deliveries made. Under chaos with an ``overlap`` rate, every
        handling paused meanwhile has resumed and returned before it does; if it raises,
        those still paused are abandoned (:meth:`ChaosRun.abandon`).
        """
        try:
            return self._deliver_until_quiet(max_deliveries)
        except BaseException:
            if self.chaos is not None:  # handlings paused by chaos will never resume
                self.chaos.abandon()
            raise

    def _deliver_until_quiet(self, max_deliveries: int) -> int:
        done = 0
        while True:
            if self._step():
                done += 1
                if done > max_deliveries:
                    raise RuntimeError(f"still busy after {max_deliveries} deliveries: a loop?")
                if self.chaos is not None:
                    self.chaos.delivered()  # a paused handling may resume now
                continue
            if self.chaos is not None and self.chaos.resume_next():
                continue  # nothing else is ready: a paused handling resumes first
            with self._cond:
                if self._delayed:
                    if isinstance(self.clock, ManualClock):
                        self.clock.advance_to(self._delayed[0][0])
                    else:
                        timeout = (self._delayed[0][0] - self.clock.now_ms()) / 1000
                        self._cond.wait(max(0.0, timeout))
                    self._release_due()
                    continue
            self.flush_lake()
            with self._cond:
                if not self._ready and not self._delayed:
                    return done

    @property
    def idle(self) -> bool:
        """True when nothing is queued, waiting for redelivery or being delivered, nor a
        handler still running whose delivery was expired at its ack deadline."""
        with self._cond:
            return (
                not self._ready and not self._delayed and self._in_flight == 0 and not self._stale
            )

    # -- threaded mode ---------------------------------------------------------------------------

    def start(self) -> None:
        """Deliver on :data:`WORKERS` background threads until :meth:`stop`, and watch their
        deliveries' ack deadlines on another. If a thread cannot be started, those it started
        are stopped before the error is raised: the hub is left as it was."""
        with self._cond:
            if self._watch is not None:
                return
            before = set(self._workers)
            try:
                for _ in range(WORKERS):
                    self._start_worker()
                unwatch = threading.Event()
                watch = threading.Thread(
                    target=self._watch_deadlines,
                    args=(unwatch,),
                    name="in-memory-hub-deadlines",
                    daemon=True,
                )
                watch.start()
            except BaseException as error:
                failed = error
                started = {s: w for s, w in self._workers.items() if s not in before}
                for stopping in started:
                    stopping.set()
                self._cond.notify_all()
            else:
                self._watch, self._unwatch = watch, unwatch
                return
        for worker in started.values():  # none has delivered: each ends once it has the lock
            worker.join(STOP_TIMEOUT_S)
        raise failed

    def _start_worker(self) -> None:
        """Start a worker thread (the caller holds the lock)."""
        stopping = threading.Event()
        worker = threading.Thread(
            target=self._work, args=(stopping,), name="in-memory-hub", daemon=True
        )
        worker.start()
        self._workers[stopping] = worker

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop the background threads and flush the lake; False if a delivery still runs.

        A thread stops once the delivery it is making returns, a handler past its ack
        deadline included. A handler that hangs keeps it past ``timeout_s``: this then
        logs the fact and returns False rather than hang too, and the thread (a daemon)
        ends when the handler returns, its answer taken in (ignored if past its ack
        deadline), delivering nothing more; :meth:`start` may start others.
        """
        with self._cond:
            watch, self._watch = self._watch, None
            workers = list(self._workers.items())
            for stopping, _ in workers:
                stopping.set()
            self._held.clear()
            self._unwatch.set()
            self._cond.notify_all()
        if watch is not None:
            watch.join()
        deadline = time.perf_counter() + timeout_s
        for _, worker in workers:
            worker.join(max(0.0, deadline - time.perf_counter()))
        running = sum(worker.is_alive() for _, worker in workers)
        if running:
            _log.warning(
                "%d handler(s) still run %g s after stop(); not waiting", running, timeout_s
            )
        self.flush_lake()
        return not running

    def wait_until_idle(self, timeout_s: float) -> bool:
        """Block until the hub is idle (threaded mode), a handler past its ack deadline
        returned too; False on timeout, logged if such a handler still runs."""
        with self._cond:
            if self._cond.wait_for(lambda: self.idle, timeout_s):
                return True
            if self._stale:
                _log.warning(
                    "%d handler(s) past their ack deadline still run after %g s",
                    self._stale,
                    timeout_s,
                )
            return False

    def _work(self, stopping: threading.Event) -> None:
        try:
            while True:
                with self._cond:
                    self._release_due()
                    while not self._ready and not stopping.is_set():
                        timeout = None
                        if self._delayed:
                            timeout = max(0.0, (self._delayed[0][0] - self.clock.now_ms()) / 1000)
                        self._cond.wait(timeout)
                        self._release_due()
                    if stopping.is_set():
                        return
                self._step(stopping)
        finally:
            with self._cond:
                self._workers.pop(stopping, None)
                self._held.discard(stopping)
                self._cond.notify_all()

    def _watch_deadlines(self, unwatch: threading.Event) -> None:
        while not unwatch.wait(WATCH_INTERVAL_S):
            try:
                self._expire_overdue()
            except Exception:  # e.g. a worker that would not start: deadlines still count
                _log.exception("the ack-deadline watch failed; it watches on")


def _seconds(ms: int | None) -> int:
    return 0 if ms is None else ms // 1000


def _named(item: Any) -> str:
    """``item`` as a log names it: a message by its id, a document change by its document."""
    message_id = getattr(item, "message_id", None)
    if message_id:
        return f"message {message_id}"
    collection, key = getattr(item, "collection", None), getattr(item, "key", None)
    if collection is not None and key is not None:
        return f"the change of {collection}/{key}"
    return type(item).__name__


def _reported_attempt(sub: Subscription, pending: _Pending) -> int:
    """The attempt number a delivery of ``pending`` carries: Pub/Sub counts attempts only
    under a dead-letter policy; the hub counts them always, for its backoff."""
    return pending.attempts if sub.max_attempts is not None else 1


class InMemoryPublisher(AbstractPublisher):
    """The publisher port for one subsystem's topics in an :class:`InMemoryHub`."""

    def __init__(self, hub: InMemoryHub, project: str) -> None:
        self.hub, self.project = hub, project

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        """Publish on the hub what Pub/Sub would accept (:func:`check_publishable`)."""
        check_publishable(messages, f"projects/{self.project}/topics/{topic}")
        return self.hub.publish(self.project, str(topic), messages)


def dead_letter_to(hub: InMemoryHub, project: str, subscription: str) -> Callable[[Any, int], None]:
    """Forward a message to ``project``'s faults topic, as Pub/Sub dead-lettering does."""

    def forward(item: Any, attempts: int) -> None:
        hub.publish(project, Topic.FAULTS, [dead_lettered(item, project, subscription, attempts)])

    return forward
