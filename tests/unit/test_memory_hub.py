"""The in-memory hub keeps Pub/Sub's delivery semantics."""

from __future__ import annotations

import threading
import time

import pytest

from shared.clock import ManualClock, SystemClock
from shared.envelope import Envelope
from shared.exceptions import LakeError, PublishError
from shared.hub.memory import LAKE_BATCH, InMemoryHub, Subscription, dead_letter_to
from shared.hub.message import Message
from shared.hub.routing import on_types
from shared.lake import LocalDirectoryLake
from shared.lake.base import encode_batches, object_names
from shared.runtime.faults import message_from_json
from shared.runtime.outcome import Outcome
from shared.topology import Topic

COUNTED = {"max_attempts": 100, "dead_letter": lambda item, attempts: None}
"""A dead-letter policy: only under one does Pub/Sub (and the hub) report attempt numbers."""


def msg(n: int, key: str = "", type: str = "t") -> Message:
    return Message(data=str(n).encode(), attributes={"type": type}, ordering_key=key)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def hub(clock):
    hub = InMemoryHub(clock)
    for topic in Topic:
        hub.create_topic("p", topic)
    return hub


class Recorder:
    """A delivery target that fails chosen items a number of times."""

    def __init__(self, failures: dict[bytes, int] | None = None):
        self.failures = dict(failures or {})
        self.seen: list[tuple[bytes, int]] = []

    def __call__(self, message: Message, attempt: int) -> Outcome:
        self.seen.append((message.data, attempt))
        if self.failures.get(message.data, 0) > 0:
            self.failures[message.data] -= 1
            return Outcome.RETRY
        return Outcome.ACK


def test_every_subscription_gets_every_matching_message_once(hub):
    a, b = Recorder(), Recorder()
    hub.subscribe("p", "bus", Subscription("a", a))
    hub.subscribe("p", "bus", Subscription("b", b, rule=on_types("wanted")))
    hub.publish("p", "bus", [msg(1, type="wanted"), msg(2, type="other")])
    assert hub.run_until_quiet() == 3
    assert a.seen == [(b"1", 1), (b"2", 1)]
    assert b.seen == [(b"1", 1)]


def test_delivery_observers_hear_of_every_delivery_with_its_duration(hub):
    heard: list[tuple[str, float]] = []
    hub.delivery_observers.append(lambda name, seconds: heard.append((name, seconds)))
    recorder = Recorder({b"1": 1})

    def slow(message: Message, attempt: int) -> Outcome:
        time.sleep(0.05)  # a lower bound only: a busy machine makes a delivery longer
        return recorder(message, attempt)

    hub.subscribe("p", "bus", Subscription("a", slow))
    hub.publish("p", "bus", [msg(1)])
    hub.run_until_quiet()
    assert [name for name, _ in heard] == ["a", "a"]  # the retry, then the success
    assert all(seconds >= 0.05 for _, seconds in heard), heard


def test_retry_redelivers_after_backoff_counting_attempts(hub, clock):
    target = Recorder({b"1": 2})
    hub.subscribe(
        "p",
        "bus",
        Subscription("s", target, min_backoff_ms=1_000, max_backoff_ms=10_000, **COUNTED),
    )
    start = clock.now_ms()
    hub.publish("p", "bus", [msg(1)])
    hub.run_until_quiet()
    assert target.seen == [(b"1", 1), (b"1", 2), (b"1", 3)]
    assert clock.now_ms() - start == 1_000 + 2_000  # exponential backoff in virtual time


def test_without_a_dead_letter_policy_every_delivery_reports_attempt_1(hub, clock):
    # Pub/Sub sets deliveryAttempt only under a dead-letter policy (the kit reads its
    # absence as 1): code tested here must not lean on a count GCP would not give it.
    target = Recorder({b"1": 3})
    hub.subscribe(
        "p", "bus", Subscription("s", target, min_backoff_ms=1_000, max_backoff_ms=10_000)
    )
    start = clock.now_ms()
    hub.publish("p", "bus", [msg(1)])
    hub.run_until_quiet()
    assert target.seen == [(b"1", 1)] * 4
    assert clock.now_ms() - start == 1_000 + 2_000 + 4_000  # the backoff still grows


def test_exceptions_in_delivery_count_as_retry(hub):
    calls = []

    def explode(message, attempt):
        calls.append(attempt)
        if attempt == 1:
            raise RuntimeError("boom")
        return Outcome.ACK

    hub.subscribe("p", "bus", Subscription("s", explode, min_backoff_ms=1, **COUNTED))
    hub.publish("p", "bus", [msg(1)])
    hub.run_until_quiet()
    assert calls == [1, 2]


def test_order_per_key_holds_back_the_key_but_not_other_keys(hub):
    target = Recorder({b"1": 1})
    hub.subscribe("p", "bus", Subscription("s", target, min_backoff_ms=5))
    hub.publish("p", "bus", [msg(1, "k1"), msg(2, "k1"), msg(3, "k2")])
    hub.run_until_quiet()
    order = [data for data, _ in target.seen]
    assert order.index(b"3") < order.index(b"2")  # k2 was not blocked by k1's retry
    assert [d for d in order if d in (b"1", b"2")] == [b"1", b"1", b"2"]  # k1 stayed in order


def test_unordered_subscription_does_not_block_on_a_retry(hub):
    target = Recorder({b"1": 1})
    hub.subscribe("p", "bus", Subscription("s", target, ordered=False, min_backoff_ms=5))
    hub.publish("p", "bus", [msg(1, "k"), msg(2, "k")])
    hub.run_until_quiet()
    assert [d for d, _ in target.seen] == [b"1", b"2", b"1"]


def test_dead_letters_go_to_faults_with_pubsub_attributes(hub):
    faults = Recorder()
    hub.subscribe("p", "faults", Subscription("faults", faults))
    hub.subscribe(
        "p",
        "bus",
        Subscription(
            "s",
            Recorder({b"1": 99}),
            max_attempts=5,
            min_backoff_ms=1,
            dead_letter=dead_letter_to(hub, "p", "s"),
        ),
    )
    received = []
    hub.subscribe(
        "p", "faults", Subscription("peek", lambda m, a: received.append(m) or Outcome.ACK)
    )
    hub.publish("p", "bus", [msg(1, "k")])
    hub.run_until_quiet()
    assert faults.seen == [(b"1", 1)]
    [dead] = received
    assert (
        dead.attributes["CloudPubSubDeadLetterSourceSubscription"]
        == "s"  # the short id, as the emulator sends
    )
    assert dead.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    assert dead.attributes["CloudPubSubDeadLetterSourceTopicPublishTime"].endswith("Z")
    assert dead.attributes["type"] == "t"
    assert dead.is_dead_letter


def test_dead_lettered_head_unblocks_its_key(hub):
    target = Recorder({b"1": 99})
    forwarded: list[bytes] = []
    hub.subscribe(
        "p",
        "bus",
        Subscription(
            "s",
            target,
            max_attempts=5,
            min_backoff_ms=1,
            dead_letter=lambda m, a: forwarded.append(m.data),
        ),
    )
    hub.publish("p", "bus", [msg(1, "k"), msg(2, "k")])
    hub.run_until_quiet()
    assert [d for d, _ in target.seen] == [b"1"] * 5 + [b"2"]
    assert forwarded == [b"1"]


def test_without_a_dead_letter_topic_a_failing_message_is_redelivered_for_ever(hub):
    target = Recorder({b"1": 99})
    hub.subscribe("p", "bus", Subscription("s", target, min_backoff_ms=1))
    hub.publish("p", "bus", [msg(1, "k")])
    with pytest.raises(RuntimeError, match="still busy"):
        hub.run_until_quiet(max_deliveries=20)
    assert [d for d, _ in target.seen] == [b"1"] * 21


def test_an_attempt_limit_needs_a_dead_letter_topic():
    with pytest.raises(ValueError, match="needs a dead_letter"):
        Subscription("s", Recorder(), max_attempts=5)


def test_a_delivery_interrupted_by_a_base_exception_keeps_its_message_and_key(hub):
    interrupted = [False]

    def interrupt_once(message: Message, attempt: int) -> Outcome:
        if not interrupted[0]:
            interrupted[0] = True
            raise KeyboardInterrupt
        seen.append((message.data, attempt))
        return Outcome.ACK

    seen: list[tuple[bytes, int]] = []
    hub.subscribe("p", "bus", Subscription("s", interrupt_once, **COUNTED))
    hub.publish("p", "bus", [msg(1, "k"), msg(2, "k")])
    with pytest.raises(KeyboardInterrupt):
        hub.run_until_quiet()
    assert hub.run_until_quiet() == 2
    assert seen == [(b"1", 2), (b"2", 1)]
    assert hub.idle


def test_a_dead_letter_that_cannot_be_forwarded_is_kept_and_forwarded_later(hub):
    forwarded: list[tuple[bytes, int]] = []
    broken = [True]

    def forward(message: Message, attempts: int) -> None:
        if broken[0]:
            raise OSError("faults topic unavailable")
        forwarded.append((message.data, attempts))

    target = Recorder({b"1": 99})
    sub = Subscription("s", target, max_attempts=5, min_backoff_ms=1, dead_letter=forward)
    hub.subscribe("p", "bus", sub)
    hub.publish("p", "bus", [msg(1, "k"), msg(2, "k")])
    with pytest.raises(RuntimeError, match="still busy"):  # retried while it cannot be forwarded
        hub.run_until_quiet(max_deliveries=8)
    assert forwarded == []
    assert [d for d, _ in target.seen] == [b"1"] * 9  # and its key is held behind it
    broken[0] = False
    hub.run_until_quiet()
    assert forwarded == [(b"1", 10)]
    assert [d for d, _ in target.seen] == [b"1"] * 10 + [b"2"]
    assert hub.idle


def test_an_observer_that_raises_does_not_stop_delivery(hub):
    def fail(name: str, seconds: float) -> None:
        raise ValueError("observer bug")

    hub.delivery_observers.append(fail)
    target = Recorder()
    hub.subscribe("p", "bus", Subscription("s", target))
    hub.publish("p", "bus", [msg(1, "k"), msg(2, "k")])
    assert hub.run_until_quiet() == 2
    assert [d for d, _ in target.seen] == [b"1", b"2"]
    assert hub.idle


def test_a_lake_that_cannot_be_written_keeps_its_records_and_publishing_goes_on(
    clock, tmp_path, monkeypatch
):
    lake = LocalDirectoryLake(tmp_path)
    hub = InMemoryHub(clock, lake=lake)
    hub.create_topic("p", "bus")
    append = lake.append

    def disk_full(*_):
        raise LakeError("disk full")

    monkeypatch.setattr(lake, "append", disk_full)
    hub.publish("p", "bus", [msg(i) for i in range(LAKE_BATCH)])  # reaches the batch size
    with pytest.raises(LakeError):
        hub.flush_lake()
    monkeypatch.setattr(lake, "append", append)
    hub.flush_lake()
    lines = [line for name in lake.objects("p") for line in lake.read_object(name)]
    assert sorted(lines) == sorted(str(i).encode() for i in range(LAKE_BATCH))


def every_name_taken(
    lake: LocalDirectoryLake, clock: ManualClock, messages: list[Message]
) -> list[str]:
    """Copy a file under every name the object of ``messages``, published now, may take;
    those names."""
    [(name, _)] = encode_batches("p", "bus", [(clock.now_ms(), m.data) for m in messages])
    names = list(object_names(name))
    for taken in names:
        (lake.root / taken).parent.mkdir(parents=True, exist_ok=True)
        (lake.root / taken).write_bytes(b"copied here\n")
    return names


def test_messages_the_lake_can_never_store_become_faults_and_leave_the_buffer(
    hub, clock, tmp_path, monkeypatch
):
    # They stayed buffered, and every flush tried (and failed) to store them again.
    lake = LocalDirectoryLake(tmp_path)
    hub._lake = lake
    faults = Recorder()
    hub.subscribe("p", "faults", Subscription("recorder", faults))
    blocked = [msg(1), msg(2)]
    every_name_taken(lake, clock, blocked)
    hub.publish("p", "bus", blocked)
    clock.advance(3_600_000)  # the next hour's object is stored
    hub.publish("p", "bus", [msg(3)])

    hub.run_until_quiet()  # flushes the lake, then records the faults it published

    lines = [line for name in lake.objects("p") for line in lake.read_object(name)]
    assert lines == [b"copied here"] * 5 + [b"3"]
    recorded = [Envelope.from_bytes(data) for data, _ in faults.seen]
    assert {f.body["function"] for f in recorded} == {"p/kit/lake-writer"}
    assert {f.body["error"]["type"] for f in recorded} == {"NamesTaken"}
    kept = [message_from_json(f.body["message"]) for f in recorded]
    assert [(m.data, m.attributes) for m in kept] == [(b"1", {"type": "t"}), (b"2", {"type": "t"})]
    assert all(m.message_id for m in kept)  # the messages whole, as published
    appended = []
    monkeypatch.setattr(lake, "append", lambda *args: appended.append(args))
    hub.flush_lake()
    assert appended == []  # nothing left to retry


def test_the_faults_of_the_lake_name_the_hubs_environment(clock, tmp_path):
    # They named "embedded" whatever environment the embedded system was given.
    lake = LocalDirectoryLake(tmp_path)
    hub = InMemoryHub(clock, lake=lake, env="staging")
    for topic in Topic:
        hub.create_topic("p", topic)
    faults = Recorder()
    hub.subscribe("p", "faults", Subscription("recorder", faults))
    every_name_taken(lake, clock, [msg(1)])
    hub.publish("p", "bus", [msg(1)])

    hub.run_until_quiet()

    [(data, _)] = faults.seen
    assert Envelope.from_bytes(data).tags["env"] == "staging"


def test_messages_that_cannot_become_faults_stay_buffered(clock, tmp_path):
    lake = LocalDirectoryLake(tmp_path)
    hub = InMemoryHub(clock, lake=lake)
    hub.create_topic("p", "bus")  # and no faults topic to record them on
    names = every_name_taken(lake, clock, [msg(1)])
    hub.publish("p", "bus", [msg(1)])
    with pytest.raises(PublishError):
        hub.flush_lake()
    for name in names:
        (tmp_path / name).unlink()  # moved away: now they can be stored
    hub.flush_lake()
    assert [line for name in lake.objects("p") for line in lake.read_object(name)] == [b"1"]


def test_unknown_topic_is_a_publish_error(hub):
    with pytest.raises(PublishError, match="does not exist"):
        hub.publish("p", "nope", [msg(1)])
    with pytest.raises(PublishError):
        hub.subscribe("other", "bus", Subscription("s", Recorder()))


def test_message_ids_and_publish_times_are_assigned(hub):
    seen = Recorder()
    received: list[Message] = []
    hub.subscribe("p", "bus", Subscription("s", lambda m, a: received.append(m) or seen(m, a)))
    ids = hub.publisher("p").publish(Topic.BUS, [msg(1), msg(2)])
    hub.run_until_quiet()
    assert len(set(ids)) == 2
    assert [m.message_id for m in received] == ids
    assert all(m.publish_time.endswith("Z") for m in received)


def test_threaded_mode_delivers_in_the_background():
    hub = InMemoryHub(SystemClock())
    hub.create_topic("p", "bus")
    done = threading.Event()
    seen: list[bytes] = []

    def deliver(message, attempt):
        seen.append(message.data)
        if len(seen) == 100:
            done.set()
        return Outcome.ACK

    hub.subscribe("p", "bus", Subscription("s", deliver))
    hub.start()
    try:
        for i in range(100):
            hub.publish("p", "bus", [msg(i, key=f"k{i % 7}")])
        assert done.wait(5)
        assert hub.wait_until_idle(5)
    finally:
        hub.stop()
    assert sorted(seen) == sorted(str(i).encode() for i in range(100))


def test_run_until_quiet_detects_endless_loops(hub):
    def echo(message, attempt):
        hub.publish("p", "bus", [message])
        return Outcome.ACK

    hub.subscribe("p", "bus", Subscription("s", echo))
    hub.publish("p", "bus", [msg(1)])
    with pytest.raises(RuntimeError, match="still busy"):
        hub.run_until_quiet(max_deliveries=50)


def test_an_answer_after_the_ack_deadline_counts_as_a_failed_attempt(hub, clock):
    attempts: list[int] = []

    def slow_first(message, attempt):
        attempts.append(attempt)
        if attempt == 1:
            clock.advance(90_000)  # the handler took 90 s
        return Outcome.ACK

    hub.subscribe("p", "bus", Subscription("s", slow_first, ack_deadline_ms=60_000, **COUNTED))
    hub.publish("p", "bus", [msg(1)])
    hub.run_until_quiet()
    assert attempts == [1, 2]  # redelivered, as Pub/Sub would: handlers must be idempotent


@pytest.mark.parametrize("answer", [Outcome.ACK, Outcome.RETRY])
def test_the_hub_is_not_idle_until_a_deliverys_answer_is_taken_in(hub, answer):
    # A delivery observer runs after the answer, before the hub queues what comes next
    # (the key's next message, or the retry): a waiter woken then must not see it idle.
    idle_after_delivery: list[bool] = []
    hub.delivery_observers.append(lambda name, seconds: idle_after_delivery.append(hub.idle))
    answers = iter([answer, Outcome.ACK, Outcome.ACK])
    hub.subscribe("p", "bus", Subscription("s", lambda m, a: next(answers), min_backoff_ms=1))
    hub.publish("p", "bus", [msg(1, "k"), msg(2, "k")])
    hub.run_until_quiet()
    assert idle_after_delivery[0] is False
    assert hub.idle


def test_wait_until_idle_does_not_return_while_a_retry_is_being_scheduled():
    hub = InMemoryHub(SystemClock())
    hub.create_topic("p", "bus")
    answered, resume = threading.Event(), threading.Event()
    attempts: list[int] = []

    def observe(name: str, seconds: float) -> None:
        if len(attempts) == 1:  # the first answer is in; hold the worker right here
            answered.set()
            resume.wait(5)

    def fail_once(message: Message, attempt: int) -> Outcome:
        attempts.append(attempt)
        return Outcome.RETRY if attempt == 1 else Outcome.ACK

    hub.delivery_observers.append(observe)
    hub.subscribe("p", "bus", Subscription("s", fail_once, min_backoff_ms=10, **COUNTED))
    hub.start()
    try:
        hub.publish("p", "bus", [msg(1)])
        assert answered.wait(5)
        assert not hub.wait_until_idle(0.05)  # the retry is still to come
        resume.set()
        assert hub.wait_until_idle(5)
    finally:
        resume.set()
        hub.stop()
    assert attempts == [1, 2]


def test_stop_does_not_hang_on_a_hung_handler_and_the_old_worker_delivers_no_more():
    hub = InMemoryHub(SystemClock())
    hub.create_topic("p", "bus")
    entered, release = threading.Event(), threading.Event()
    seen: list[tuple[bytes, threading.Thread]] = []

    def hang_on_first(message: Message, attempt: int) -> Outcome:
        seen.append((message.data, threading.current_thread()))
        if message.data == b"1":
            entered.set()
            release.wait(10)
        return Outcome.ACK

    hub.subscribe("p", "bus", Subscription("s", hang_on_first))
    hub.start()
    try:
        hub.publish("p", "bus", [msg(1)])
        assert entered.wait(5)
        began = time.monotonic()
        assert hub.stop(timeout_s=0.2) is False  # the handler still hangs
        assert time.monotonic() - began < 2
        hub.start()  # new workers deliver what comes next; the hung one, once free, stops
        release.set()
        hung = seen[0][1]
        hung.join(5)
        assert not hung.is_alive()
        hub.publish("p", "bus", [msg(2), msg(3)])
        assert hub.wait_until_idle(5)
    finally:
        release.set()
        assert hub.stop()
    assert seen[0][0] == b"1"
    assert sorted(data for data, _ in seen[1:]) == [b"2", b"3"]  # on two workers, either first
    assert hung not in (seen[1][1], seen[2][1])  # the new pool's workers delivered them


@pytest.mark.parametrize(
    "settings, problem",
    [
        ({"max_attempts": 4}, "max delivery attempts must be 5-100, got 4"),
        ({"max_attempts": 101}, "max delivery attempts must be 5-100, got 101"),
        ({"min_backoff_ms": -1}, "backoff must satisfy"),
        ({"min_backoff_ms": 10_000, "max_backoff_ms": 5_000}, "backoff must satisfy"),
        ({"max_backoff_ms": 601_000}, "backoff must satisfy"),
        ({"ack_deadline_ms": 5_000}, "ack deadline must be 10-600 s, got 5 s"),
        ({"ack_deadline_ms": 601_000}, "ack deadline must be 10-600 s"),
    ],
)
def test_a_subscription_pubsub_would_refuse_is_refused(settings, problem):
    with pytest.raises(ValueError, match=problem):
        Subscription("s", Recorder(), dead_letter=lambda m, a: None, **settings)


def test_the_limits_themselves_are_accepted():
    for attempts, backoff_ms, deadline_ms in ((5, 0, 10_000), (100, 600_000, 600_000)):
        Subscription(
            "s",
            Recorder(),
            max_attempts=attempts,
            min_backoff_ms=backoff_ms,
            max_backoff_ms=backoff_ms,
            ack_deadline_ms=deadline_ms,
            dead_letter=lambda m, a: None,
        )


def test_a_publisher_that_changes_its_attributes_afterwards_changes_nothing_published(hub):
    # Pub/Sub copies a message when it is published; so does the hub.
    wanted = Recorder()
    hub.subscribe("p", "bus", Subscription("wanted", wanted, rule=on_types("wanted")))
    received: list[Message] = []
    hub.subscribe("p", "bus", Subscription("all", lambda m, a: received.append(m) or Outcome.ACK))
    attributes = {"type": "wanted"}
    hub.publish("p", "bus", [Message(b"1", attributes)])
    attributes["type"] = "other"  # e.g. reused to build the next message
    hub.run_until_quiet()
    assert wanted.seen == [(b"1", 1)]
    assert [dict(m.attributes) for m in received] == [{"type": "wanted"}]
