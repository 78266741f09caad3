"""A poison message whose fault cannot be published is redelivered, not dropped.

A consumer acknowledges a poison message only once its fault event is on ``faults``;
if publishing the fault fails, it asks for redelivery so the message comes back.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace

import pytest

from shared.clock import ManualClock
from shared.exceptions import PublishError
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message, from_message
from shared.runtime.app import Infrastructure
from shared.runtime.consumer import ConsumerRuntime
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.outcome import Outcome
from shared.sample import alpha, beta
from shared.stores.memory import InMemoryDocumentStore
from shared.topology import Topic
from tests.unit.poison import BREAKS_A_RULE, UNDECODABLE


class FaultsTopicDown(AbstractPublisher):
    """Keeps what is published, by topic; refuses ``faults`` messages while ``down``."""

    def __init__(self) -> None:
        self.down = True
        self.refused: list[Message] = []
        self.sent: dict[Topic, list[Message]] = {topic: [] for topic in Topic}

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        if topic is Topic.FAULTS and self.down:
            self.refused.extend(messages)
            raise PublishError("faults: 503 the service is unavailable")
        first = len(self.sent[topic])
        self.sent[topic].extend(messages)
        return [f"{topic}-{n}" for n in range(first, first + len(messages))]


def egress(publisher: AbstractPublisher) -> ConsumerRuntime:
    """alpha's orders-esg egress, publishing through ``publisher``."""
    clock = ManualClock()
    ports = alpha.APP.bootstrap(Infrastructure("alpha", InMemoryDocumentStore(), clock, "test"))
    service, consumer = alpha.APP.topology.find("orders_esg_egress")
    return ConsumerRuntime(alpha.APP.topology, service, consumer, ports, publisher, clock, "test")


@pytest.mark.parametrize(
    "poison", [BREAKS_A_RULE, UNDECODABLE], ids=["business-rule-violation", "undecodable"]
)
def test_a_poison_message_whose_fault_cannot_be_published_asks_for_redelivery(poison):
    # GIVEN a consumer whose faults topic refuses messages
    publisher = FaultsTopicDown()
    runtime = egress(publisher)
    # WHEN a poison message arrives
    outcome = runtime.handle(replace(poison, delivery_attempt=1))
    # THEN it is not acknowledged, so the broker delivers it again
    assert outcome is Outcome.RETRY
    [refused] = publisher.refused
    assert all(not messages for messages in publisher.sent.values())

    # WHEN the faults topic is back and the message is redelivered
    publisher.down = False
    assert runtime.handle(replace(poison, delivery_attempt=2)) is Outcome.ACK
    # THEN the same fault is published, once, with the original message in it
    [published] = publisher.sent[Topic.FAULTS]
    fault = from_message(published)
    assert fault.id == from_message(refused).id
    assert fault.body["deliveryAttempt"] == 2
    assert base64.b64decode(fault.body["message"]["data"]) == poison.data
    assert publisher.sent[Topic.BUS] == publisher.sent[Topic.EXTERNAL] == []


def test_the_message_comes_back_until_its_fault_is_recorded(monkeypatch):
    # GIVEN alpha's faults topic refuses the first fault published on it
    system = EmbeddedSystem([alpha.APP, beta.APP], clock=ManualClock())
    publish = system.hub.publish
    refused: list[Message] = []

    def faults_down_once(project: str, topic: str, messages: Sequence[Message]) -> list[str]:
        if (project, topic) == ("alpha", Topic.FAULTS) and not refused:
            refused.extend(messages)
            raise PublishError("faults: 503 the service is unavailable")
        return publish(project, topic, messages)

    monkeypatch.setattr(system.hub, "publish", faults_down_once)
    # WHEN an order breaks a business rule
    system.inject("alpha", Topic.BUS, from_message(BREAKS_A_RULE))
    system.run_until_quiet()
    # THEN the order was delivered again, and its fault is recorded once
    assert len(refused) == 1
    assert system.ports["alpha"].calls == ["egress:c1", "egress:c1"]
    [fault] = system.faults("alpha")
    assert fault["reason"] == "poison"
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert fault["deliveryAttempt"] == 2
