"""A dead letter is recorded as published when its message first was, and named when given up.

Pub/Sub forwards a message it gave up on to ``faults`` as a new message, published then;
the time its message was first published travels in ``CloudPubSubDeadLetterSourceTopicPublishTime``.
The embedded hub and a trigger's runtime forward theirs the same way, so the fault of a
dead letter tells when its message arose on every platform, and ``faults`` lists them in
that order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import pytest

from shared.clock import ManualClock
from shared.hub.memory import InMemoryHub, InMemoryPublisher, Subscription, dead_letter_to
from shared.hub.message import Message, dead_lettered
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.faults import (
    FAULTS_COLLECTION,
    FaultRecorder,
    dead_letter_headers,
    fault_record,
    fault_time,
    refusal,
)
from shared.runtime.outcome import Outcome
from shared.sample import alpha, beta
from shared.stores.memory import InMemoryDocumentStore
from shared.topology import Topic

FIRST_PUBLISHED = "2022-08-12T15:56:29.732+00:00"
"""How Pub/Sub writes a dead letter's ``…TopicPublishTime``."""
DEAD_LETTERED = "2022-08-12T16:18:50.721Z"
"""How Pub/Sub writes the dead letter's own publish time, on ``faults``."""


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def pubsub_dead_letter(**attributes: str) -> Message:
    """A dead letter as Pub/Sub pushes it to the recorder: published on ``faults`` later."""
    return Message(
        data=b'{"not": "an event"}',
        attributes={
            "type": "order-placed",
            "CloudPubSubDeadLetterSourceSubscription": "kitchen-bff-listener",
            "CloudPubSubDeadLetterSourceSubscriptionProject": "order-prod",
            "CloudPubSubDeadLetterSourceDeliveryCount": "5",
            **attributes,
        },
        message_id="1234",
        publish_time=DEAD_LETTERED,
    )


def test_a_pubsub_dead_letter_is_recorded_as_published_when_its_message_first_was() -> None:
    dead = pubsub_dead_letter(CloudPubSubDeadLetterSourceTopicPublishTime=FIRST_PUBLISHED)

    _, record = fault_record(dead)

    assert record["message"]["publishTime"] == "2022-08-12T15:56:29.732000Z"
    assert fault_time(record) == ms(FIRST_PUBLISHED)
    assert "CloudPubSubDeadLetterSourceTopicPublishTime" not in record["message"]["attributes"]


@pytest.mark.parametrize("given", [None, "", "not a time"], ids=["absent", "empty", "junk"])
def test_without_a_usable_first_publish_time_the_dead_letters_own_is_kept(
    given: str | None,
) -> None:
    extra = {} if given is None else {"CloudPubSubDeadLetterSourceTopicPublishTime": given}

    _, record = fault_record(pubsub_dead_letter(**extra))

    assert record["message"]["publishTime"] == DEAD_LETTERED
    assert fault_time(record) == ms(DEAD_LETTERED)


def test_the_embedded_hub_dead_letters_as_pubsub_does_so_the_fault_has_the_first_publish_time():
    # GIVEN a subscription whose every delivery fails, its dead letters recorded
    clock = ManualClock()
    hub = InMemoryHub(clock)
    for topic in Topic:
        hub.create_topic("p", topic)
    store = InMemoryDocumentStore()
    recorder = FaultRecorder(store)
    hub.subscribe(
        "p",
        Topic.BUS,
        Subscription(
            "kitchen-bff-listener",
            lambda message, attempt: Outcome.RETRY,
            max_attempts=5,
            min_backoff_ms=10_000,
            max_backoff_ms=600_000,
            dead_letter=dead_letter_to(hub, "p", "kitchen-bff-listener"),
        ),
    )
    hub.subscribe(
        "p",
        Topic.FAULTS,
        Subscription("recorder", lambda m, a: Outcome.ACK if recorder.handle(m) else Outcome.RETRY),
    )
    published_ms = clock.now_ms()
    # WHEN a message is published, and dead-lettered after its retries
    hub.publish("p", Topic.BUS, [Message(b"{}", {"type": "t", "id": "e1"})])
    hub.run_until_quiet()
    # THEN its fault says when it was published, not when it was dead-lettered
    assert clock.now_ms() > published_ms  # the retries took (virtual) time
    [record] = [d.data for d in store.query(FAULTS_COLLECTION)]
    assert record["reason"] == "dead-letter"
    assert fault_time(record) == published_ms


@pytest.fixture
def bus_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every publication on a ``bus`` fails: the cart trigger asks for a retry every run."""
    publish = InMemoryPublisher.publish

    def refusing(self: InMemoryPublisher, topic: Topic, messages: Sequence[Message]) -> list[str]:
        if topic is Topic.BUS:
            raise ConnectionError("bus: 503 the service is unavailable")
        return publish(self, topic, messages)

    monkeypatch.setattr(InMemoryPublisher, "publish", refusing)


@pytest.mark.usefixtures("bus_down")
def test_a_trigger_dead_letters_a_change_as_published_when_written_and_logs_its_fault(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    system = EmbeddedSystem([alpha.APP, beta.APP], clock=clock)
    written_ms = clock.now_ms()

    with caplog.at_level(logging.ERROR, logger="fooddelivery.runtime"):
        system.stores["alpha"].create("carts", "c1", {"id": "c1"})
        system.run_until_quiet()

    [record] = system.faults("alpha")
    assert record["reason"] == "dead-letter"
    assert fault_time(record) == written_ms  # not the hour later it was given up on
    [given_up] = [r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage()]
    fault = record["id"]
    assert given_up.endswith(f"as fault {fault} (fooddelivery faults show alpha {fault})")


def test_the_answer_naming_a_dead_letter_names_the_fault_the_recorder_stores() -> None:
    dead = dead_lettered(Message(b"{}", {"document": "c1"}), "alpha", "cart-bff-trigger", 12)

    said = refusal(dead_letter_headers(dead))

    assert said is not None
    assert said.fault_id == fault_record(dead)[0]
    assert said.error == "MaxDeliveryAttemptsExceeded: not acknowledged after 12 attempts"
