"""Chaos mode for the embedded hub: the delivery orders and duplicates Google allows.

The embedded hub delivers first in, first out, each message once. Pub/Sub and
Eventarc promise less, and code that leans on the embedded order breaks on GCP.
With a :class:`Chaos` the hub, driven by one seeded random generator:

* **shuffles** what is ready to deliver: which subscription, which ordering key
  and, on unordered subscriptions and triggers, which message goes next. The
  messages of one ordering key on an ordered subscription keep their order;
* **redelivers acknowledged messages** now and then (``redeliver`` of the acks):
  on an unordered subscription or a trigger the message alone, delivered again
  at some later point; on an ordered subscription the message *and the key's
  messages acknowledged after it*, in their order, before the key's next
  message, as Pub/Sub replays a key after a lost ack;
* with an ``overlap`` rate (off by default), **pauses handlings past their ack deadline**,
  as GCP's handlers stall: a delivery that
  :meth:`~shared.hub.memory.InMemoryHub.run_until_quiet` makes then runs on a thread of
  its own, handed the turn strictly (the calling thread waits
  while it runs, so one handling runs at a time), and at a point inside it (each time
  the handler publishes, starts an operation on one of the embedded system's stores, a
  read, a query or a write, or one of its document writes queues a change for a trigger)
  it now and then pauses: its attempt is counted failed there, its message is ready
  again at once (its backoff not waited for; on an ordered subscription the key's next
  messages come once that redelivery is acknowledged) and the hub delivers on. The
  paused handling resumes after 1 to :attr:`ChaosRun.MAX_PAUSE` further deliveries
  (drawn), or sooner when nothing else is ready (always before ``run_until_quiet``
  returns), and goes on with what it read before, its answer ignored: handling A of m1
  stalls, m1 is redelivered and acknowledged, maybe the key's m2 too, then A writes and
  publishes. A change is queued while the store holds its lock: a handling drawn to
  pause there pauses at its next point, or as it returns, so as never to hold a lock
  the others need. The points come between a handler's store calls, so a handling may
  pause between any read and its next write, never inside a transaction (an update's
  updater, a ``delete_if``'s condition) nor in a store's watcher, where a store holds its
  lock: a Firestore transaction that a later handling overtakes is retried, which is the
  same as that handling committing before it began.

The same seed gives the same deliveries for the same calls (on the calling
thread, :meth:`~shared.hub.memory.InMemoryHub.run_until_quiet`), so a failure is
reproduced by its seed. ``FOODDELIVERY_CHAOS_SEED=<int>`` turns chaos on for
every :class:`~shared.runtime.embedded.EmbeddedSystem` built without one;
``FOODDELIVERY_CHAOS_OVERLAP=<rate>`` adds paused handlings to it.

A handling runs in a copy of the calling thread's context (its context variables, as the
secrets scope); thread-local state (the stores' nested-transaction guard) starts empty
there, as it is on the calling thread between deliveries. Up to
:attr:`ChaosRun.MAX_OVERLAPPING` handlings are in progress at once (the last never
pauses, nor a last attempt). What a resumed handling raises past the hub's catch (a
``KeyboardInterrupt``) is raised by ``run_until_quiet``; when that raises, the handlings
still paused never resume: each unwinds from its pause (:class:`HandlingAbandoned`) and
its thread ends. Threaded mode (:meth:`~shared.hub.memory.InMemoryHub.start`) pauses
nothing: its deliveries already overrun their deadlines for real. Not modelled: a pause
inside a transaction (Firestore retries it), and anything done from outside the hub (an
HTTP request, a scheduled run) while a handling is paused, as every paused handling
resumes before ``run_until_quiet`` returns.
"""

from __future__ import annotations

import contextvars
import os
import random
import threading
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.exceptions import SettingError
from shared.runtime.outcome import Outcome

CHAOS_ENV = "FOODDELIVERY_CHAOS_SEED"
"""The environment variable that turns chaos on, with its seed."""
OVERLAP_ENV = "FOODDELIVERY_CHAOS_OVERLAP"
"""The environment variable that sets :attr:`Chaos.overlap` (with ``CHAOS_ENV``)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Chaos:
    """Chaos-mode settings: the seed and how often an acknowledged message comes back."""

    seed: int
    redeliver: float = 0.1
    """The chance that an acknowledged delivery is delivered again."""
    replay_depth: int = 3
    """On an ordered subscription, how many of a key's acknowledged messages a
    redelivery may go back (the one just acknowledged included)."""
    tick_ms: int = 1
    """With a :class:`~shared.clock.ManualClock`, how far each document write moves time on
    (:class:`~shared.runtime.embedded.EmbeddedSystem`): on GCP, writes made by separate
    requests are milliseconds apart, so their changes' timestamps tell which came first.
    0 keeps the clock still: every write of a test step then shares one millisecond."""
    overlap: float = 0.0
    """The chance, at each point of a handling where it may happen, that the delivery
    overruns its ack deadline there and pauses (at most once per delivery); 0 (the
    default) draws nothing and starts no thread, so a seed's run stays what it was."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.redeliver < 1.0:
            raise ValueError(f"redeliver must be in [0, 1), not {self.redeliver}")
        if not 0.0 <= self.overlap <= 1.0:
            raise ValueError(f"overlap must be in [0, 1], not {self.overlap}")
        if self.replay_depth < 1:
            raise ValueError(f"replay_depth must be at least 1, not {self.replay_depth}")
        if self.tick_ms < 0:
            raise ValueError(f"tick_ms cannot be negative, not {self.tick_ms}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Chaos | None:
        """The chaos ``FOODDELIVERY_CHAOS_SEED`` (and ``FOODDELIVERY_CHAOS_OVERLAP``) ask
        for; ``None`` when the seed is unset or empty."""
        value = environ.get(CHAOS_ENV, "").strip()
        rate = environ.get(OVERLAP_ENV, "").strip()
        if not value:
            if rate:
                raise SettingError(f"{OVERLAP_ENV} needs {CHAOS_ENV}: set a seed too")
            return None
        try:
            seed = int(value)
        except ValueError:
            raise SettingError(f"{CHAOS_ENV} must be an integer seed, not {value!r}") from None
        try:
            return cls(seed=seed, overlap=float(rate) if rate else 0.0)
        except ValueError:
            raise SettingError(f"{OVERLAP_ENV} must be a rate from 0 to 1, not {rate!r}") from None

    def start(self) -> ChaosRun:
        """Fresh random state for one hub."""
        return ChaosRun(self)


class HandlingAbandoned(BaseException):
    """Raised inside a paused handling that will never resume (the hub stopped delivering
    with an error): it unwinds the handler, whose answer nobody awaits. A
    ``BaseException``, so that a handler's ``except Exception`` lets it through."""


class Handling:
    """One delivery under ``overlap``, made on a thread of its own (:meth:`ChaosRun.overlapped`).

    Strict handoff: the thread that asks for it waits while it runs, until it returns or
    pauses, so only one handling runs at a time and a seed's run is the same every time.
    It runs in a copy of the asking thread's context (its context variables: the secrets
    scope); thread-local state (a store's nested-transaction guard) starts empty, as on
    the asking thread between deliveries.
    """

    def __init__(self, run: ChaosRun, deliver: Callable[[], Outcome], may_pause: bool) -> None:
        self._run, self._deliver = run, deliver
        self.may_pause = may_pause
        """Whether it may pause at all (not when too many are paused already)."""
        self.pausing = False
        """Drawn to pause at a point where it could not (it held a store's lock): it pauses
        at its next point, or as it returns."""
        self.paused = False
        """It paused (at most once): its answer will be ignored."""
        self.abandoned = False
        self.done = False
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None
        """What it raised (through the hub's own catch: a ``BaseException``)."""
        self._context = contextvars.copy_context()
        self._turn = threading.Semaphore(0)
        """Released to let it go on from its pause."""
        self._waiting = threading.Semaphore(0)
        """Released when it returns or pauses: the asking thread's turn again."""
        self._thread = threading.Thread(target=self._main, name="chaos-handling", daemon=True)

    def go(self) -> None:
        """Start it, or resume it from its pause, and wait until it returns or pauses."""
        if self._thread.ident is None:
            self._thread.start()
        else:
            self._turn.release()
        self._waiting.acquire()
        if self.done:
            self._thread.join()

    def answer(self) -> Outcome:
        """What it returned; what it raised is raised again."""
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome

    def pause(self) -> None:
        """On its own thread: hand the turn back and wait to be resumed."""
        self.pausing, self.paused = False, True
        self._waiting.release()
        self._turn.acquire()
        if self.abandoned:
            raise HandlingAbandoned

    def _main(self) -> None:
        self._run._local.handling = self
        try:
            self.outcome = self._context.run(self._deliver)
            if self.pausing:  # drawn under a lock and no point since: its answer comes late
                self.pause()
        except HandlingAbandoned:
            pass
        except BaseException as error:  # e.g. KeyboardInterrupt: raised on the asking thread
            self.error = error
        finally:
            self.done = True
            self._waiting.release()


class ChaosRun:
    """The random choices of one hub under :class:`Chaos`."""

    MAX_KEYS = 10_000
    """Ordered keys whose recent acknowledgements are remembered (the oldest forgotten)."""
    MAX_OVERLAPPING = 3
    """How many handlings may be in progress at once under ``overlap``: those paused past
    their ack deadline and the one running, which cannot pause when this many would be."""
    MAX_PAUSE = 12
    """A paused handling resumes after 1 to this many further deliveries (drawn), or
    sooner, when nothing else is ready."""

    def __init__(self, chaos: Chaos) -> None:
        self.chaos = chaos
        self._rng = random.Random(chaos.seed)
        self._acked: dict[Hashable, list[Any]] = {}
        self._overlaps = random.Random(f"overlap:{chaos.seed}")
        """Draws only for overlaps: the shuffles and redeliveries draw as without."""
        self._local = threading.local()
        """``handling``: the :class:`Handling` a handling thread makes."""
        self._paused: list[tuple[Handling, int, Callable[[Handling], None]]] = []
        """The paused handlings, the oldest first, each with the count of deliveries at
        which it resumes and what takes its late answer in."""
        self._deliveries = 0
        """Deliveries counted by :meth:`delivered`: the clock paused handlings resume by."""
        self._caller: int | None = None
        """The thread whose deliveries the paused ones are."""

    def take(self, ready: deque[T]) -> T:
        """Remove and return any one of the ready deliveries (``ready`` is not empty)."""
        index = self._rng.randrange(len(ready))
        chosen = ready[index]
        del ready[index]
        return chosen

    def again(self, key: Hashable | None, acked: T) -> list[T]:
        """What to deliver again now that ``acked`` is acknowledged, usually nothing.

        ``key`` names an ordered subscription's ordering key, whose recent
        acknowledgements are remembered so that a redelivery replays those that
        followed; ``None`` for a message with no order.
        """
        replay = self._rng.random() < self.chaos.redeliver
        if key is None:
            chosen = [acked] if replay else []
        else:
            history = self._acked.pop(key, [])  # re-inserted last: the newest key
            replayed = next((i for i, item in enumerate(history) if item is acked), None)
            if replayed is None:
                history = [*history, acked][-self.chaos.replay_depth :]
            else:  # a replay acknowledged again: what followed it is being replayed too
                history = history[: replayed + 1]
            self._acked[key] = history
            if len(self._acked) > self.MAX_KEYS:
                del self._acked[next(iter(self._acked))]
            chosen = history[self._rng.randrange(len(history)) :] if replay else []
        return chosen

    def overlapped(
        self,
        deliver: Callable[[], Outcome],
        pause: Callable[[], None],
        resumed: Callable[[Handling], None],
    ) -> Outcome | None:
        """Make a delivery of the calling thread with ``deliver``, on a thread of its own
        under ``overlap``: its answer, or ``None`` if it paused at one of its :meth:`point`
        calls. ``pause`` is then called (its ack deadline has passed), and ``resumed``
        once it has resumed (:meth:`delivered`, :meth:`resume_next`) and returned."""
        if not self.chaos.overlap or getattr(self._local, "handling", None) is not None:
            return deliver()  # no overlap; or a handler delivering (run_until_quiet) itself
        if self._paused and self._caller != threading.get_ident():
            return deliver()  # another thread's: run_until_quiet is being run on two
        self._caller = threading.get_ident()
        handling = Handling(self, deliver, len(self._paused) < self.MAX_OVERLAPPING - 1)
        handling.go()
        if not handling.paused:
            return handling.answer()
        pause()
        due = self._deliveries + self._overlaps.randint(1, self.MAX_PAUSE)
        self._paused.append((handling, due, resumed))
        return None

    def point(self, locked: bool = False) -> None:
        """A point inside the handling this thread makes, if it is one (:meth:`overlapped`),
        where it may overrun its ack deadline (a publish, a queued change, the start of a
        store operation): now and then it pauses there, and the hub delivers meanwhile.
        ``locked``: the handling holds a lock here (a store's, as it tells its watchers of a
        write) that the deliveries made meanwhile may need: it pauses at its next point
        instead, or as it returns."""
        handling: Handling | None = getattr(self._local, "handling", None)
        if handling is None or handling.paused or not handling.may_pause:
            return
        if not handling.pausing:
            if self._overlaps.random() >= self.chaos.overlap:
                return
            handling.pausing = True
        if not locked:
            handling.pause()

    def delivered(self) -> None:
        """The calling thread made a delivery: resume the paused handlings now due, the
        oldest first."""
        if threading.get_ident() != self._caller:
            return  # none paused, or a handler delivering (run_until_quiet) itself
        self._deliveries += 1
        for entry in [p for p in self._paused if p[1] <= self._deliveries]:
            self._resume(entry)

    def resume_next(self) -> bool:
        """Resume the oldest paused handling (nothing else is ready); False if none is."""
        if not self._paused or threading.get_ident() != self._caller:
            return False
        self._resume(self._paused[0])
        return True

    def abandon(self) -> None:
        """Unwind every paused handling (:class:`HandlingAbandoned`), telling each to its
        ``resumed``: the hub stopped delivering with an error."""
        while self._paused and threading.get_ident() == self._caller:
            handling, _, resumed = self._paused.pop(0)
            handling.abandoned = True
            handling.go()
            handling.error = None  # whatever the unwinding raised: nobody awaits it
            resumed(handling)

    def _resume(self, entry: tuple[Handling, int, Callable[[Handling], None]]) -> None:
        self._paused.remove(entry)
        handling, _, resumed = entry
        handling.go()
        resumed(handling)
