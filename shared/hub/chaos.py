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
* with an ``overlap`` rate (off by default), **overlaps deliveries**, as GCP does
  when a handler still runs at its message's ack deadline: at a point inside a
  handling on the calling thread (each time the handler publishes, or one of its
  document writes queues a change for a trigger) the delivery now and then overruns
  its deadline. It is counted failed there, and its queue is delivered meanwhile,
  nested: the message again (its backoff not waited for), then, once that is
  acknowledged, its ordering key's next messages, until one is not or none is left.
  Then the first handling goes on, its answer ignored. Those points come between a
  handler's store calls, never inside a transaction: a Firestore transaction that a
  later handling overtakes is retried, which is the same as that handling committing
  before it began.

The same seed gives the same deliveries for the same calls (on the calling
thread, :meth:`~shared.hub.memory.InMemoryHub.run_until_quiet`), so a failure is
reproduced by its seed. ``FOODDELIVERY_CHAOS_SEED=<int>`` turns chaos on for
every :class:`~shared.runtime.embedded.EmbeddedSystem` built without one;
``FOODDELIVERY_CHAOS_OVERLAP=<rate>`` adds overlapping deliveries to it.

A delivery made meanwhile may overrun in turn, up to
:attr:`ChaosRun.MAX_OVERLAPPING` handlings at once. Not modelled: an overrun at a
point other than a publish or a queued change (between a read and a write, say).
"""

from __future__ import annotations

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
    overruns its ack deadline there (at most once per delivery); 0 (the default) draws
    nothing, so a seed's run stays what it was."""

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


class ChaosRun:
    """The random choices of one hub under :class:`Chaos`."""

    MAX_KEYS = 10_000
    """Ordered keys whose recent acknowledgements are remembered (the oldest forgotten)."""
    MAX_OVERLAPPING = 3
    """How many handlings of one thread may run at once under ``overlap``, each but the
    innermost past its ack deadline."""

    def __init__(self, chaos: Chaos) -> None:
        self.chaos = chaos
        self._rng = random.Random(chaos.seed)
        self._acked: dict[Hashable, list[Any]] = {}
        self._overlaps = random.Random(f"overlap:{chaos.seed}")
        """Draws only for overlaps: the shuffles and redeliveries draw as without."""
        self._running: list[tuple[int, Callable[[], None] | None]] = []
        """The deliveries in progress, the innermost last, each with the thread making it
        and how it overruns its ack deadline (``None`` once it has)."""

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

    def overlapped(self, deliver: Callable[[], Outcome], overrun: Callable[[], None]) -> Outcome:
        """Make a delivery on this thread with ``deliver``, its answer returned; at one of the
        :meth:`point` calls it makes, ``overrun`` may be called: its ack deadline passes."""
        if not self.chaos.overlap or len(self._running) >= self.MAX_OVERLAPPING - 1:
            return deliver()  # the last of those at once: it does not overrun
        if self._running and self._running[0][0] != threading.get_ident():
            return deliver()  # another thread's: run_until_quiet is being run on two
        self._running.append((threading.get_ident(), overrun))
        try:
            return deliver()
        finally:
            self._running.pop()

    def point(self) -> None:
        """A point inside the delivery being made on this thread, if any, where it may overrun
        its ack deadline: now and then it does, and the deliveries that come meanwhile run."""
        if not self._running:
            return
        thread, overrun = self._running[-1]
        if thread != threading.get_ident() or overrun is None:
            return
        if self._overlaps.random() >= self.chaos.overlap:
            return
        self._running[-1] = (thread, None)  # once per delivery
        overrun()
