"""The dev stack's lake writer keeps up with its bus: the emulator hands out at most 100
messages a pull, so one pull every few seconds would store only 20 messages a second."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import pytest

from devstack.lake import LakeWriter, publish_ms
from shared.envelope import Envelope
from shared.exceptions import LakeError, PublishError
from shared.hub.message import Message
from shared.lake.base import NamesTaken, encode_batches, object_names
from shared.lake.local import LocalDirectoryLake
from shared.runtime.faults import message_from_json
from shared.topology.model import Topic

PAGE = 100
"""What the Pub/Sub emulator returns at most for one pull, whatever ``max_messages`` asks."""


def message(n: int) -> Message:
    return Message(data=b'{"n":%d}' % n, publish_time="2026-01-31T14:00:00.000000Z")


class Subscription:
    """A pull subscription holding ``backlog`` messages, handed out a page a pull; with
    ``trickle`` every pull after the backlog waits a moment and returns one more."""

    def __init__(self, backlog: int, trickle: bool = False, pull_s: float = 0.0) -> None:
        self.waiting = deque(message(n) for n in range(backlog))
        self.trickle, self.next, self.pull_s = trickle, backlog, pull_s
        self.pulls = 0
        self.acked: list[str] = []

    def pull(self) -> list[tuple[str, Message]]:
        self.pulls += 1
        time.sleep(self.pull_s)
        if not self.waiting and self.trickle:
            time.sleep(0.05)
            self.waiting.append(message(self.next))
            self.next += 1
        page = [self.waiting.popleft() for _ in range(min(PAGE, len(self.waiting)))]
        return [(f"ack-{m.data.decode()}", m) for m in page]

    def ack(self, ack_ids: list[str]) -> None:
        self.acked += ack_ids

    def nack(self, ack_ids: list[str]) -> None:
        raise AssertionError("nothing fails here")

    def close(self) -> None:
        pass


def stored(lake: LocalDirectoryLake) -> int:
    return sum(len(list(lake.read_object(name))) for name in lake.objects("order"))


def written_within(writer: LakeWriter, count: int, seconds: float = 4.5) -> None:
    """Wait until ``writer`` has written ``count`` messages; fail after ``seconds``, less than
    the 5 s a writer waits once caught up, so a writer that waited between batches fails."""
    deadline = time.monotonic() + seconds
    while writer.written < count:
        assert time.monotonic() < deadline, f"{writer.written} of {count} written"
        time.sleep(0.02)


def test_one_batch_takes_the_whole_backlog_not_one_page(tmp_path: Any) -> None:
    subscription = Subscription(backlog=350)
    lake = LocalDirectoryLake(tmp_path)
    writer = LakeWriter("order", subscription, lake)  # type: ignore[arg-type]

    assert writer.write_batch() == 350
    assert stored(lake) == 350 and len(subscription.acked) == 350
    assert len(lake.objects("order")) == 1  # one object for the hour, not one a page


def test_a_backlog_is_written_batch_after_batch_without_waiting(tmp_path: Any) -> None:
    subscription = Subscription(backlog=2500)
    lake = LocalDirectoryLake(tmp_path)
    writer = LakeWriter("order", subscription, lake)  # type: ignore[arg-type]
    writer.start()
    written_within(writer, 2500)
    writer.stop()

    assert stored(lake) == 2500
    assert len(lake.objects("order")) == 3  # MAX_BATCH (1000), 1000, then the 500 left


def test_a_trickle_is_stored_within_the_fill_time(tmp_path: Any) -> None:
    subscription = Subscription(backlog=1, trickle=True)  # never comes back empty
    lake = LocalDirectoryLake(tmp_path)
    writer = LakeWriter("order", subscription, lake, fill_s=0.3)  # type: ignore[arg-type]

    started = time.monotonic()
    written = writer.write_batch()
    assert time.monotonic() - started < 1.0
    assert 1 < written < 1000
    assert stored(lake) == written == len(subscription.acked)


def test_a_batch_cut_short_by_slow_pulls_is_followed_at_once(tmp_path: Any) -> None:
    subscription = Subscription(backlog=600, pull_s=0.1)  # a busy emulator: 1000/s at best
    lake = LocalDirectoryLake(tmp_path)
    writer = LakeWriter("order", subscription, lake, fill_s=0.25)  # type: ignore[arg-type]
    writer.start()
    written_within(writer, 600)
    writer.stop()

    assert stored(lake) == 600
    assert len(lake.objects("order")) > 1  # the fill time cut the backlog into batches


def test_a_message_without_publish_time_is_filed_under_the_hour_it_is_stored(tmp_path):
    subscription = Subscription(0)
    subscription.waiting.append(Message(data=b'{"n":0}'))  # no publish time
    lake = LocalDirectoryLake(tmp_path)
    before = time.time()
    LakeWriter("order", subscription, lake).write_batch()  # type: ignore[arg-type]

    [name] = lake.objects("order")
    hours = {time.strftime("%Y/%m/%d/%H", time.gmtime(t)) for t in (before, time.time())}
    assert name.split("/", 2)[2].rsplit("/", 1)[0] in hours  # not 1970/01/01/00


class FailingLake(LocalDirectoryLake):
    def append(self, subsystem: str, topic: str, records: Any) -> None:
        raise LakeError("the bucket is gone")


class NackedSubscription(Subscription):
    def __init__(self, backlog: int) -> None:
        super().__init__(backlog)
        self.nacked: list[str] = []

    def nack(self, ack_ids: list[str]) -> None:
        self.nacked += ack_ids


def test_a_batch_the_lake_refuses_is_handed_back_not_acknowledged(tmp_path: Any) -> None:
    """At least once: a message is acknowledged only once the lake stored it."""
    subscription = NackedSubscription(backlog=150)
    writer = LakeWriter("order", subscription, FailingLake(tmp_path))  # type: ignore[arg-type]

    with pytest.raises(LakeError):
        writer.write_batch()
    assert subscription.acked == []
    assert len(subscription.nacked) == 150
    assert writer.written == 0


def test_a_batch_whose_name_holds_another_file_is_stored_next_to_it(tmp_path: Any) -> None:
    # It was acknowledged unstored: the file under its name was taken for its own.
    batch = [(1769868000000, message(n).data) for n in range(3)]
    [(name, content)] = encode_batches("order", "bus", batch)
    foreign = tmp_path / name
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"copied here by hand\n")
    subscription = NackedSubscription(backlog=3)
    lake = LocalDirectoryLake(tmp_path)

    assert LakeWriter("order", subscription, lake).write_batch() == 3  # type: ignore[arg-type]
    assert len(subscription.acked) == 3 and subscription.nacked == []
    assert foreign.read_bytes() == b"copied here by hand\n"
    assert (tmp_path / name.replace(".jsonl", "-2.jsonl")).read_bytes() == content
    assert stored(lake) == 4  # the foreign line, left for readers to skip, and the batch


class Faults:
    """A publisher of the subsystem's faults topic that records what it is given."""

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.published: list[tuple[Topic, list[Message]]] = []

    def publish(self, topic: Topic, messages: Any) -> list[str]:
        if self.fails:
            raise PublishError("the faults topic is gone")
        self.published.append((topic, list(messages)))
        return [str(n) for n in range(len(messages))]


def blocked_hour(tmp_path: Any) -> tuple[NackedSubscription, list[Message], list[str]]:
    """A backlog of two hours' messages whose first hour's object finds each of its names
    holding a copied file: (the subscription, that hour's messages, the names)."""
    blocked = [
        Message(data=event(n).to_bytes(), attributes={"id": f"e-{n}"}, publish_time=f"{at}Z")
        for n, at in enumerate(["2026-01-31T14:00:00", "2026-01-31T14:30:00"])
    ]
    later = Message(data=event(2).to_bytes(), publish_time="2026-01-31T15:00:00Z")
    subscription = NackedSubscription(backlog=0)
    subscription.waiting.extend([blocked[0], later, blocked[1]])
    records = [(publish_ms(m, 0), m.data) for m in blocked]
    [(name, _)] = encode_batches("order", "bus", records)
    names = list(object_names(name))
    for taken in names:
        (tmp_path / taken).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / taken).write_bytes(b"copied here\n")
    return subscription, blocked, names


def event(n: int) -> Envelope:
    return Envelope(
        id=f"e-{n}",
        type="order-placed",
        timestamp=1_769_868_000_000,
        partition_key="o",
        entity="order",
        body={},
    )


def test_messages_whose_object_every_name_is_taken_become_faults_and_are_acknowledged(
    tmp_path: Any,
) -> None:
    # They were handed back on every try, for ever: the batch was never acknowledged.
    subscription, blocked, names = blocked_hour(tmp_path)
    faults = Faults()
    lake = LocalDirectoryLake(tmp_path)
    writer = LakeWriter("order", subscription, lake, faults=faults)  # type: ignore[arg-type]

    assert writer.write_batch() == 3

    assert len(subscription.acked) == 3 and subscription.nacked == []
    assert writer.written == 1  # the other hour's message is stored
    assert [e.id for e in lake.replay("order")] == ["e-2"]
    [(topic, published)] = faults.published
    assert topic is Topic.FAULTS
    recorded = [Envelope.from_bytes(m.data) for m in published]
    assert [f.type for f in recorded] == ["fault", "fault"]
    assert {f.body["function"] for f in recorded} == {"order/kit/lake-writer"}
    kept = [message_from_json(f.body["message"]) for f in recorded]
    assert [m.data for m in kept] == [m.data for m in blocked]  # the events are not lost
    error = recorded[0].body["error"]
    assert error["type"] == "NamesTaken"
    assert all(f"{tmp_path}/{name}" in error["message"] for name in names)


@pytest.mark.parametrize("faults", [None, Faults(fails=True)], ids=["no faults", "faults down"])
def test_messages_that_cannot_become_faults_are_handed_back(
    tmp_path: Any, faults: Faults | None
) -> None:
    subscription, _, _ = blocked_hour(tmp_path)
    lake = LocalDirectoryLake(tmp_path)
    writer = LakeWriter("order", subscription, lake, faults=faults)  # type: ignore[arg-type]

    with pytest.raises((NamesTaken, PublishError)):
        writer.write_batch()
    assert subscription.acked == [] and len(subscription.nacked) == 3
