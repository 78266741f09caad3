"""A function that refuses what it was handed as poison says so in its answer.

The answer still acknowledges (the broker must not deliver a poison message again),
and names the fault it published, so whoever handed the message over, ``faults
resubmit`` among them, knows at once, before the fault recorder stores it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app
from werkzeug.test import Client

from devstack.host_app import build_app
from devstack.host_runtime import HostRuntime
from order.topology import APP as ORDER
from shared.clock import ManualClock
from shared.envelope import new_event
from shared.exceptions import BusinessRuleViolation
from shared.hub.memory import Subscription
from shared.hub.message import Message, from_message, push_body, to_message
from shared.runtime.app import Infrastructure
from shared.runtime.change_events import cloudevent_headers
from shared.runtime.consumer import ConsumerRuntime
from shared.runtime.faults import FAULT_HEADER, Refusal, refusal
from shared.runtime.outcome import Outcome
from shared.sample import alpha
from shared.settings import Settings
from shared.stores.memory import InMemoryDocumentStore
from shared.topology import Topic

SOURCE = str(Path(__file__).parents[2] / "shared" / "sample" / "alpha_main.py")
GARBAGE = Message(data=b"garbage", attributes={"type": "cart-checked-out"}, message_id="m-9")


class Alpha:
    """One target of the sample's main.py, loaded as Cloud Functions loads it (a trigger
    declared a CloudEvent function, as Eventarc's deployment does); the faults it publishes."""

    def __init__(self, name: str, signature: str = "http") -> None:
        self.client = create_app(target=name, source=SOURCE, signature_type=signature).test_client()
        _, publisher, self.ports = sys.modules["alpha_main"].host.infrastructure()
        self.hub = publisher.hub
        self.faults: list[Message] = []
        self.hub.subscribe(
            publisher.project,
            Topic.FAULTS,
            Subscription("tap-faults", lambda m, a: self.faults.append(m) or Outcome.ACK),
        )

    def push(self, message: Message) -> Any:
        response = self.client.post("/", json=push_body("projects/alpha/subscriptions/s", message))
        self.hub.run_until_quiet()
        return response


@pytest.fixture(autouse=True)
def in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")


def test_a_push_target_acknowledges_a_poison_message_naming_its_fault():
    egress = Alpha("orders_esg_egress")
    event = new_event("cart-checked-out", "cart", {"id": "c1", "items": ["x"]}, partition_key="c1")
    processed = egress.push(to_message(event))

    refused = egress.push(GARBAGE)

    assert (processed.status_code, refused.status_code) == (204, 204)
    assert FAULT_HEADER not in processed.headers
    [fault] = [from_message(m) for m in egress.faults]
    said = refusal(refused.headers)
    assert said is not None
    assert said.fault_id == fault.id
    assert said.error.startswith("EnvelopeError: ")


def test_a_trigger_answers_itself_though_the_platform_declares_a_cloudevent_function():
    trigger = Alpha("cart_bff_trigger", signature="cloudevent")

    response = trigger.client.post(
        "/", data=b"\x00not protobuf", headers=cloudevent_headers("evt-1", "alpha")
    )
    trigger.hub.run_until_quiet()

    assert response.status_code == 200  # acknowledged: retrying a poison payload cannot help
    [fault] = [from_message(m) for m in trigger.faults]
    error = fault.body["error"]
    assert refusal(response.headers) == Refusal(fault.id, f"{error['type']}: {error['message']}")
    assert "not a CloudEvent" in trigger.client.post("/", data=b"{}").get_data(as_text=True)


def test_an_error_travels_in_ascii_and_comes_back_whole():
    egress = Alpha("orders_esg_egress")
    event = new_event(
        "cart-checked-out", "cart", {"id": "c2", "items": ["forbidden"]}, partition_key="c2"
    )

    response = egress.push(to_message(event))

    said = refusal(response.headers)
    assert said is not None
    assert said.error == "BusinessRuleViolation: forbidden items cannot be ordered"
    assert all(value.isascii() for value in response.headers.values())


def consumer() -> ConsumerRuntime:
    """alpha's orders-esg egress, on a faults topic that takes everything."""

    class Publisher:
        def publish(self, topic: Topic, messages: list[Message]) -> list[str]:
            return ["x"] * len(messages)

    clock = ManualClock()
    ports = alpha.APP.bootstrap(Infrastructure("alpha", InMemoryDocumentStore(), clock, "test"))
    service, fn = alpha.APP.topology.find("orders_esg_egress")
    return ConsumerRuntime(alpha.APP.topology, service, fn, ports, Publisher(), clock, "test")


def refused_as(runtime: ConsumerRuntime, message: Message) -> str:
    """The id of the fault ``runtime`` records for ``message``."""
    faults: list[Any] = []
    assert runtime.handle(message, faults=faults) is Outcome.ACK
    [fault] = faults
    return str(fault.id)


def test_a_message_without_an_event_id_is_one_fault_whatever_id_the_bus_gave_it():
    runtime = consumer()
    first = refused_as(runtime, GARBAGE)

    assert refused_as(runtime, replace(GARBAGE, message_id="m-10", delivery_attempt=3)) == first
    other = replace(GARBAGE, attributes={**GARBAGE.attributes, "partitionKey": "c9"})
    assert refused_as(runtime, other) != first
    assert refused_as(runtime, replace(GARBAGE, data=b"rubbish")) != first


# -- the dev stack's host answers with the function's own target -----------------------

POS = {"POS_URL": "http://pos.test", "POS_CALLBACK_URL": "http://o.test", "POS_WEBHOOK_SECRET": "s"}


@pytest.fixture
def order_host(tmp_path: Path) -> Iterator[HostRuntime]:
    """The order subsystem's dev host on in-memory adapters, nothing started."""
    host = HostRuntime(ORDER, Settings(mode="memory", extra=POS), tmp_path)
    yield host
    host.checkpoint.close()


def test_the_dev_host_answers_a_tick_its_schedule_refuses_naming_the_fault(order_host, monkeypatch):
    store = order_host.store

    def refusing(collection: str, *args: Any, **kwargs: Any) -> Any:
        raise BusinessRuleViolation("an order without a deadline")

    monkeypatch.setattr(store, "query", refusing)
    client = Client(build_app(order_host))

    response = client.post("/lifecycle_control_timeouts")

    assert response.status_code == 204
    said = refusal(response.headers)
    assert said is not None
    assert said.error == "BusinessRuleViolation: an order without a deadline"
    assert order_host.stats.snapshot()["outcomes"] == {"fault": 1}


def test_the_dev_host_answers_a_change_its_trigger_refuses_naming_the_fault(order_host):
    client = Client(build_app(order_host))

    response = client.post(
        "/pos_esg_relay",
        data=b"\x00not protobuf",
        headers=cloudevent_headers("evt-1", "order-dev", "pos-inbox/o-1:accepted"),
    )

    assert response.status_code == 200
    said = refusal(response.headers)
    assert said is not None
    assert said.error.startswith("EnvelopeError: ")
    assert order_host.stats.snapshot()["outcomes"] == {"fault": 1}
