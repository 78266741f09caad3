"""The delivery semantics every subscription backend must share with Pub/Sub.

The embedded hub (:mod:`shared.hub.memory`) stands in for Pub/Sub in process, so
what a function sees there it must see on the emulator and on GCP: every message
at least once, a refused one again with its attempt counted, a key's messages
one at a time on an ordered subscription, dead letters after the last attempt,
and a message's attributes and ordering key as published.

A backend's test module subclasses :class:`SubscriptionContract` as ``Test...``
and implements :meth:`~SubscriptionContract.subscribe`,
:meth:`~SubscriptionContract.deliver_until`, :meth:`~SubscriptionContract.quiet`
and :meth:`~SubscriptionContract.dead_letters`. pytest makes a new instance per
test, so a backend keeps its per-test state (a fresh project) on ``self``.

Where a backend cannot show a behaviour, it names the :class:`Gap` in ``gaps``
with the evidence; a test then asserts what is left of it, never less. A test
with nothing left to assert is switched off in that subclass (``= None``), never
skipped: emulator tests may skip only when gcloud is absent outside CI.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import ClassVar

import pytest

from shared.hub.base import AbstractPublisher
from shared.hub.message import DEAD_LETTER_PREFIX, Message
from shared.hub.routing import MATCH_ALL
from shared.topology.model import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic

MAX_ATTEMPTS = 5
"""The fewest delivery attempts a dead-letter policy allows (and every channel has one)."""
DELIVERY_TIMEOUT_S = 30.0
"""How long a backend may take to show what a test waits for (the emulator: seconds)."""
OVERTAKE_WAIT_S = 5.0
"""How long a handler holds a delivery that another key's must not have waited for: within
the channel's 10 s ack deadline, so holding it is no failed attempt."""

Handle = Callable[[Message], bool]
"""A subscriber: True acknowledges, False (or an exception) asks for a redelivery."""


def channel(*, ordered: bool) -> Channel:
    """A channel for every message on ``bus``, retried as soon as the broker allows."""
    return Channel(
        MATCH_ALL,
        ordered=ordered,
        max_delivery_attempts=MAX_ATTEMPTS,
        min_backoff_s=0,
        max_backoff_s=0.5,
        ack_deadline_s=10,
    )


def noop(event: object, context: object) -> None:
    """The handler of the contract's consumer: the backends feed the test's ``Handle``."""


def topology(feed: Channel) -> tuple[Subsystem, Service, Consumer]:
    """A subsystem with one listener on ``feed``: what a backend provisions."""
    listener = Consumer("listener", Role.LISTENER, feed, handlers=(noop,))
    service = Service("board", ServiceKind.CONTROL, (listener,))
    return Subsystem("contract", (service,)), service, listener


def ping(name: str, key: str = "", **attributes: str) -> Message:
    """A message named ``name`` (its ``id`` attribute), keyed ``key``, also in an attribute:
    the emulator's push requests carry no ordering key."""
    return Message(
        data=f'{{"name":"{name}"}}'.encode(),
        attributes={"type": "contract.ping", "id": name, "key": key, **attributes},
        ordering_key=key,
    )


class Gap(Enum):
    """What a backend cannot show of Pub/Sub's semantics."""

    DELIVERY_ATTEMPT = "the subscriber is not told which attempt a delivery is"
    ORDERING_KEY = "the subscriber is not given the message's ordering key"
    KEY_WAITS_FOR_RETRY = "a key's next message does not wait for its head's redelivery"
    ORDERED_DEAD_LETTER = "an ordered subscription never dead-letters"


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A subscription a backend set up: a publisher onto its topic, and its names."""

    publisher: AbstractPublisher
    project: str
    subscription: str
    """The subscription's id, as dead letters name it."""


class Inbox:
    """Records every delivery (from any thread) in arrival order, answering ``answer``."""

    def __init__(self, answer: Callable[[Message, int], bool] = lambda m, n: True) -> None:
        """``answer`` gets the message and how often its name was delivered so far (1..)."""
        self._answer = answer
        self._lock = threading.Lock()
        self._log: list[Message] = []

    def __call__(self, message: Message) -> bool:
        with self._lock:
            self._log.append(message)
            count = sum(1 for m in self._log if m.attributes["id"] == message.attributes["id"])
        return self._answer(message, count)

    @property
    def log(self) -> list[Message]:
        """Every delivery so far, in arrival order."""
        with self._lock:
            return list(self._log)

    def names(self) -> list[str]:
        """The ``id`` of every delivery so far, in arrival order."""
        return [m.attributes["id"] for m in self.log]

    def of(self, name: str) -> list[Message]:
        """The deliveries of message ``name`` so far."""
        return [m for m in self.log if m.attributes["id"] == name]


def failing(times: dict[str, int]) -> Callable[[Message, int], bool]:
    """Refuse message ``name``'s first ``times[name]`` deliveries (all, for ``MAX_ATTEMPTS``),
    alternately by raising and by answering False."""

    def answer(message: Message, count: int) -> bool:
        if count > times.get(message.attributes["id"], 0):
            return True
        if count % 2:
            raise RuntimeError(f"refusing {message.attributes['id']} ({count})")
        return False

    return answer


class SubscriptionContract(ABC):
    """Pub/Sub's delivery semantics, as every subscription backend must keep them."""

    gaps: ClassVar[dict[Gap, str]] = {}
    """What this backend cannot show, with the evidence; the embedded hub has none."""

    @abstractmethod
    def subscribe(self, feed: Channel, handle: Handle) -> Subscribed:
        """Provision :func:`topology` on ``feed`` in a fresh project, feed its subscription
        to ``handle``, and read its dead-letter topic (``faults``) back."""

    @abstractmethod
    def deliver_until(
        self, done: Callable[[], bool], timeout_s: float = DELIVERY_TIMEOUT_S
    ) -> None:
        """Let deliveries happen until ``done()``; fail the test if it never is."""

    @abstractmethod
    def quiet(self) -> None:
        """Let whatever is still due be delivered (a redelivery, had an ack been lost)."""

    @abstractmethod
    def dead_letters(self) -> list[Message]:
        """What reached the subscription's dead-letter topic so far."""

    # -- (1) at least once, and acknowledged ones not again --------------------------------

    def test_every_message_is_delivered_and_an_acknowledged_one_not_again(self) -> None:
        inbox = Inbox()
        sent = [ping("m-1", "o-1"), ping("m-2", "o-2"), ping("m-3", "o-1"), ping("m-4")]
        subscribed = self.subscribe(channel(ordered=False), inbox)

        ids = subscribed.publisher.publish(Topic.BUS, sent)

        self.deliver_until(lambda: len(set(inbox.names())) == len(sent))
        self.quiet()
        assert sorted(inbox.names()) == ["m-1", "m-2", "m-3", "m-4"]
        assert sorted(m.message_id for m in inbox.log) == sorted(ids)
        assert all(m.delivery_attempt == 1 for m in inbox.log)

    # -- (2) a refused message comes again, its attempts counted ---------------------------

    def test_a_refused_message_is_redelivered_with_a_growing_attempt_count(self) -> None:
        inbox = Inbox(failing({"m-1": 2}))
        subscribed = self.subscribe(channel(ordered=False), inbox)

        sent = ping("m-1", "o-1")
        (message_id,) = subscribed.publisher.publish(Topic.BUS, [sent])

        self.deliver_until(lambda: len(inbox.of("m-1")) == 3)
        self.quiet()
        deliveries = inbox.of("m-1")
        assert len(deliveries) == 3  # refused by raising, then by answering False, then taken
        assert {(m.message_id, m.data, m.publish_time) for m in deliveries} == {
            (message_id, sent.data, deliveries[0].publish_time)
        }
        if Gap.DELIVERY_ATTEMPT not in self.gaps:
            assert [m.delivery_attempt for m in deliveries] == [1, 2, 3]
        assert self.dead_letters() == []

    # -- (3) ordered: a key waits while its head is retried; other keys go on -------------

    def test_on_an_ordered_subscription_a_key_waits_for_its_retried_head(self) -> None:
        inbox = Inbox(failing({"a-0": 2}))
        b_1 = threading.Event()

        def b_before_a_0_taken(message: Message) -> bool:
            # Where deliveries run concurrently, a-0's quick retries may overtake b by
            # chance: its acknowledged delivery waits a while for b's last message, which
            # never comes meanwhile if b waits for a's head.
            name = message.attributes["id"]
            if name == "a-0" and len(inbox.of("a-0")) == 2:
                b_1.wait(OVERTAKE_WAIT_S)
            answered = inbox(message)
            if name == "b-1":
                b_1.set()
            return answered

        sent = [ping("a-0", "a"), ping("b-0", "b"), ping("a-1", "a"), ping("b-1", "b")]
        sent.append(ping("a-2", "a"))
        subscribed = self.subscribe(channel(ordered=True), b_before_a_0_taken)

        subscribed.publisher.publish(Topic.BUS, sent)

        self.deliver_until(lambda: {"a-2", "b-1"} <= set(inbox.names()))
        self.quiet()
        names = inbox.names()
        taken = len(names) - 1 - names[::-1].index("a-0")  # a-0's third, acknowledged delivery
        assert names.count("a-0") == 3
        assert [n for n in names if n.startswith("b-")] == ["b-0", "b-1"]
        assert {"b-0", "b-1"} <= set(names[:taken])  # b did not wait for a's head
        a_keyed = [n for n in names if n.startswith("a-")]
        if Gap.KEY_WAITS_FOR_RETRY not in self.gaps:
            assert a_keyed == ["a-0", "a-0", "a-0", "a-1", "a-2"]
        else:  # every message still comes, and its key's messages in order the first time
            assert [n for i, n in enumerate(a_keyed) if n not in a_keyed[:i]] == [
                "a-0",
                "a-1",
                "a-2",
            ]

    # -- (4) dead letters after the last attempt -----------------------------------------

    def test_after_the_last_attempt_the_message_is_dead_lettered_with_its_source(self) -> None:
        inbox = Inbox(failing({"m-1": MAX_ATTEMPTS}))
        sent = ping("m-1", "o-1", channel="web")
        subscribed = self.subscribe(channel(ordered=False), inbox)

        subscribed.publisher.publish(Topic.BUS, [sent])

        self.deliver_until(lambda: bool(self.dead_letters()))
        self.quiet()
        deliveries = inbox.of("m-1")
        assert len(deliveries) == MAX_ATTEMPTS
        if Gap.DELIVERY_ATTEMPT not in self.gaps:
            assert [m.delivery_attempt for m in deliveries] == [1, 2, 3, 4, 5]
        (dead,) = self.dead_letters()
        assert dead.is_dead_letter
        assert dead.data == sent.data
        assert dead.ordering_key == sent.ordering_key
        assert dict(dead.attributes) == {
            **sent.attributes,
            f"{DEAD_LETTER_PREFIX}Subscription": subscribed.subscription,
            f"{DEAD_LETTER_PREFIX}SubscriptionProject": subscribed.project,
            f"{DEAD_LETTER_PREFIX}DeliveryCount": str(MAX_ATTEMPTS),
            f"{DEAD_LETTER_PREFIX}TopicPublishTime": dead.attributes[
                f"{DEAD_LETTER_PREFIX}TopicPublishTime"
            ],
        }
        published = dead.attributes[f"{DEAD_LETTER_PREFIX}TopicPublishTime"]
        assert datetime.fromisoformat(published) == datetime.fromisoformat(
            deliveries[0].publish_time
        )
        assert dead.message_id != deliveries[0].message_id  # a new message on its own topic

    def test_on_an_ordered_subscription_a_dead_lettered_head_lets_its_key_move_on(self) -> None:
        inbox = Inbox(failing({"a-0": MAX_ATTEMPTS}))
        subscribed = self.subscribe(channel(ordered=True), inbox)

        subscribed.publisher.publish(Topic.BUS, [ping("a-0", "a"), ping("a-1", "a")])

        self.deliver_until(lambda: "a-1" in inbox.names())
        self.quiet()
        assert inbox.names() == ["a-0"] * MAX_ATTEMPTS + ["a-1"]
        assert [m.attributes["id"] for m in self.dead_letters()] == ["a-0"]

    # -- (5) attributes and ordering key unchanged ------------------------------------------

    @pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "unordered"])
    def test_attributes_and_ordering_key_arrive_unchanged(self, ordered: bool) -> None:
        inbox = Inbox()
        odd = {"empty": "", "text": "é—✓ ünïcødé", "spaced": " a b ", "long": "x" * 1024}
        sent = [ping("m-1", "Order-Ü/1", **odd), ping("m-2"), ping("m-3", "Order-Ü/1")]
        subscribed = self.subscribe(channel(ordered=ordered), inbox)

        ids = subscribed.publisher.publish(Topic.BUS, sent)

        self.deliver_until(lambda: len(inbox.log) >= len(sent))
        got = {m.attributes["id"]: m for m in inbox.log}
        for message, message_id in zip(sent, ids, strict=True):
            arrived = got[message.attributes["id"]]
            assert arrived.data == message.data
            assert dict(arrived.attributes) == dict(message.attributes)
            assert arrived.message_id == message_id
            assert arrived.publish_time
            if Gap.ORDERING_KEY not in self.gaps:
                assert arrived.ordering_key == message.ordering_key
