"""A trigger's target takes every form of Firestore CloudEvent Eventarc may send.

Eventarc sends a Firestore event's data as ``application/protobuf`` by default, or as
``application/json`` when the trigger asks for it; in binary content mode (the data is
the body, the attributes ``ce-*`` headers) or in structured mode (one
``application/cloudevents+json`` body). The target must hand the trigger the same change
whatever the form, and a payload that is no document event must become a fault (200),
never an answer that has Eventarc retry it for a day and then drop it.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app
from google.events.cloud.firestore import Document, DocumentEventData, Value
from google.protobuf import json_format, timestamp_pb2  # type: ignore[import-untyped]

from shared.hub.memory import Subscription
from shared.hub.message import Message
from shared.runtime.outcome import Outcome
from shared.topology import Topic

SOURCE = str(Path(__file__).parents[2] / "shared" / "sample" / "alpha_main.py")
WRITTEN = "google.cloud.firestore.document.v1.written"
ATTRIBUTES = {
    "id": "evt-1",
    "source": "//firestore.googleapis.com/projects/demo/databases/(default)",
    "type": WRITTEN,
    "specversion": "1.0",
    "time": "2025-11-26T09:40:00.000000Z",
    "document": "carts/c1",
}


class CartTrigger:
    """The sample's cart trigger loaded as Cloud Functions loads it; what it publishes."""

    def __init__(self) -> None:
        self.client = create_app(
            target="cart_bff_trigger", source=SOURCE, signature_type="cloudevent"
        ).test_client()
        _, publisher, _ = sys.modules["alpha_main"].host.infrastructure()
        self.hub = publisher.hub
        self.published: dict[Topic, list[Message]] = {t: [] for t in Topic}
        for topic in Topic:
            self.hub.subscribe(
                publisher.project,
                topic,
                Subscription(
                    f"tap-{topic}",
                    lambda m, a, t=topic: self.published[t].append(m) or Outcome.ACK,
                ),
            )

    def post(self, body: bytes, headers: dict[str, str]) -> Any:
        response = self.client.post("/", data=body, headers=headers)
        self.hub.run_until_quiet()
        return response


@pytest.fixture
def trigger(monkeypatch: pytest.MonkeyPatch) -> CartTrigger:
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")
    return CartTrigger()


def cart_written() -> DocumentEventData:
    return DocumentEventData(
        value=Document(
            name="projects/demo/databases/(default)/documents/carts/c1",
            fields={"id": Value(string_value="c1")},
            update_time=timestamp_pb2.Timestamp(seconds=1_764_150_000),
        )
    )


def as_json(data: DocumentEventData) -> dict[str, Any]:
    converted: dict[str, Any] = json_format.MessageToDict(DocumentEventData.pb(data))
    return converted


def binary(content_type: str) -> dict[str, str]:
    return {**{f"ce-{k}": v for k, v in ATTRIBUTES.items()}, "Content-Type": content_type}


def structured(**data: Any) -> tuple[bytes, dict[str, str]]:
    body = {**ATTRIBUTES, **data}
    return json.dumps(body).encode(), {"Content-Type": "application/cloudevents+json"}


def test_a_json_event_in_binary_mode_runs_the_trigger(trigger: CartTrigger) -> None:
    body = json.dumps(as_json(cart_written())).encode()

    response = trigger.post(body, binary("application/json"))

    assert response.status_code == 200
    [event] = trigger.published[Topic.BUS]
    assert event.attributes["type"] == "cart-checked-out"
    assert trigger.published[Topic.FAULTS] == []


def test_a_json_event_in_structured_mode_runs_the_trigger(trigger: CartTrigger) -> None:
    body, headers = structured(datacontenttype="application/json", data=as_json(cart_written()))

    response = trigger.post(body, headers)

    assert response.status_code == 200
    [event] = trigger.published[Topic.BUS]
    assert event.attributes["type"] == "cart-checked-out"


def test_a_json_payload_that_is_no_document_event_is_a_fault_not_a_retry(
    trigger: CartTrigger,
) -> None:
    body = json.dumps({"value": {"name": "carts/c1"}}).encode()

    response = trigger.post(body, binary("application/json"))

    assert response.status_code == 200  # acknowledged: a retry cannot make it parse
    [fault] = trigger.published[Topic.FAULTS]
    assert fault.attributes["type"] == "fault"
    stored = json.loads(fault.data)["fault"]["message"]
    assert base64.b64decode(stored["data"]) == body  # kept as it came, to be replayed
    assert stored["attributes"] == {"datacontenttype": "application/json"}  # and sent as such


def test_a_structured_event_without_a_content_type_has_json_data(trigger: CartTrigger) -> None:
    """The CloudEvents JSON format: a ``data`` member with no ``datacontenttype`` is JSON
    (``application/json`` is implied), not Eventarc's default protobuf."""
    body, headers = structured(data=as_json(cart_written()))

    response = trigger.post(body, headers)

    assert response.status_code == 200
    [event] = trigger.published[Topic.BUS]
    assert event.attributes["type"] == "cart-checked-out"
    assert trigger.published[Topic.FAULTS] == []


def test_structured_base64_data_without_a_content_type_is_protobuf(trigger: CartTrigger) -> None:
    """``data_base64`` is binary: with no ``datacontenttype``, Eventarc's default applies."""
    encoded = base64.b64encode(DocumentEventData.serialize(cart_written())).decode()
    body, headers = structured(data_base64=encoded)

    response = trigger.post(body, headers)

    assert response.status_code == 200
    [event] = trigger.published[Topic.BUS]
    assert event.attributes["type"] == "cart-checked-out"


def test_a_structured_fault_without_a_content_type_is_kept_as_json(trigger: CartTrigger) -> None:
    """A replay must send the data as what it was: JSON, the implied type made explicit."""
    body, headers = structured(data={"value": {"name": "carts/c1"}})

    response = trigger.post(body, headers)

    assert response.status_code == 200
    [fault] = trigger.published[Topic.FAULTS]
    stored = json.loads(fault.data)["fault"]["message"]
    assert json.loads(base64.b64decode(stored["data"])) == {"value": {"name": "carts/c1"}}
    assert stored["attributes"] == {"datacontenttype": "application/json"}
