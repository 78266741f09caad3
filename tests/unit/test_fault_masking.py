"""A trigger's redacted values (a card token) never reach its faults or its log lines, even
when the error it raised quotes them."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel

from shared.exceptions import PoisonError
from shared.hub.message import Message
from shared.runtime.consumer import TriggerRuntime, redacted_values
from shared.runtime.outcome import Outcome
from shared.stores.base import DocumentChange
from shared.topology import Role, Service, ServiceKind, Subsystem, Topic, Trigger
from tests.unit.recorded import trigger_runtime

TOKEN = "pm_secret_4242_abcdef"
VERSION = "2026-01-01T00:00:00.000000Z"


class Card(BaseModel):
    token: int


def refuse_quoting(change: DocumentChange, _ctx: Any) -> None:
    raise PoisonError(f"no card {change.after['card']['token']!r} for this order")


def refuse_by_validation(change: DocumentChange, _ctx: Any) -> None:
    Card.model_validate(change.after["card"])  # pydantic quotes the input it refused


def fail_quoting(change: DocumentChange, _ctx: Any) -> None:
    raise RuntimeError(f"processor down while charging {change.after['card']['token']}")


def runtime(handler: Any) -> tuple[TriggerRuntime[Any], dict[str, list[Message]]]:
    trigger = Trigger(
        "orders-trigger",
        Role.TRIGGER,
        collection="orders",
        handlers=(handler,),
        redact=("card.token",),
    )
    return trigger_runtime(
        Subsystem("shop", (Service("checkout-bff", ServiceKind.BFF, (trigger,)),))
    )


def change() -> DocumentChange:
    return DocumentChange(
        "orders", "o-1", None, {"id": "o-1", "card": {"token": TOKEN, "last4": "4242"}}, VERSION
    )


@pytest.mark.parametrize("handler", [refuse_quoting, refuse_by_validation])
def test_a_fault_never_quotes_a_redacted_value(handler: Any, caplog: Any) -> None:
    trigger, published = runtime(handler)

    with caplog.at_level(logging.DEBUG):
        assert trigger.handle(change()) is Outcome.ACK

    [fault] = published[Topic.FAULTS]
    assert TOKEN not in fault.data.decode()
    error = json.loads(fault.data)["fault"]["error"]
    assert "[redacted]" in error["message"] and "[redacted]" in error["details"]
    assert TOKEN not in caplog.text


def test_a_failure_retried_never_logs_a_redacted_value(caplog: Any) -> None:
    trigger, published = runtime(fail_quoting)

    with caplog.at_level(logging.DEBUG):
        assert trigger.handle(change()) is Outcome.RETRY

    assert published[Topic.FAULTS] == []
    assert "processor down while charging [redacted]" in caplog.text
    assert "Traceback" in caplog.text and TOKEN not in caplog.text


def test_the_values_masked_are_every_long_enough_text_at_the_paths() -> None:
    doc = {"card": {"token": TOKEN, "last4": "4242", "exp": [2031, "expiry-12"]}, "id": "o-1"}
    masked = redacted_values(DocumentChange("orders", "o-1", doc, doc, VERSION), ("card",))

    assert masked == (TOKEN, "expiry-12")
