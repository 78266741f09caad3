"""How long the processor keeps an idempotency key: real processors prune keys after a day.

Stripe, for one, may prune a key once it is at least 24 hours old; a request with
the key after that is a new request, which runs again (a second authorization).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DEFAULT_KEY_RETENTION_S = 24 * 60 * 60.0
"""How long the fake keeps a key after its first use unless told otherwise: a day."""


class KeyRetention:
    """Idempotency keys kept for ``retention_s`` after their first use (``None``: for good),
    by ``now_s`` (epoch seconds); thread-safe.

    A key used again once its time is up starts afresh: :meth:`current` names it anew, so
    the replays (keyed by that name) hold nothing for it and its request runs again.
    """

    def __init__(self, retention_s: float | None, now_s: Callable[[], float] = time.time) -> None:
        if retention_s is not None and not retention_s > 0:  # nan too
            raise ValueError(f"key retention must be positive, not {retention_s}")
        self._retention_s = retention_s
        self._now_s = now_s
        self._first_use: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def current(self, key: str) -> str:
        """The name the replays know ``key`` by now: a new one once the key was pruned."""
        now = self._now_s()
        with self._lock:
            first, pruned = self._first_use.get(key, (now, 0))
            if self._retention_s is not None and now - first >= self._retention_s:
                first, pruned = now, pruned + 1
            self._first_use[key] = (first, pruned)
        return key if pruned == 0 else f"{key}\x00{pruned}"
