"""Chaos mode: the embedded hub delivers in the orders and with the duplicates Google allows."""

from __future__ import annotations

import itertools
import logging
import re
from collections import defaultdict
from collections.abc import Iterator

import pytest

from shared import cli, logs
from shared.clock import ManualClock
from shared.hub.chaos import CHAOS_ENV, Chaos
from shared.hub.memory import InMemoryHub, Subscription
from shared.hub.message import Message
from shared.runtime.app import SubsystemApp
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.outcome import Outcome
from shared.topology import Role, Service, ServiceKind, Subsystem, Topic, Trigger

KEYS = ("k1", "k2", "k3")


def msg(n: int, key: str = "") -> Message:
    return Message(data=f"{key}:{n}".encode(), attributes={"type": "t"}, ordering_key=key)


class Recorder:
    """Acknowledges everything, remembering (data, attempt) in delivery order."""

    def __init__(self, failures: dict[bytes, int] | None = None) -> None:
        self.failures = dict(failures or {})
        self.seen: list[tuple[bytes, int]] = []

    def __call__(self, message: Message, attempt: int) -> Outcome:
        self.seen.append((message.data, attempt))
        if self.failures.get(message.data, 0) > 0:
            self.failures[message.data] -= 1
            return Outcome.RETRY
        return Outcome.ACK

    @property
    def data(self) -> list[bytes]:
        return [data for data, _ in self.seen]


def deliver(
    chaos: Chaos | None,
    *,
    ordered: bool,
    per_key: int = 10,
    failures: dict[bytes, int] | None = None,
) -> Recorder:
    """Publish ``per_key`` messages on each of :data:`KEYS`, interleaved, and deliver them all."""
    hub = InMemoryHub(ManualClock(), chaos=chaos)
    hub.create_topic("p", Topic.BUS)
    target = Recorder(failures)
    # under a dead-letter policy, so that deliveries report their attempts, as on Pub/Sub
    sub = Subscription(
        "s",
        target,
        ordered=ordered,
        min_backoff_ms=5,
        max_attempts=100,
        dead_letter=lambda m, a: None,
    )
    hub.subscribe("p", Topic.BUS, sub)
    hub.publish("p", Topic.BUS, [msg(n, key) for n in range(per_key) for key in KEYS])
    hub.run_until_quiet()
    return target


def by_key(data: list[bytes]) -> dict[str, list[int]]:
    """Each key's message numbers, in the order they were delivered."""
    found: dict[str, list[int]] = defaultdict(list)
    for item in data:
        key, n = item.decode().split(":")
        found[key].append(int(n))
    return found


def keeps_key_order(sequence: list[int]) -> bool:
    """Each delivery is the key's next message, or a replay going back to an earlier one
    (after which the key goes on in order again); nothing is skipped."""
    return sequence[:1] == [0] and all(
        b == a + 1 or b <= a for a, b in itertools.pairwise(sequence)
    )


def test_chaos_is_off_unless_asked_for(monkeypatch):
    monkeypatch.delenv(CHAOS_ENV, raising=False)
    assert Chaos.from_env() is None
    assert EmbeddedSystem([], clock=ManualClock()).hub.chaos is None
    fifo = deliver(None, ordered=False)
    assert fifo.data == [msg(n, key).data for n in range(10) for key in KEYS]


def test_the_environment_turns_chaos_on_with_its_seed(monkeypatch):
    monkeypatch.setenv(CHAOS_ENV, " 42 ")
    system = EmbeddedSystem([], clock=ManualClock())
    assert system.hub.chaos is not None and system.hub.chaos.chaos == Chaos(seed=42)
    monkeypatch.setenv(CHAOS_ENV, "")
    assert Chaos.from_env() is None
    monkeypatch.setenv(CHAOS_ENV, "lots")
    with pytest.raises(ValueError, match=CHAOS_ENV):
        Chaos.from_env()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"redeliver": 1.0}, "redeliver must be in [0, 1), not 1.0"),
        ({"replay_depth": 0}, "replay_depth must be at least 1, not 0"),
        ({"tick_ms": -1}, "tick_ms cannot be negative, not -1"),
    ],
)
def test_settings_out_of_range_are_refused(settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Chaos(seed=1, **settings)


def test_unordered_deliveries_are_shuffled_each_once_without_redelivery():
    target = deliver(Chaos(seed=1, redeliver=0.0), ordered=False)
    published = [msg(n, key).data for n in range(10) for key in KEYS]
    assert sorted(target.data) == sorted(published)
    assert target.data != published


def test_an_ordered_key_is_never_reordered_though_keys_are():
    for seed in range(20):
        target = deliver(Chaos(seed=seed, redeliver=0.0), ordered=True)
        assert by_key(target.data) == {key: list(range(10)) for key in KEYS}, seed
    fifo_keys = [key for _ in range(10) for key in KEYS]
    assert [d.decode().split(":")[0] for d in target.data] != fifo_keys


def test_an_ordered_key_stays_in_order_through_retries_and_replays():
    fail_once = {msg(n, key).data: 1 for n in (2, 5) for key in KEYS}
    for seed in range(20):
        target = deliver(Chaos(seed=seed, redeliver=0.3), ordered=True, failures=fail_once)
        delivered = by_key(target.data)
        assert sorted(delivered) == sorted(KEYS), seed
        for key, sequence in delivered.items():
            assert keeps_key_order(sequence), (seed, key, sequence)
            assert set(sequence) == set(range(10))


def test_acknowledged_messages_come_again_an_ordered_key_replaying_what_followed():
    unordered = deliver(Chaos(seed=3, redeliver=0.3), ordered=False)
    assert len(unordered.seen) > 30
    assert set(unordered.data) == {msg(n, key).data for n in range(10) for key in KEYS}
    assert any(attempt > 1 for _, attempt in unordered.seen)  # attempts go on counting

    ordered = deliver(Chaos(seed=3, redeliver=0.3), ordered=True)
    sequences = by_key(ordered.data).values()
    assert sum(map(len, sequences)) > 30
    # somewhere a key went back more than one message: the one whose ack was "lost"
    # comes again with the messages acknowledged after it, in their order
    assert any(
        b <= a - 1 and sequence[i + 2 : i + 3] == [b + 1]
        for sequence in sequences
        for i, (a, b) in enumerate(itertools.pairwise(sequence))
    )


def test_a_seed_reproduces_its_deliveries_and_another_seed_differs():
    runs = [
        deliver(Chaos(seed=seed), ordered=ordered).seen
        for seed in (7, 7, 8)
        for ordered in (True, False)
    ]
    assert runs[0] == runs[2] and runs[1] == runs[3]
    assert runs[0] != runs[4] and runs[1] != runs[5]


def watcher(handled: list[tuple[int, str]]) -> SubsystemApp[None]:
    def record(change, ctx):
        handled.append((change.after["n"], change.version))

    topology = Subsystem(
        "watcher",
        (
            Service(
                "svc",
                ServiceKind.CONTROL,
                (Trigger("on-doc", Role.TRIGGER, collection="docs", handlers=(record,)),),
            ),
        ),
    )
    return SubsystemApp(topology, lambda infra: None)


def test_a_trigger_gets_changes_out_of_write_order_and_some_twice():
    handled: list[tuple[int, str]] = []
    system = EmbeddedSystem([watcher(handled)], clock=ManualClock(), chaos=Chaos(seed=5))
    for n in range(30):
        system.stores["watcher"].put("docs", "d1", {"n": n})
    system.run_until_quiet()
    numbers = [n for n, _ in handled]
    assert set(numbers) == set(range(30))
    assert numbers != sorted(numbers)
    assert len(numbers) > len(set(numbers))  # a redelivered change keeps its version
    assert len(set(handled)) == 30


def test_under_chaos_each_write_moves_a_manual_clock_on_so_no_two_share_a_millisecond():
    written: list[int] = []
    clock = ManualClock()
    start = clock.now_ms()
    system = EmbeddedSystem([watcher([])], clock=clock, chaos=Chaos(seed=5))
    system.stores["watcher"].watch("docs", lambda change: written.append(change.written_ms))
    for n in range(3):
        system.stores["watcher"].put("docs", "d1", {"n": n})
    assert written == [start + 1, start + 2, start + 3] and clock.now_ms() == start + 3

    still = ManualClock()
    frozen = EmbeddedSystem([watcher([])], clock=still, chaos=Chaos(seed=5, tick_ms=0))
    frozen.stores["watcher"].put("docs", "d1", {"n": 1})
    assert still.now_ms() == start


@pytest.fixture
def kit_logging() -> Iterator[None]:
    """The kit's logging as it was before the test: the demo configures it for the process."""
    root = logging.getLogger(logs.ROOT)
    handlers, level, propagate = list(root.handlers), root.level, root.propagate
    yield
    root.handlers[:] = handlers
    root.propagate = propagate
    root.setLevel(level)


@pytest.mark.usefixtures("kit_logging")
def test_a_seed_that_is_no_integer_stops_the_demo_with_a_message(monkeypatch, capsys):
    monkeypatch.setenv(CHAOS_ENV, "abc")

    assert cli.main(["demo", "--orders", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"fooddelivery demo: {CHAOS_ENV} must be an integer seed, not 'abc'"
    )
