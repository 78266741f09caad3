"""The Pub/Sub adapters of the hub against the Pub/Sub emulator.

Every test works in projects of its own (``p<run>-<label>-<subsystem>``), so
tests never see each other's messages on the shared emulator.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import pubsub_v1

from shared.emulators import free_port
from shared.exceptions import PublishError
from shared.hub.base import AbstractPublisher
from shared.hub.message import DEAD_LETTER_PREFIX, Message, to_message
from shared.hub.provision import (
    ProvisionError,
    deprovision,
    provision,
    provision_system,
    subscription_path,
    topic_path,
)
from shared.hub.pubsub import PubSubPublisher
from shared.hub.pubsub_pull import PubSubPullWorker
from shared.hub.routing import on_prefixes, on_types
from shared.topology.model import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic
from tests.contracts.publisher_contract import PublisherContract, order_event

RUN = uuid.uuid4().hex[:6]
_labels = itertools.count()


def projects(label: str) -> Callable[[str], str]:
    """A fresh ``project_of``: every subsystem in its own project, unique to this call."""
    prefix = f"p{RUN}-{label}{next(_labels)}"
    return lambda subsystem: f"{prefix}-{subsystem}"


def wait_until(condition: Callable[[], Any], timeout_s: float = 30.0) -> None:
    """Poll ``condition`` until it is truthy; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.05)


def noop(event: Any, context: Any) -> None:
    """A handler that does nothing: these topologies are never run."""


class Inbox:
    """Collects what a worker hands over (from the SDK's threads) and answers ``answer``."""

    def __init__(self, answer: Callable[[Message, int], bool] = lambda m, n: True) -> None:
        self.messages: list[Message] = []
        self._answer, self._lock = answer, threading.Lock()

    def __call__(self, message: Message) -> bool:
        with self._lock:
            self.messages.append(message)
            count = len(self.messages)
        return self._answer(message, count)

    def snapshot(self) -> list[Message]:
        with self._lock:
            return list(self.messages)


class Admin:
    """Admin clients on the emulator."""

    def __init__(self) -> None:
        self.pub = pubsub_v1.PublisherClient()
        self.sub = pubsub_v1.SubscriberClient()

    def topics(self, project: str) -> set[str]:
        return {t.name for t in self.pub.list_topics(request={"project": f"projects/{project}"})}

    def subscription(self, project: str, name: str) -> Any:
        return self.sub.get_subscription(request={"subscription": subscription_path(project, name)})

    def reader(self, project: str, topic: Topic, name: str, *, ordered: bool = False) -> str:
        """A pull subscription on ``topic``, for reading back; returns its path."""
        path = subscription_path(project, name)
        self.sub.create_subscription(
            request={
                "name": path,
                "topic": topic_path(project, topic),
                "enable_message_ordering": ordered,
            }
        )
        return path


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    """Each test ends the client threads it started (a stream's, a batch's commit): one
    left retrying draws on the global ``random`` while later tests run (Hypothesis warns)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10
    left = [t for t in threading.enumerate() if t not in before and t.name.startswith("Thread-")]
    for thread in left:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert [t.name for t in left if t.is_alive()] == []


@pytest.fixture(scope="module")
def admin() -> Iterator[Admin]:
    clients = Admin()
    yield clients
    clients.pub.transport.close()
    clients.sub.close()


# -- (a) the publisher contract ------------------------------------------------------------


class TestPubSubPublisher(PublisherContract):
    """:class:`PubSubPublisher` on the emulator, read back through ordered subscriptions."""

    @pytest.fixture(autouse=True)
    def _setup(self, admin: Admin) -> Iterator[None]:
        self.admin = admin
        self.inboxes: dict[Topic, Inbox] = {}
        self.workers: list[PubSubPullWorker] = []
        yield
        for worker in self.workers:
            worker.stop()

    def make_publisher(self) -> AbstractPublisher:
        project = projects("contract")("hub")
        for topic in Topic:
            self.admin.pub.create_topic(request={"name": topic_path(project, topic)})
            reader = self.admin.reader(project, topic, f"read-{topic}", ordered=True)
            self.inboxes[topic] = Inbox()
            self.workers.append(PubSubPullWorker(reader, self.inboxes[topic]))
            self.workers[-1].start()
        return PubSubPublisher(project)

    def make_publisher_without_topics(self) -> AbstractPublisher:
        return PubSubPublisher(projects("contract")("nowhere"))

    def received(self, topic: Topic) -> list[Message]:
        return self.inboxes[topic].snapshot()


# -- (b) provisioning ----------------------------------------------------------------------


def consumer(name: str, role: Role, channel: Channel, **kwargs: Any) -> Consumer:
    return Consumer(name, role, channel, handlers=(noop,), **kwargs)


MENU_EGRESS = consumer(
    "egress", Role.EGRESS, Channel(on_types("menu-updated")), publishes=("kitchen.menu-updated",)
)
CART_LISTENER = consumer(
    "listener",
    Role.LISTENER,
    Channel(
        on_types("order-placed", source="checkout"),
        max_delivery_attempts=7,
        min_backoff_s=2.5,
        max_backoff_s=120,
        ack_deadline_s=30,
    ),
)
MENU_INGRESS = consumer(
    "ingress",
    Role.INGRESS,
    Channel(on_prefixes("kitchen."), topic=Topic.EXTERNAL, subsystem="kitchen", ordered=False),
)
KITCHEN = Subsystem("kitchen", (Service("menu-gateway", ServiceKind.ESG, (MENU_EGRESS,)),))
SHOP = Subsystem(
    "shop",
    (
        Service("cart", ServiceKind.BFF, (CART_LISTENER,)),
        Service("menus", ServiceKind.ESG, (MENU_INGRESS,)),
    ),
)


def push_to(service: Service, consumer: Consumer) -> str:
    return f"http://127.0.0.1:9/{consumer.target(service)}"


def test_provisioning_creates_what_the_topology_declares(admin: Admin) -> None:
    project_of = projects("prov")
    shop, kitchen = project_of("shop"), project_of("kitchen")

    # WHEN both subsystems are provisioned, the consumer listed before the producer
    report = provision_system((SHOP, KITCHEN), project_of, push_to)

    # THEN each has its three topics, in its own project
    expected_topics = {topic_path(p, t) for p in (shop, kitchen) for t in Topic}
    assert set(report.created_topics) == expected_topics
    assert admin.topics(shop) | admin.topics(kitchen) == expected_topics
    assert set(report.created_subscriptions) == {
        subscription_path(shop, "cart-listener"),
        subscription_path(shop, "menus-ingress"),
        subscription_path(kitchen, "menu-gateway-egress"),
    }
    assert report.existing_topics == report.existing_subscriptions == ()
    # AND the listener's subscription carries the channel's settings
    listener = admin.subscription(shop, "cart-listener")
    assert listener.topic == topic_path(shop, Topic.BUS)
    assert listener.filter == 'attributes.type = "order-placed" AND attributes.source = "checkout"'
    assert listener.enable_message_ordering is True
    assert listener.ack_deadline_seconds == 30
    assert listener.retry_policy.minimum_backoff == timedelta(seconds=2.5)
    assert listener.retry_policy.maximum_backoff == timedelta(seconds=120)
    assert listener.dead_letter_policy.dead_letter_topic == topic_path(shop, Topic.FAULTS)
    assert listener.dead_letter_policy.max_delivery_attempts == 7
    assert listener.push_config.push_endpoint == "http://127.0.0.1:9/cart_listener"
    # AND the ingress reads the kitchen's external topic from the shop's project
    ingress = admin.subscription(shop, "menus-ingress")
    assert ingress.topic == topic_path(kitchen, Topic.EXTERNAL)
    assert ingress.filter == 'hasPrefix(attributes.type, "kitchen.")'
    assert ingress.enable_message_ordering is False
    assert ingress.dead_letter_policy.dead_letter_topic == topic_path(shop, Topic.FAULTS)
    assert ingress.dead_letter_policy.max_delivery_attempts == 5
    assert subscription_path(shop, "menus-ingress") in set(
        admin.pub.list_topic_subscriptions(request={"topic": topic_path(kitchen, Topic.EXTERNAL)})
    )


def test_provisioning_twice_changes_nothing(admin: Admin) -> None:
    project_of = projects("twice")
    first = provision_system((KITCHEN, SHOP), project_of, push_to)
    before = admin.subscription(project_of("shop"), "cart-listener")

    again = provision_system((KITCHEN, SHOP), project_of, push_to)

    assert again.created_topics == again.created_subscriptions == ()
    assert set(again.existing_topics) == set(first.created_topics)
    assert set(again.existing_subscriptions) == set(first.created_subscriptions)
    assert admin.subscription(project_of("shop"), "cart-listener") == before


def test_without_push_endpoints_subscriptions_are_pull(admin: Admin) -> None:
    project_of = projects("pull")

    provision(KITCHEN, project_of, ordering=False)

    egress = admin.subscription(project_of("kitchen"), "menu-gateway-egress")
    assert egress.push_config.push_endpoint == ""
    assert egress.enable_message_ordering is False  # the channel is ordered; ordering=False wins


def test_an_ingress_needs_its_producers_topic(admin: Admin) -> None:
    project_of = projects("orphan")

    with pytest.raises(ProvisionError, match=topic_path(project_of("kitchen"), Topic.EXTERNAL)):
        provision(SHOP, project_of)


def test_deprovision_removes_subscriptions_and_topics(admin: Admin) -> None:
    project_of = projects("gone")
    provision_system((KITCHEN, SHOP), project_of)

    deprovision(SHOP, project_of)
    deprovision(SHOP, project_of)  # what is gone already is skipped

    assert admin.topics(project_of("shop")) == set()
    with pytest.raises(api_exceptions.NotFound):
        admin.subscription(project_of("shop"), "menus-ingress")
    assert len(admin.topics(project_of("kitchen"))) == 3


# -- (c) the pull worker -------------------------------------------------------------------

# unordered: the emulator cannot dead-letter from an ordered subscription (see provision)
BOARD_LISTENER = consumer(
    "listener",
    Role.LISTENER,
    Channel(
        on_types("order-placed"),
        ordered=False,
        max_delivery_attempts=5,
        min_backoff_s=0,
        max_backoff_s=0.5,
        ack_deadline_s=10,
    ),
)
DISPATCH = Subsystem("dispatch", (Service("board", ServiceKind.CONTROL, (BOARD_LISTENER,)),))


@pytest.fixture
def dispatch() -> Iterator[tuple[str, PubSubPublisher]]:
    project = projects("worker")("dispatch")
    provision(DISPATCH, lambda _: project)
    publisher = PubSubPublisher(project)
    yield project, publisher
    publisher.close()


def test_worker_hands_over_each_message(dispatch: tuple[str, PubSubPublisher]) -> None:
    project, publisher = dispatch
    events = [order_event(f"o-{n}", n) for n in range(3)]
    inbox = Inbox()

    with PubSubPullWorker(subscription_path(project, "board-listener"), inbox) as worker:
        ids = publisher.publish(Topic.BUS, [to_message(e) for e in events])
        wait_until(lambda: len(inbox.messages) >= 3)
        assert worker.running
    assert not worker.running

    got = {m.message_id: m for m in inbox.messages}
    assert set(got) == set(ids)
    for event, message_id in zip(events, ids, strict=True):
        message = got[message_id]
        assert message.data == event.to_bytes()
        assert dict(message.attributes) == dict(to_message(event).attributes)
        assert message.ordering_key == event.partition_key
        assert message.delivery_attempt == 1
        assert message.publish_time.endswith("Z")
        assert abs(datetime.fromisoformat(message.publish_time).timestamp() - time.time()) < 60


def test_nacked_message_is_retried_then_dead_lettered(
    admin: Admin, dispatch: tuple[str, PubSubPublisher]
) -> None:
    project, publisher = dispatch
    faults_path = admin.reader(project, Topic.FAULTS, "faults-reader")
    refused, faults = Inbox(lambda m, n: False), Inbox()
    event = order_event("o-9", 9)

    with (
        PubSubPullWorker(subscription_path(project, "board-listener"), refused),
        PubSubPullWorker(faults_path, faults),
    ):
        publisher.publish(Topic.BUS, [to_message(event)])
        wait_until(lambda: faults.messages, timeout_s=60)

    assert [m.delivery_attempt for m in refused.messages] == [1, 2, 3, 4, 5]
    (dead,) = faults.messages
    assert dead.is_dead_letter
    assert dead.data == event.to_bytes()
    attributes = dict(dead.attributes)
    assert attributes.items() >= to_message(event).attributes.items()
    assert attributes[f"{DEAD_LETTER_PREFIX}DeliveryCount"] == "5"
    assert attributes[f"{DEAD_LETTER_PREFIX}Subscription"].split("/")[-1] == "board-listener"
    assert attributes[f"{DEAD_LETTER_PREFIX}SubscriptionProject"] == project
    assert f"{DEAD_LETTER_PREFIX}TopicPublishTime" in attributes


def test_a_failing_handler_nacks_and_the_worker_goes_on(
    dispatch: tuple[str, PubSubPublisher], caplog: pytest.LogCaptureFixture
) -> None:
    project, publisher = dispatch

    def fail_first(message: Message, count: int) -> bool:
        if count == 1:
            raise RuntimeError("boom")
        return True

    inbox = Inbox(fail_first)
    with (
        caplog.at_level(logging.ERROR, logger="shared.hub.pubsub_pull"),
        PubSubPullWorker(subscription_path(project, "board-listener"), inbox),
    ):
        publisher.publish(Topic.BUS, [to_message(order_event("o-1", 1))])
        wait_until(lambda: len(inbox.messages) >= 2)
        publisher.publish(Topic.BUS, [to_message(order_event("o-2", 2))])
        wait_until(lambda: len(inbox.messages) >= 3)

    assert [(m.ordering_key, m.delivery_attempt) for m in inbox.messages] == [
        ("o-1", 1),
        ("o-1", 2),
        ("o-2", 1),
    ]
    assert "handler failed" in caplog.text


# -- (d) failures --------------------------------------------------------------------------


def test_publish_to_a_missing_topic_raises_and_the_key_stays_usable(admin: Admin) -> None:
    project = projects("missing")("hub")
    publisher = PubSubPublisher(project)
    try:
        with pytest.raises(PublishError, match=topic_path(project, Topic.BUS)) as failure:
            publisher.publish(Topic.BUS, [to_message(order_event("o-1", 1))])
        assert isinstance(failure.value.__cause__, api_exceptions.NotFound)

        # once the topic exists, the same ordering key publishes again (it was resumed)
        admin.pub.create_topic(request={"name": topic_path(project, Topic.BUS)})
        assert len(publisher.publish(Topic.BUS, [to_message(order_event("o-1", 2))])) == 1
    finally:
        publisher.close()


def test_attributes_the_client_cannot_carry_are_refused() -> None:
    publisher = PubSubPublisher(projects("reserved")("hub"))
    try:
        with pytest.raises(PublishError, match="timeout"):
            publisher.publish(Topic.BUS, [Message(b"{}", {"timeout": "5"})])
    finally:
        publisher.close()


def test_publish_after_close_raises() -> None:
    publisher = PubSubPublisher(projects("closed")("hub"))
    publisher.close()
    publisher.close()  # idempotent

    with pytest.raises(PublishError, match="stopped"):
        publisher.publish(Topic.BUS, [to_message(order_event("o-1", 1))])


def test_a_broker_that_does_not_answer_fails_the_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")  # nothing listens
    # The SDK retries an ordered publish for ever: this client retries until the test is
    # done, so that its commit thread then ends by itself. Closing the channel under that
    # thread instead would kill it with "closed channel".
    done = threading.Event()
    retry = api_retry.Retry(
        predicate=lambda e: isinstance(e, api_exceptions.ServiceUnavailable) and not done.is_set(),
        initial=0.05,
        maximum=0.2,
    )
    client = pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(
            enable_message_ordering=True, retry=retry
        )
    )
    publisher = PubSubPublisher(projects("silent")("hub"), client, timeout_s=1)
    try:
        with pytest.raises(PublishError, match="no answer within 1 s"):
            publisher.publish(Topic.BUS, [to_message(order_event("o-1", 1))])
    finally:
        done.set()
        publisher.close()
        for thread in threading.enumerate():
            if thread.name == "Thread-CommitBatchPublisher":
                thread.join(5)
        client.transport.close()
