"""Staff on autopilot, for the local dev stack: accept each new order, later mark it ready.

Each order is accepted (15 minutes of preparation) ``delay_s`` seconds after it
arrives, and marked ready ``delay_s`` seconds after that. A failed callback is
tried again after the same delay, up to :data:`MAX_ATTEMPTS` times; an order
whose state changed meanwhile (cancelled, answered by hand) is left alone. Stopping
waits at most :data:`STOP_WAIT_S` for an answer whose callback is on its way, so a
webhook that hangs does not hold the fake up for the callback's whole timeout.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
import time
from typing import Literal

from fakes.point_of_sale.callbacks import CallbackFailed
from fakes.point_of_sale.orders import PointOfSale
from fakes.web import FakeError

PREP_MINUTES = 15
MAX_ATTEMPTS = 3
STOP_WAIT_S = 1.0
"""How long :meth:`AutoAnswerer.stop` waits for an answer in progress (its callback)."""
Step = Literal["accept", "ready"]
_log = logging.getLogger("fakes.point_of_sale")


class AutoAnswerer:
    """A daemon thread answering orders on a schedule; :meth:`stop` ends it."""

    def __init__(self, pos: PointOfSale, delay_s: float) -> None:
        if not (math.isfinite(delay_s) and delay_s >= 0):
            raise ValueError(f"the auto-answer delay must be seconds, 0 or more, not {delay_s}")
        self._pos = pos
        self._delay_s = delay_s
        self._due: list[tuple[float, int, str, Step, int]] = []
        self._sequence = itertools.count()
        self._wakeup = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="pos-auto-answer", daemon=True)
        self._thread.start()
        pos.on_received.append(self.schedule)

    def schedule(self, order_id: str, step: Step = "accept", attempt: int = 1) -> None:
        """Perform ``step`` on the order after the delay."""
        due = time.monotonic() + self._delay_s
        with self._wakeup:
            heapq.heappush(self._due, (due, next(self._sequence), order_id, step, attempt))
            self._wakeup.notify()

    def stop(self) -> None:
        """Stop answering; wait for an answer in progress at most :data:`STOP_WAIT_S`, after
        which its daemon thread ends with the process; idempotent."""
        with self._wakeup:
            self._stopped = True
            self._wakeup.notify()
        self._thread.join(STOP_WAIT_S)

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._stopped and not self._is_due():
                    timeout = self._due[0][0] - time.monotonic() if self._due else None
                    self._wakeup.wait(timeout)
                if self._stopped:
                    return
                _, _, order_id, step, attempt = heapq.heappop(self._due)
            self._perform(order_id, step, attempt)

    def _is_due(self) -> bool:
        return bool(self._due) and self._due[0][0] <= time.monotonic()

    def _perform(self, order_id: str, step: Step, attempt: int) -> None:
        try:
            if step == "accept":
                self._pos.accept(order_id, PREP_MINUTES)
                self.schedule(order_id, "ready")
            else:
                self._pos.ready(order_id)
        except CallbackFailed as e:
            if attempt < MAX_ATTEMPTS:
                self.schedule(order_id, step, attempt + 1)
            _log.warning(
                "auto-%s of order %s, attempt %d of %d: %s; %s",
                step,
                order_id,
                attempt,
                MAX_ATTEMPTS,
                e,
                "trying again"
                if attempt < MAX_ATTEMPTS
                else f"gave up: answer it by hand (POST /orders/{order_id}/{step})",
            )
        except FakeError as e:
            _log.info("auto-%s of order %s skipped: %s", step, order_id, e)
        except Exception:
            _log.exception("auto-%s of order %s failed", step, order_id)
