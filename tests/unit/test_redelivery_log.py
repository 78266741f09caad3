"""The warning for a failed delivery names its attempt only when the broker counted one:
the emulator's pushes carry no ``deliveryAttempt``, so each of its retries parses as
attempt 1, and ``attempt 1`` on every retry would be a false count."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.envelope import Envelope, new_event
from shared.exceptions import NotYet
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message, parse_push, push_body, to_message
from shared.hub.routing import on_types
from shared.runtime.consumer import ConsumerRuntime
from shared.runtime.context import Context
from shared.runtime.outcome import Outcome
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic

HAPPENED = replace(
    to_message(new_event("thing-happened", "thing", {"id": "t-1"}, partition_key="t-1")),
    message_id="m-1",
)


class Bus(AbstractPublisher):
    def publish(self, topic: Topic, messages: Any) -> list[str]:
        return []


def failing(event: Envelope, ctx: Context[Any]) -> None:
    raise ConnectionError("the store is unavailable")


class ThingNotKnownYet(NotYet):
    """What a handler raises when what it needs has not arrived, by design."""


def waiting(event: Envelope, ctx: Context[Any]) -> None:
    raise ThingNotKnownYet("thing t-1 has no profile here yet")


def runtime(handler: Any = failing) -> ConsumerRuntime[Any]:
    consumer = Consumer(
        "listener", Role.LISTENER, Channel(on_types("thing-happened")), handlers=(handler,)
    )
    service = Service("things", ServiceKind.CONTROL, (consumer,))
    return ConsumerRuntime(
        Subsystem("things", (service,)), service, consumer, None, Bus(), ManualClock(), "test"
    )


def warning_for(message: Message, caplog: pytest.LogCaptureFixture) -> str:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert runtime().handle(message) is Outcome.RETRY
    (record,) = [r for r in caplog.records if "redelivery" in r.getMessage()]
    return record.getMessage()


def test_an_emulator_push_without_a_delivery_attempt_claims_no_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = push_body("projects/p/subscriptions/things-listener", HAPPENED)
    del body["deliveryAttempt"]  # as the emulator pushes, on every retry alike
    _, message = parse_push(body)
    text = warning_for(message, caplog)
    assert text == "failed, asking for redelivery: ConnectionError: the store is unavailable"


def test_a_counted_attempt_is_named(caplog: pytest.LogCaptureFixture) -> None:
    text = warning_for(HAPPENED.delivered(3), caplog)
    assert text == (
        "failed, asking for redelivery (attempt 3): ConnectionError: the store is unavailable"
    )


def test_the_reason_is_in_the_message_not_only_in_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Cloud Logging shows an entry by its message: a retry that does not say why, repeated
    on every attempt, sends the operator to each entry's stack trace."""
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        runtime().handle(HAPPENED)
    (record,) = caplog.records
    assert "ConnectionError: the store is unavailable" in record.getMessage()
    assert record.exc_info is not None  # the traceback is still there, for a defect
    assert record.__dict__["labels"]["eventId"] == HAPPENED.attributes["id"]


def test_a_wait_by_design_is_redelivered_and_logged_as_information_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An order before its restaurant's profile, an offer whose withdrawal is on its way:
    logged as a warning with a traceback on every retry, they looked like defects."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        assert runtime(waiting).handle(HAPPENED.delivered(2)) is Outcome.RETRY
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "waits, asking for redelivery: thing t-1 has no profile here yet"
    )
    assert record.exc_info is None
    assert record.__dict__["labels"]["eventId"] == HAPPENED.attributes["id"]
