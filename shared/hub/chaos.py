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
  message, as Pub/Sub replays a key after a lost ack.

The same seed gives the same deliveries for the same calls (on the calling
thread, :meth:`~shared.hub.memory.InMemoryHub.run_until_quiet`), so a failure is
reproduced by its seed. ``FOODDELIVERY_CHAOS_SEED=<int>`` turns chaos on for
every :class:`~shared.runtime.embedded.EmbeddedSystem` built without one.

Not modelled: a delivery that runs while another delivery of the same message
(or of another key) is still running; whole deliveries are reordered, never
interleaved.
"""

from __future__ import annotations

import os
import random
from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.exceptions import SettingError

CHAOS_ENV = "FOODDELIVERY_CHAOS_SEED"
"""The environment variable that turns chaos on, with its seed."""

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

    def __post_init__(self) -> None:
        if not 0.0 <= self.redeliver < 1.0:
            raise ValueError(f"redeliver must be in [0, 1), not {self.redeliver}")
        if self.replay_depth < 1:
            raise ValueError(f"replay_depth must be at least 1, not {self.replay_depth}")
        if self.tick_ms < 0:
            raise ValueError(f"tick_ms cannot be negative, not {self.tick_ms}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Chaos | None:
        """The chaos ``FOODDELIVERY_CHAOS_SEED`` asks for; ``None`` when it is unset or empty."""
        value = environ.get(CHAOS_ENV, "").strip()
        if not value:
            return None
        try:
            return cls(seed=int(value))
        except ValueError:
            raise SettingError(f"{CHAOS_ENV} must be an integer seed, not {value!r}") from None

    def start(self) -> ChaosRun:
        """Fresh random state for one hub."""
        return ChaosRun(self)


class ChaosRun:
    """The random choices of one hub under :class:`Chaos`."""

    MAX_KEYS = 10_000
    """Ordered keys whose recent acknowledgements are remembered (the oldest forgotten)."""

    def __init__(self, chaos: Chaos) -> None:
        self.chaos = chaos
        self._rng = random.Random(chaos.seed)
        self._acked: dict[Hashable, list[Any]] = {}

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
