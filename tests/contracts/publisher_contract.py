"""The contract every :class:`AbstractPublisher` backend must honour.

A backend's test module subclasses :class:`PublisherContract` as ``Test...`` and
implements two hooks: :meth:`~PublisherContract.make_publisher` and
:meth:`~PublisherContract.received`, which reads back what reached a topic.
pytest makes a new instance per test, so a backend may keep per-test state
(a fresh project, a read-back subscription) on ``self``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator

import pytest

from shared.envelope import Envelope, new_event
from shared.exceptions import PublishError
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message, from_message, to_message
from shared.topology.model import Topic

READ_BACK_TIMEOUT_S = 30.0


def order_event(key: str, n: int, **tags: str) -> Envelope:
    """An ``order-placed`` event for order ``key``, numbered ``n``."""
    return new_event(
        "order-placed",
        "order",
        {"orderId": key, "n": n},
        partition_key=key,
        tags={"source": "checkout-bff", **tags},
    )


REFUSED_BY_PUBSUB: dict[str, Callable[[], Message]] = {
    "neither data nor attributes": lambda: Message(data=b""),
    "101 attributes": lambda: Message(b"{}", {f"a{i}": "x" for i in range(101)}),
    "an attribute name over 256 bytes": lambda: Message(b"{}", {"k" * 257: "x"}),
    "an attribute value over 1024 bytes": lambda: Message(b"{}", {"type": "é" * 513}),
    "an ordering key over 1024 bytes": lambda: Message(b"{}", {"type": "t"}, "k" * 1025),
    "an attribute the client takes for itself": lambda: Message(b"{}", {"timeout": "5"}),
    "an attribute name starting with goog": lambda: Message(b"{}", {"googTrace": "x"}),
    "a publish request over 10 MB": lambda: Message(b"x" * 10_000_000, {"type": "t"}),
    "an attribute value that is no UTF-8 text": lambda: Message(b"{}", {"type": "t\ud800"}),
    "an ordering key that is no UTF-8 text": lambda: Message(b"{}", {"type": "t"}, "o-\ud800"),
}
"""Messages Pub/Sub (or the client the kit publishes with) does not accept."""


class PublisherContract(ABC):
    """Behaviour shared by every publisher backend."""

    @abstractmethod
    def make_publisher(self) -> AbstractPublisher:
        """A publisher onto this test's own, empty topics (``bus``, ``faults``, ``external``)."""

    @abstractmethod
    def make_publisher_without_topics(self) -> AbstractPublisher:
        """A publisher onto a project (or subsystem) whose topics do not exist."""

    @abstractmethod
    def received(self, topic: Topic) -> list[Message]:
        """Every message that has reached ``topic`` since :meth:`make_publisher`, so far.

        Cumulative and non-blocking: the contract polls it until what it expects
        has arrived. A redelivered message may appear twice.
        """

    @pytest.fixture
    def publisher(self) -> Iterator[AbstractPublisher]:
        publisher = self.make_publisher()
        yield publisher
        publisher.close()

    def wait_for(self, topic: Topic, count: int) -> list[Message]:
        """Poll :meth:`received` until ``count`` distinct messages arrived, in arrival order."""
        deadline = time.monotonic() + READ_BACK_TIMEOUT_S
        while True:
            unique = list(
                {m.attributes.get("id", m.message_id): m for m in self.received(topic)}.values()
            )
            if len(unique) >= count or time.monotonic() > deadline:
                return unique
            time.sleep(0.05)

    def test_publish_returns_one_id_per_message(self, publisher: AbstractPublisher) -> None:
        messages = [to_message(order_event("o-1", n)) for n in range(5)]

        ids = publisher.publish(Topic.BUS, messages)

        assert len(ids) == 5
        assert len(set(ids)) == 5
        assert all(isinstance(i, str) and i for i in ids)

    def test_publishing_nothing_returns_no_ids(self, publisher: AbstractPublisher) -> None:
        assert publisher.publish(Topic.BUS, []) == []

    def test_messages_arrive_with_their_data_attributes_and_key(
        self, publisher: AbstractPublisher
    ) -> None:
        events = [order_event("o-1", 1), order_event("o-2", 2, channel="web")]

        ids = publisher.publish(Topic.BUS, [to_message(e) for e in events])

        got = {m.attributes["id"]: m for m in self.wait_for(Topic.BUS, 2)}
        assert set(got) == {e.id for e in events}
        for event in events:
            message = got[event.id]
            assert from_message(message) == event
            assert message.data == event.to_bytes()
            assert dict(message.attributes) == dict(to_message(event).attributes)
            assert message.ordering_key == event.partition_key
            assert message.message_id in ids

    def test_order_is_kept_per_ordering_key(self, publisher: AbstractPublisher) -> None:
        # GIVEN three orders whose events interleave, published in two calls
        keys = ("o-a", "o-b", "o-c")
        first = [order_event(k, n) for n in range(10) for k in keys]
        second = [order_event(k, n) for n in range(10, 15) for k in keys]

        publisher.publish(Topic.BUS, [to_message(e) for e in first])
        publisher.publish(Topic.BUS, [to_message(e) for e in second])

        # THEN each order's events arrive in the order they were published
        arrived = self.wait_for(Topic.BUS, len(first) + len(second))
        for key in keys:
            expected = [e.id for e in first + second if e.partition_key == key]
            assert [m.attributes["id"] for m in arrived if m.ordering_key == key] == expected

    def test_a_message_without_ordering_key_is_published_without_one(
        self, publisher: AbstractPublisher
    ) -> None:
        message = Message(data=b'{"hello":"world"}', attributes={"type": "greeting", "id": "g-1"})

        publisher.publish(Topic.BUS, [message])

        (got,) = self.wait_for(Topic.BUS, 1)
        assert got.data == message.data
        assert dict(got.attributes) == {"type": "greeting", "id": "g-1"}
        assert got.ordering_key == ""

    def test_topics_are_kept_apart(self, publisher: AbstractPublisher) -> None:
        fault, external = order_event("o-f", 1), order_event("o-x", 2)

        publisher.publish(Topic.FAULTS, [to_message(fault)])
        publisher.publish(Topic.EXTERNAL, [to_message(external)])

        assert [m.attributes["id"] for m in self.wait_for(Topic.FAULTS, 1)] == [fault.id]
        assert [m.attributes["id"] for m in self.wait_for(Topic.EXTERNAL, 1)] == [external.id]
        assert self.received(Topic.BUS) == []

    def test_a_rejected_publish_raises_publish_error_naming_the_topic(self) -> None:
        publisher = self.make_publisher_without_topics()
        try:
            with pytest.raises(PublishError, match="bus"):
                publisher.publish(Topic.BUS, [to_message(order_event("o-1", 1))])
        finally:
            publisher.close()

    @pytest.mark.parametrize("problem", sorted(REFUSED_BY_PUBSUB))
    def test_a_message_pubsub_refuses_is_refused_and_nothing_of_the_call_arrives(
        self, publisher: AbstractPublisher, problem: str
    ) -> None:
        fine = to_message(order_event("o-1", 1))

        with pytest.raises(PublishError, match="bus"):
            publisher.publish(Topic.BUS, [fine, REFUSED_BY_PUBSUB[problem]()])

        publisher.publish(Topic.BUS, [to_message(order_event("o-2", 2))])
        assert [m.ordering_key for m in self.wait_for(Topic.BUS, 1)] == ["o-2"]

    def test_the_largest_message_pubsub_takes_is_accepted(
        self, publisher: AbstractPublisher
    ) -> None:
        attributes = {f"a{i}": "é" * 512 for i in range(99)} | {"k" * 256: "x"}
        message = Message(b"", attributes, "k" * 1024)

        publisher.publish(Topic.BUS, [message])

        (got,) = self.wait_for(Topic.BUS, 1)
        assert dict(got.attributes) == attributes
        assert got.ordering_key == "k" * 1024
