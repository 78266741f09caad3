"""Targets load through functions-framework and speak the Pub/Sub push protocol."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from shared.envelope import new_event
from shared.hub.memory import Subscription
from shared.hub.message import DEAD_LETTER_PREFIX, Message, push_body, to_message
from shared.runtime.faults import ARISEN_AT, FAULTS_COLLECTION
from shared.runtime.functions import FunctionHost, adapters
from shared.runtime.outcome import Outcome
from shared.sample.alpha import APP, TOPOLOGY
from shared.settings import Settings
from shared.stores.base import Where
from shared.stores.indexes import MissingIndex
from shared.topology import Topic
from shared.topology.model import Index

SOURCE = str(Path(__file__).parents[2] / "shared" / "sample" / "alpha_main.py")


@pytest.fixture
def target(monkeypatch):
    """Load one target of the sample's main.py in memory mode; collect what it publishes."""
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")
    published: dict[str, list[Message]] = {t: [] for t in Topic}

    def load(name: str):
        app = create_app(target=name, source=SOURCE, signature_type="http")
        host = sys.modules["alpha_main"].host
        _, publisher, ports = host.infrastructure()
        for topic in Topic:
            publisher.hub.subscribe(
                publisher.project,
                topic,
                Subscription(
                    f"tap-{topic}", lambda m, a, t=topic: published[t].append(m) or Outcome.ACK
                ),
            )
        return app.test_client(), publisher.hub, ports

    return load, published


def push(client, message: Message):
    return client.post("/", json=push_body("projects/alpha/subscriptions/s", message))


def test_main_exposes_a_target_for_every_declared_function():
    import importlib.util

    spec = importlib.util.spec_from_file_location("alpha_main_check", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = {fn.target(s) for s, fn in TOPOLOGY.functions()}
    assert expected <= set(vars(module))


def test_push_request_runs_the_consumer_and_publishes_its_events(target):
    load, published = target
    client, hub, _ = load("orders_esg_egress")
    event = new_event("cart-checked-out", "cart", {"id": "c1", "items": ["x"]}, partition_key="c1")
    response = push(client, to_message(event))
    hub.run_until_quiet()
    assert response.status_code == 204
    [out] = published[Topic.EXTERNAL]
    assert out.attributes["type"] == "alpha.order-submitted"
    assert out.ordering_key == "c1"


def test_transient_failure_answers_non_2xx_so_the_broker_redelivers(target):
    load, published = target
    client, hub, ports = load("orders_esg_egress")
    ports.fail_times["c1"] = 1
    event = new_event("cart-checked-out", "cart", {"id": "c1", "items": ["x"]}, partition_key="c1")
    assert push(client, to_message(event)).status_code == 503
    assert push(client, to_message(event)).status_code == 204


def test_poison_message_is_acked_and_becomes_a_fault(target):
    load, published = target
    client, hub, _ = load("orders_esg_egress")
    response = push(
        client, Message(data=b"garbage", attributes={"type": "cart-checked-out"}, message_id="m-9")
    )
    hub.run_until_quiet()
    assert response.status_code == 204
    [fault] = published[Topic.FAULTS]
    assert fault.attributes["type"] == "fault"
    assert b"EnvelopeError" in fault.data


def test_message_outside_the_routing_rule_is_acked_untouched(target):
    load, published = target
    client, hub, _ = load("orders_esg_egress")
    event = new_event("something-else", "thing", {}, partition_key="k")
    assert push(client, to_message(event)).status_code == 204
    hub.run_until_quiet()
    assert all(not messages for messages in published.values())


def test_a_body_that_is_not_a_push_request_gets_400(target):
    load, _ = target
    client, _, _ = load("orders_esg_egress")
    response = client.post("/", data="hello", content_type="text/plain")
    assert response.status_code == 400
    assert "not a Pub/Sub push request" in response.get_data(as_text=True)


def test_http_target_dispatches_into_the_service_app(target):
    load, _ = target
    client, _, ports = load("cart_bff_api")
    assert client.post("/carts/c1/checkout", json={"items": ["x"]}).status_code == 202
    assert client.post("/carts/c1/checkout", json={"items": ["x"]}).status_code == 409
    assert client.post("/carts/c2/checkout", json={}).status_code == 400
    assert client.get("/carts/c1").get_json()["status"] == "checked-out"
    assert ports.store.get("carts", "c1")["items"] == ["x"]


def eventarc_request(data: bytes) -> dict:
    """A binary-mode CloudEvent as Eventarc delivers a Firestore document write."""
    return {
        "data": data,
        "headers": {
            "ce-id": "evt-1",
            "ce-source": "//firestore.googleapis.com/projects/demo/databases/(default)",
            "ce-type": "google.cloud.firestore.document.v1.written",
            "ce-specversion": "1.0",
            "ce-document": "carts/c1",
            "Content-Type": "application/protobuf",
        },
    }


def test_trigger_target_turns_an_eventarc_document_event_into_domain_events(monkeypatch):
    from google.events.cloud.firestore import ArrayValue, Document, DocumentEventData, Value
    from google.protobuf import timestamp_pb2

    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")
    app = create_app(target="cart_bff_trigger", source=SOURCE, signature_type="cloudevent")
    _, publisher, _ = sys.modules["alpha_main"].host.infrastructure()
    published: list[Message] = []
    for topic in Topic:
        publisher.hub.subscribe(
            publisher.project,
            topic,
            Subscription(f"tap-{topic}", lambda m, a: published.append(m) or Outcome.ACK),
        )
    written = Document(
        name="projects/demo/databases/(default)/documents/carts/c1",
        fields={
            "id": Value(string_value="c1"),
            "items": Value(array_value=ArrayValue(values=[Value(string_value="mug")])),
        },
        update_time=timestamp_pb2.Timestamp(seconds=1_764_150_000),
    )
    body = DocumentEventData.serialize(DocumentEventData(value=written))
    response = app.test_client().post("/", **eventarc_request(body))
    publisher.hub.run_until_quiet()
    assert response.status_code == 200
    [message] = published
    assert message.attributes["type"] == "cart-checked-out"
    assert b'"items":["mug"]' in message.data

    published.clear()
    response = app.test_client().post("/", **eventarc_request(b"\x00not protobuf"))
    publisher.hub.run_until_quiet()
    assert response.status_code == 200  # acknowledged: retrying a poison payload cannot help
    [fault] = published
    assert fault.attributes["type"] == "fault"


class TriggerWithTopicsDown:
    """The sample's cart trigger loaded as Cloud Functions does, with ``down`` topics
    refusing messages and the faults topic tapped."""

    def __init__(self, monkeypatch, down: set[Topic]) -> None:
        monkeypatch.setenv("FOODDELIVERY_MODE", "memory")
        self.app = create_app(target="cart_bff_trigger", source=SOURCE, signature_type="cloudevent")
        _, self.publisher, _ = sys.modules["alpha_main"].host.infrastructure()
        self.faults: list[Message] = []
        self.down = down
        self.publisher.hub.subscribe(
            self.publisher.project,
            Topic.FAULTS,
            Subscription("tap-faults", lambda m, a: self.faults.append(m) or Outcome.ACK),
        )
        publish = self.publisher.publish

        def refusing(topic, messages):
            if topic in self.down:
                raise ConnectionError(f"{topic} is down")
            return publish(topic, messages)

        monkeypatch.setattr(self.publisher, "publish", refusing)

    def deliver(self, body: bytes, written_ago_s: float) -> int:
        """POST the event as Eventarc does, for a write ``written_ago_s`` ago; the status."""
        return self.answer(body, written_ago_s).status_code

    def answer(self, body: bytes, written_ago_s: float) -> Any:
        """POST the event as Eventarc does, for a write ``written_ago_s`` ago; the answer."""
        from datetime import UTC, datetime, timedelta

        request = eventarc_request(body)
        at = datetime.now(UTC) - timedelta(seconds=written_ago_s)
        request["headers"]["ce-time"] = at.isoformat().replace("+00:00", "Z")
        response = self.app.test_client().post("/", **request)
        self.publisher.hub.run_until_quiet()
        return response


def cart_written() -> bytes:
    """The Eventarc payload of a write to carts/c1."""
    from google.events.cloud.firestore import Document, DocumentEventData, Value

    written = Document(
        name="projects/demo/databases/(default)/documents/carts/c1",
        fields={"id": Value(string_value="c1")},
    )
    return bytes(DocumentEventData.serialize(DocumentEventData(value=written)))


def test_a_trigger_still_failing_after_the_retry_window_dead_letters_the_change(monkeypatch):
    from shared.runtime.functions import TRIGGER_RETRY_WINDOW_S

    trigger = TriggerWithTopicsDown(monkeypatch, down={Topic.BUS})
    body = cart_written()

    assert trigger.deliver(body, 60) == 500  # retried by Eventarc
    assert trigger.faults == []
    assert trigger.deliver(body, TRIGGER_RETRY_WINDOW_S + 60) == 200
    [fault] = trigger.faults
    assert fault.attributes[f"{DEAD_LETTER_PREFIX}Subscription"] == "cart-bff-trigger"
    assert fault.attributes["document"] == "c1"
    assert b'"collection": "carts"' in fault.data


def test_the_answer_to_the_delivery_that_dead_letters_a_change_names_its_fault(monkeypatch):
    from shared.runtime.faults import fault_record, refusal
    from shared.runtime.functions import TRIGGER_RETRY_WINDOW_S

    trigger = TriggerWithTopicsDown(monkeypatch, down={Topic.BUS})

    response = trigger.answer(cart_written(), TRIGGER_RETRY_WINDOW_S + 60)

    assert response.status_code == 200
    [dead_letter] = trigger.faults
    said = refusal(response.headers)
    assert said is not None and said.fault_id == fault_record(dead_letter)[0]
    assert said.error.startswith("MaxDeliveryAttemptsExceeded: not acknowledged after")


@pytest.mark.parametrize("case", ["poison", "gave-up"])
def test_a_trigger_that_cannot_record_its_fault_asks_eventarc_to_retry(monkeypatch, case):
    from shared.runtime.functions import TRIGGER_RETRY_WINDOW_S

    trigger = TriggerWithTopicsDown(monkeypatch, down={Topic.BUS, Topic.FAULTS})
    body = b"\x00not protobuf" if case == "poison" else cart_written()

    # GIVEN a change that can only become a fault, while the faults topic is down
    assert trigger.deliver(body, TRIGGER_RETRY_WINDOW_S + 60) == 500  # Eventarc delivers again
    assert trigger.faults == []
    # WHEN the faults topic is back THEN the redelivery records the fault, once
    trigger.down.discard(Topic.FAULTS)
    assert trigger.deliver(body, TRIGGER_RETRY_WINDOW_S + 60) == 200
    [fault] = trigger.faults
    if case == "poison":
        assert fault.attributes["type"] == "fault"
    else:
        assert fault.is_dead_letter


@pytest.mark.parametrize(
    ("general", "own", "expected"),
    [
        ("gcloud-default", "order-dev", "order-dev"),  # a developer's GOOGLE_CLOUD_PROJECT
        ("acme-fd-order-prod", None, "acme-fd-order-prod"),  # a deployed function's project
        ("local", None, "order-local"),
    ],
)
def test_a_host_uses_its_subsystems_own_project_first(monkeypatch, general, own, expected):
    built = []
    monkeypatch.setattr("shared.stores.firestore.FirestoreDocumentStore", built.append)
    monkeypatch.setattr("shared.hub.pubsub.PubSubPublisher", built.append)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # never reached
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")
    projects = {"order": own} if own else {}
    settings = Settings(mode="emulator", env="local", project=general, projects=projects)

    adapters("order", settings)

    assert built == [expected, expected]


def test_a_host_in_memory_mode_refuses_a_query_its_declared_indexes_do_not_serve():
    topology = dataclasses.replace(APP.topology, indexes=(Index("carts", ("status", "at")),))
    host = FunctionHost(dataclasses.replace(APP, topology=topology), Settings(mode="memory"))
    store = host.infrastructure()[0].store
    shipped = [Where("status", "==", "shipped")]

    assert store.query("carts", shipped, order_by="at") == []  # the subsystem's own index
    open_faults = [Where("status", "==", "open")]
    assert store.query(FAULTS_COLLECTION, open_faults, order_by=ARISEN_AT, descending=True) == []
    with pytest.raises(MissingIndex) as refused:  # as Firestore would, for want of an index
        store.query("carts", shipped, order_by="checkedOutAt")
    assert refused.value.index == Index("carts", ("status", "checkedOutAt"))
