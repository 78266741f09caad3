"""A poison message published straight onto a bus becomes a fault; the stack keeps serving."""

from __future__ import annotations

import uuid

import pytest
import requests

from devstack.layout import Manifest, project_of
from devstack.live import LiveStack
from order.topology import APP as ORDER
from shared.hub.message import Message
from shared.topology.model import Topic
from tests.devstack.conftest import eventually
from tests.devstack.world import TRATTORIA, World

pytestmark = pytest.mark.emulator


def a_type_read_from_the_bus() -> tuple[str, str]:
    """(target, event type) of an Order consumer on its own bus."""
    for service, consumer in ORDER.topology.consumers():
        if consumer.channel.topic is Topic.BUS and consumer.channel.rule.types:
            return consumer.target(service), sorted(consumer.channel.rule.types)[0]
    raise AssertionError("the order subsystem has no bus consumer")


def publish_poison(manifest: Manifest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Publish an undecodable message straight onto the order bus, of a type a consumer
    there reads; its partition key, which nothing else carries."""
    from shared.hub.pubsub import PubSubPublisher

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", manifest.env["PUBSUB_EMULATOR_HOST"])
    _, event_type = a_type_read_from_the_bus()
    key = f"poison-{uuid.uuid4().hex[:8]}"
    poison = Message(data=b"{not an envelope", attributes={"type": event_type, "partitionKey": key})
    publisher = PubSubPublisher(project_of("order"))
    try:
        publisher.publish(Topic.BUS, [poison])
    finally:
        publisher.close()
    return key


def faults_keyed(manifest: Manifest, key: str) -> list[dict]:
    """The order subsystem's recorded faults of messages keyed ``key``."""
    order = manifest.hosts["order"]
    faults = requests.get(f"{order}/_dev/faults", timeout=10).json()["faults"]
    return [f for f in faults if f["message"]["attributes"].get("partitionKey") == key]


def test_a_poison_message_becomes_a_fault_and_the_stack_keeps_serving(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = publish_poison(manifest, monkeypatch)
    stack = LiveStack(manifest)

    def poison_fault() -> list[dict]:
        """the poison message is recorded in the order subsystem's faults"""
        return faults_keyed(manifest, key)

    [fault] = eventually(poison_fault)
    assert fault["reason"] == "poison"
    assert fault["function"].startswith("order/")
    assert fault["error"]["type"] == "EnvelopeError"

    world = World(stack)
    order_id = world.customer("carla").order(TRATTORIA, [("margherita", 1)])

    def placed() -> bool:
        """the order placed after the poison message reaches the kitchen"""
        return order_id in [t["id"] for t in world.staff[TRATTORIA].queue("new")]

    eventually(placed)
    world.staff[TRATTORIA].reject(order_id, "closing early")  # leave the queue as it was


def test_the_broker_refuses_a_non_envelope_on_an_external_topic(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.exceptions import PublishError
    from shared.hub.pubsub import PubSubPublisher

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", manifest.env["PUBSUB_EMULATOR_HOST"])
    publisher = PubSubPublisher(project_of("restaurant"))
    try:
        with pytest.raises(PublishError):
            publisher.publish(
                Topic.EXTERNAL,
                [Message(data=b'{"type": "restaurant.order-accepted"}', attributes={})],
            )
    finally:
        publisher.close()
