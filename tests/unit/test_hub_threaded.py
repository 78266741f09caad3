"""Threaded mode delivers concurrently, as Pub/Sub does: on a pool of workers, where only
messages of the same ordering key on an ordered subscription wait for each other, so a hung
handler holds its own key and no other key or subscription."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable

import pytest

from shared.clock import SystemClock
from shared.hub import memory
from shared.hub.memory import InMemoryHub, Subscription
from shared.hub.message import Message
from shared.runtime.outcome import Outcome
from tests.unit import hub_fixtures
from tests.unit.hub_fixtures import msg

WAIT_S = 5.0
HANG_S = 30.0
"""How long a held handler waits to be released: longer than any test runs."""

clock, hub = hub_fixtures.clock, hub_fixtures.hub  # the fixtures


def wait_until(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.005)


def test_a_hung_handler_holds_only_its_own_key(hub: InMemoryHub) -> None:
    release = threading.Event()
    lock = threading.Lock()
    seen: dict[str, list[bytes]] = {"s": [], "t": []}

    def recording(name: str) -> memory.Deliver:
        def deliver(message: Message, attempt: int) -> Outcome:
            with lock:
                seen[name].append(message.data)
            if name == "s" and message.data == b"1":
                release.wait(HANG_S)
            return Outcome.ACK

        return deliver

    hub.subscribe("p", "bus", Subscription("s", recording("s")))
    hub.subscribe("p", "bus", Subscription("t", recording("t")))
    hub.start()
    try:
        hub.publish("p", "bus", [msg("1", "k"), msg("2", "k"), msg("3", "other"), msg("4")])

        # While s hangs on 1, s gets the other key's message and the unordered one, and t
        # gets everything; only s's next message of key k waits.
        wait_until(lambda: len(seen["s"]) == 3 and len(seen["t"]) == 4)
        assert sorted(seen["s"]) == [b"1", b"3", b"4"]
        assert seen["t"].index(b"1") < seen["t"].index(b"2")
        assert not hub.wait_until_idle(0.05)
    finally:
        release.set()
    assert hub.wait_until_idle(WAIT_S)
    assert seen["s"][3:] == [b"2"]
    assert hub.stop()


def test_deliveries_run_concurrently_each_key_in_order_each_message_acknowledged() -> None:
    hub = InMemoryHub(SystemClock())
    hub.create_topic("p", "bus")
    lock = threading.Lock()
    running = most = 0
    seen: dict[str, list[bytes]] = defaultdict(list)
    refused: set[bytes] = set()
    acked: list[bytes] = []

    def deliver(message: Message, attempt: int) -> Outcome:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            seen[message.ordering_key].append(message.data)
        time.sleep(0.002)
        with lock:
            running -= 1
            if int(message.data) % 7 == 0 and message.data not in refused:
                refused.add(message.data)  # every 7th is refused once: it comes again
                return Outcome.RETRY
            acked.append(message.data)
        return Outcome.ACK

    hub.subscribe("p", "bus", Subscription("s", deliver, min_backoff_ms=1))
    keys = [f"k{i % 5}" if i < 80 else "" for i in range(100)]
    hub.start()
    try:
        for i, key in enumerate(keys):
            hub.publish("p", "bus", [msg(str(i), key)])
        assert hub.wait_until_idle(WAIT_S)
    finally:
        assert hub.stop()

    assert 1 < most <= memory.WORKERS
    assert sorted(acked) == sorted(str(i).encode() for i in range(100))
    for key in {k for k in keys if k}:  # a refused message came again before the key's next
        published = [str(i).encode() for i, k in enumerate(keys) if k == key]
        got = seen[key]
        assert [d for n, d in enumerate(got) if n == 0 or got[n - 1] != d] == published


def test_a_start_that_fails_partway_stops_the_workers_it_started(
    hub: InMemoryHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers started before the failure delivered on until stop().
    started: list[threading.Thread] = []
    start_worker = hub._start_worker

    def third_fails() -> None:
        if len(started) == 2:
            raise RuntimeError("can't start new thread")
        start_worker()
        started.extend(t for t in hub._workers.values() if t not in started)

    monkeypatch.setattr(hub, "_start_worker", third_fails)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        hub.start()
    assert len(started) == 2
    wait_until(lambda: not any(t.is_alive() for t in started))
    seen: list[bytes] = []
    hub.subscribe("p", "bus", Subscription("s", lambda m, _: seen.append(m.data) or Outcome.ACK))
    hub.publish("p", "bus", [msg("1")])
    time.sleep(0.05)
    assert seen == []  # nothing delivers: the hub is as it was before start()

    monkeypatch.undo()
    hub.start()  # and starts as ever
    try:
        wait_until(lambda: seen == [b"1"])
    finally:
        assert hub.stop()
