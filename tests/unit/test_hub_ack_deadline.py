"""A delivery past its subscription's ack deadline is a failed attempt, as a push request
that timed out is on Pub/Sub: redelivered (in threaded mode while the first still runs, a
new worker in its held one's place), counted, dead-lettered after the last attempt, its
late answer ignored; stopping or waiting for the hub waits for its handler to return."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.hub import memory
from shared.hub.memory import InMemoryHub, Subscription
from shared.hub.message import Message
from shared.runtime.outcome import Outcome
from tests.unit import hub_fixtures
from tests.unit.hub_fixtures import msg

DEADLINE_MS = 10_000
WAIT_S = 5.0
HANG_S = 30.0
"""How long a held handler waits to be released: longer than any test runs."""

clock, hub = hub_fixtures.clock, hub_fixtures.hub  # the fixtures


class Held:
    """A handler whose first delivery of ``b"1"`` hangs until released, then answers
    ``stale``; every other delivery is recorded and acknowledged."""

    def __init__(self, stale: Outcome) -> None:
        self.stale = stale
        self.entered, self.release = threading.Event(), threading.Event()
        self.returned = threading.Event()
        self.seen: list[tuple[bytes, int]] = []
        self._lock = threading.Lock()

    def __call__(self, message: Message, attempt: int) -> Outcome:
        with self._lock:
            self.seen.append((message.data, attempt))
            first = message.data == b"1" and attempt == 1
        if not first:
            return Outcome.ACK
        self.entered.set()
        self.release.wait(HANG_S)
        self.returned.set()
        return self.stale

    def wait_for(self, count: int) -> list[tuple[bytes, int]]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.seen) >= count:
                    return list(self.seen)
            time.sleep(0.005)
        pytest.fail(f"expected {count} deliveries, got {self.seen}")


def deadline_subscription(
    deliver: memory.Deliver, dead_letter: Callable[[Any, int], None] = lambda item, n: None
) -> Subscription:
    """Subscription ``s`` with a 10 s ack deadline, 5 attempts and no backoff."""
    return Subscription(
        "s",
        deliver,
        max_attempts=5,
        dead_letter=dead_letter,
        min_backoff_ms=0,
        ack_deadline_ms=DEADLINE_MS,
    )


@pytest.fixture
def threaded(hub: InMemoryHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryHub]:
    monkeypatch.setattr(memory, "WATCH_INTERVAL_S", 0.01)
    yield hub
    hub.stop(timeout_s=WAIT_S)


@pytest.mark.parametrize("stale", [Outcome.ACK, Outcome.RETRY])
def test_a_hung_delivery_is_redelivered_at_its_deadline_while_it_still_runs(
    threaded: InMemoryHub, clock: ManualClock, stale: Outcome, caplog: pytest.LogCaptureFixture
) -> None:
    held = Held(stale)
    threaded.subscribe("p", "bus", deadline_subscription(held))
    threaded.start()
    try:
        hold_and_expire(threaded, clock, held, caplog)
    finally:
        held.release.set()


def hold_and_expire(
    threaded: InMemoryHub, clock: ManualClock, held: Held, caplog: pytest.LogCaptureFixture
) -> None:
    threaded.publish("p", "bus", [msg("1", "k"), msg("2", "k"), msg("3", "other")])
    assert held.entered.wait(WAIT_S)
    assert sorted(held.wait_for(2)) == [(b"1", 1), (b"3", 1)]  # another key goes on
    assert not threaded.wait_until_idle(0.05)  # the key's next message waits

    clock.advance(DEADLINE_MS + 1)

    # The expired message comes again while its first attempt still runs, and only after
    # it the key's next message.
    assert held.wait_for(4)[2:] == [(b"1", 2), (b"2", 1)]
    assert "s has not answered message 1 within its ack deadline (10 s)" in caplog.text
    assert not threaded.wait_until_idle(0.05)  # the stale handler still runs
    assert not held.returned.is_set()

    held.release.set()
    assert threaded.wait_until_idle(WAIT_S)
    assert held.returned.is_set()
    assert f"s answered {held.stale.name} after its ack deadline: ignored" in caplog.text

    threaded.publish("p", "bus", [msg("4", "k")])  # the stale answer neither acknowledged
    assert threaded.wait_until_idle(WAIT_S)  # the key's head nor asked for it again
    assert held.seen[2:] == [(b"1", 2), (b"2", 1), (b"4", 1)]


def test_an_expired_last_attempt_is_dead_lettered(
    threaded: InMemoryHub, clock: ManualClock
) -> None:
    forwarded: list[tuple[bytes, int]] = []
    entered = threading.Semaphore(0)
    release = threading.Event()

    def hang(message: Message, attempt: int) -> Outcome:
        entered.release()
        release.wait(HANG_S)
        return Outcome.ACK

    threaded.subscribe(
        "p",
        "bus",
        deadline_subscription(hang, lambda item, attempts: forwarded.append((item.data, attempts))),
    )
    threaded.start()
    try:
        threaded.publish("p", "bus", [msg("1")])
        for _ in range(5):  # more hung handlers than workers: each one is replaced
            assert entered.acquire(timeout=WAIT_S)
            clock.advance(DEADLINE_MS + 1)
        deadline = time.monotonic() + WAIT_S
        while not forwarded:  # the watch expires the last attempt
            assert time.monotonic() < deadline, "not dead-lettered"
            time.sleep(0.005)
        assert not threaded.wait_until_idle(0.05)  # the five stale handlers still run
    finally:
        release.set()
    assert threaded.wait_until_idle(WAIT_S)
    assert forwarded == [(b"1", 5)]


def test_on_the_callers_thread_a_handler_slower_than_its_deadline_by_the_wall_clock_is_redelivered(
    hub: InMemoryHub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A manual clock stands still while a handler runs; the wall clock does not.
    wall = [1000.0]
    monkeypatch.setattr(memory, "time", type("Wall", (), {"perf_counter": lambda: wall[0]}))
    attempts: list[int] = []

    def slow_first(message: Message, attempt: int) -> Outcome:
        attempts.append(attempt)
        if attempt == 1:
            wall[0] += DEADLINE_MS / 1000 + 1  # the handler took 11 s of real time
        return Outcome.ACK

    hub.subscribe("p", "bus", deadline_subscription(slow_first))
    hub.publish("p", "bus", [msg("1")])
    hub.run_until_quiet()
    assert attempts == [1, 2]
    assert "s answered 1000 ms past its ack deadline (10 s)" in caplog.text


def test_the_deadline_watch_logs_a_failure_and_watches_on(
    threaded: InMemoryHub,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = InMemoryHub._expire_overdue
    failed = threading.Event()

    def fails_once(self: InMemoryHub) -> None:
        if not failed.is_set():
            failed.set()
            raise RuntimeError("can't start new thread")
        real(self)

    monkeypatch.setattr(InMemoryHub, "_expire_overdue", fails_once)
    held = Held(Outcome.ACK)
    threaded.subscribe("p", "bus", deadline_subscription(held))
    threaded.start()
    try:
        assert failed.wait(WAIT_S)
        threaded.publish("p", "bus", [msg("1")])
        assert held.entered.wait(WAIT_S)

        clock.advance(DEADLINE_MS + 1)

        assert held.wait_for(2) == [(b"1", 1), (b"1", 2)]  # expired, redelivered
    finally:
        held.release.set()
    assert threaded.wait_until_idle(WAIT_S)
    [failure] = [r for r in caplog.records if r.exc_info is not None]
    assert failure.name == "fooddelivery.hub"
    assert "can't start new thread" in str(failure.exc_info[1])


def test_a_worker_that_cannot_be_started_in_a_held_ones_place_is_tried_again(
    threaded: InMemoryHub,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(memory, "WORKERS", 1)  # the held worker is the only one
    real = InMemoryHub._start_worker
    starts = 0

    def second_start_fails(self: InMemoryHub) -> None:
        nonlocal starts
        starts += 1
        if starts == 2:  # the replacement's first try
            raise RuntimeError("can't start new thread")
        real(self)

    monkeypatch.setattr(InMemoryHub, "_start_worker", second_start_fails)
    held = Held(Outcome.ACK)
    threaded.subscribe("p", "bus", deadline_subscription(held))
    threaded.start()
    try:
        threaded.publish("p", "bus", [msg("1", "k"), msg("2", "k"), msg("3")])
        assert held.entered.wait(WAIT_S)

        clock.advance(DEADLINE_MS + 1)

        # Delivery goes on while the held handler still hangs.
        assert sorted(held.wait_for(4)) == [(b"1", 1), (b"1", 2), (b"2", 1), (b"3", 1)]
        assert not held.returned.is_set()
    finally:
        held.release.set()
    assert threaded.wait_until_idle(WAIT_S)
    assert starts == 3
    assert "could not start a worker in place of one held past an ack deadline" in caplog.text


def test_stop_waits_for_a_handler_past_its_ack_deadline(
    threaded: InMemoryHub, clock: ManualClock
) -> None:
    held = Held(Outcome.ACK)
    threaded.subscribe("p", "bus", deadline_subscription(held))
    threaded.start()
    threaded.publish("p", "bus", [msg("1")])
    assert held.entered.wait(WAIT_S)
    clock.advance(DEADLINE_MS + 1)
    assert held.wait_for(2) == [(b"1", 1), (b"1", 2)]  # expired, redelivered
    release = threading.Timer(0.2, held.release.set)
    release.start()
    try:
        assert threaded.stop(timeout_s=WAIT_S)
        assert held.returned.is_set()
    finally:
        release.cancel()
        held.release.set()


def test_stop_gives_up_on_a_stale_handler_after_its_timeout_and_says_so(
    threaded: InMemoryHub, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    held = Held(Outcome.ACK)
    threaded.subscribe("p", "bus", deadline_subscription(held))
    threaded.start()
    try:
        threaded.publish("p", "bus", [msg("1")])
        assert held.entered.wait(WAIT_S)
        clock.advance(DEADLINE_MS + 1)
        assert held.wait_for(2) == [(b"1", 1), (b"1", 2)]
        assert not threaded.wait_until_idle(0.05)
        assert "1 handler(s) past their ack deadline still run after 0.05 s" in caplog.text
        began = time.monotonic()
        assert threaded.stop(timeout_s=0.2) is False
        assert time.monotonic() - began < WAIT_S
        assert "1 handler(s) still run 0.2 s after stop(); not waiting" in caplog.text
    finally:
        held.release.set()
    assert held.returned.wait(WAIT_S)
