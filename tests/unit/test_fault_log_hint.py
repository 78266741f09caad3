"""The error a poison message logs names its fault and the command that shows it, so the
operator who reads the line knows where the message went and what to do next."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from shared.clock import ManualClock
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message, from_message
from shared.runtime.app import Infrastructure
from shared.runtime.consumer import ConsumerRuntime
from shared.runtime.outcome import Outcome
from shared.sample import alpha
from shared.stores.memory import InMemoryDocumentStore
from shared.topology import Topic
from tests.unit.poison import BREAKS_A_RULE, UNDECODABLE


class Faults(AbstractPublisher):
    """Keeps the fault events published."""

    def __init__(self) -> None:
        self.faults: list[Message] = []

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        if topic is Topic.FAULTS:
            self.faults.extend(messages)
        return [m.message_id or "" for m in messages]


@pytest.mark.parametrize(
    "poison", [BREAKS_A_RULE, UNDECODABLE], ids=["business-rule-violation", "undecodable"]
)
def test_the_poison_message_error_says_how_to_show_its_fault(
    poison: Message, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    ports = alpha.APP.bootstrap(Infrastructure("alpha", InMemoryDocumentStore(), clock, "test"))
    service, consumer = alpha.APP.topology.find("orders_esg_egress")
    publisher = Faults()
    topology = alpha.APP.topology
    runtime = ConsumerRuntime(topology, service, consumer, ports, publisher, clock, "test")

    with caplog.at_level(logging.ERROR, logger="fooddelivery"):
        assert runtime.handle(poison) is Outcome.ACK

    [published] = publisher.faults
    fault_id = from_message(published).id
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert line.startswith(f"poison message recorded as fault {fault_id}: ")
    assert line.endswith(f" (fooddelivery faults show alpha {fault_id})")


class FaultsDown(AbstractPublisher):
    """Refuses every publication, as a ``faults`` topic in an outage."""

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        raise ConnectionError("faults: 503 the service is unavailable")


def test_a_fault_that_cannot_be_published_is_logged_with_the_event_it_is_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    ports = alpha.APP.bootstrap(Infrastructure("alpha", InMemoryDocumentStore(), clock, "test"))
    service, consumer = alpha.APP.topology.find("orders_esg_egress")
    topology = alpha.APP.topology
    runtime = ConsumerRuntime(topology, service, consumer, ports, FaultsDown(), clock, "test")

    with caplog.at_level(logging.ERROR, logger="fooddelivery"):
        assert runtime.handle(BREAKS_A_RULE) is Outcome.RETRY

    [record] = caplog.records
    event = from_message(BREAKS_A_RULE)
    assert record.__dict__["labels"]["eventId"] == event.id
    assert record.__dict__["labels"]["correlationId"] == event.correlation_id
    assert "of message m-1" in record.getMessage()
    assert record.getMessage().endswith("; asking for redelivery")
