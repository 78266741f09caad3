"""The subscription contract on the embedded hub, wired as the embedded runtime wires it:
delivering on the test's thread in virtual time, and on its own thread in real time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from shared.clock import Clock, ManualClock, SystemClock
from shared.hub.memory import InMemoryHub, Subscription, dead_letter_to
from shared.hub.message import Message
from shared.runtime.outcome import Outcome
from shared.topology.model import Channel, Topic
from tests.contracts.subscription_contract import (
    DELIVERY_TIMEOUT_S,
    Handle,
    Subscribed,
    SubscriptionContract,
    topology,
)

PROJECT = "p-contract"


class TestInMemorySubscription(SubscriptionContract):
    """Every delivery on the calling thread, backoffs in virtual time (a :class:`ManualClock`)."""

    def clock(self) -> Clock:
        return ManualClock()

    def subscribe(self, feed: Channel, handle: Handle) -> Subscribed:
        self.hub = InMemoryHub(self.clock())
        self.faults: list[Message] = []
        for topic in Topic:
            self.hub.create_topic(PROJECT, topic)
        _, service, consumer = topology(feed)
        sub_id = consumer.subscription(service)

        def deliver(message: Message, attempt: int) -> Outcome:
            return Outcome.ACK if handle(message.delivered(attempt)) else Outcome.RETRY

        self.hub.subscribe(  # as shared.runtime.embedded wires a consumer
            PROJECT,
            feed.topic,
            Subscription(
                name=f"{PROJECT}/{sub_id}",
                deliver=deliver,
                rule=feed.rule,
                ordered=feed.ordered,
                max_attempts=feed.max_delivery_attempts,
                min_backoff_ms=int(feed.min_backoff_s * 1000),
                max_backoff_ms=int(feed.max_backoff_s * 1000),
                ack_deadline_ms=feed.ack_deadline_s * 1000,
                dead_letter=dead_letter_to(self.hub, PROJECT, sub_id),
            ),
        )

        def keep(message: Message, attempt: int) -> Outcome:
            self.faults.append(message)
            return Outcome.ACK

        self.hub.subscribe(PROJECT, Topic.FAULTS, Subscription("faults-reader", keep))
        return Subscribed(self.hub.publisher(PROJECT), PROJECT, sub_id)

    def deliver_until(
        self, done: Callable[[], bool], timeout_s: float = DELIVERY_TIMEOUT_S
    ) -> None:
        self.hub.run_until_quiet()
        if not done():
            pytest.fail("the hub went quiet before the expected deliveries were made")

    def quiet(self) -> None:
        self.hub.run_until_quiet()

    def dead_letters(self) -> list[Message]:
        self.hub.run_until_quiet()
        return list(self.faults)


class TestThreadedInMemorySubscription(TestInMemorySubscription):
    """The hub's background thread (:meth:`InMemoryHub.start`), backoffs in real time."""

    @pytest.fixture(autouse=True)
    def _stop(self) -> Iterator[None]:
        yield
        self.hub.stop()

    def clock(self) -> Clock:
        return SystemClock()

    def subscribe(self, feed: Channel, handle: Handle) -> Subscribed:
        subscribed = super().subscribe(feed, handle)
        self.hub.start()
        return subscribed

    def deliver_until(
        self, done: Callable[[], bool], timeout_s: float = DELIVERY_TIMEOUT_S
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"the expected deliveries were not made within {timeout_s} s")
            time.sleep(0.01)

    def quiet(self) -> None:
        assert self.hub.wait_until_idle(DELIVERY_TIMEOUT_S)

    def dead_letters(self) -> list[Message]:
        return list(self.faults)
