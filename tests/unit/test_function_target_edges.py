"""What a function's target does with requests Pub/Sub, Eventarc or Cloud Scheduler never send.

A GET (a browser, a probe) must run nothing; a request that is no CloudEvent gets a 400
that says so, never a 500 that reads as a failure to retry; a change of a document
outside the trigger's collection is refused as poison, its handlers never run on it.
"""

from __future__ import annotations

import json
from typing import Any

import flask
import pytest
from functions_framework import create_app
from google.events.cloud.firestore import Document, DocumentEventData, Value
from google.protobuf import timestamp_pb2  # type: ignore[import-untyped]

from shared.hub.message import Message
from shared.runtime.app import SubsystemApp
from shared.runtime.faults import FAULT_HEADER, refusal
from shared.runtime.functions import FunctionHost
from shared.runtime.outcome import Outcome
from shared.sample.alpha import TOPOLOGY as ALPHA
from shared.settings import Settings
from shared.stores.base import DocumentChange
from shared.topology import Role, Service, ServiceKind, Subsystem, Topic
from shared.topology.model import Schedule
from tests.unit.recorded import trigger_runtime
from tests.unit.test_function_targets import SOURCE, push
from tests.unit.test_runtime_cloudevents import ATTRIBUTES, CartTrigger, binary

TICKS: list[int] = []
GAMMA = Subsystem(
    name="gamma",
    services=(
        Service(
            "clock-control",
            ServiceKind.CONTROL,
            (
                Schedule(
                    "timeouts",
                    Role.TRIGGER,
                    every_s=60,
                    handlers=(lambda now, _: TICKS.append(now),),
                ),
            ),
        ),
    ),
)


def answer(target: Any, method: str) -> tuple[str, int, dict[str, str]]:
    """What ``target`` answers a ``method`` request to ``/``."""
    with flask.Flask(__name__).test_request_context("/", method=method):
        said: flask.Response = target(flask.request)
        extra = {
            k: v for k, v in said.headers.items() if k not in ("Content-Type", "Content-Length")
        }
        return said.get_data(as_text=True), said.status_code, extra


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
def test_a_schedule_runs_no_tick_for_a_request_that_is_no_post(method: str) -> None:
    TICKS.clear()
    target = FunctionHost(SubsystemApp(GAMMA, lambda _: None), Settings()).target(
        "clock_control_timeouts"
    )

    _, status, headers = answer(target, method)

    assert (status, headers, TICKS) == (405, {"Allow": "POST"}, [])
    assert answer(target, "POST")[1] == 204  # Cloud Scheduler's request still ticks
    assert len(TICKS) == 1


@pytest.fixture
def trigger(monkeypatch: pytest.MonkeyPatch) -> CartTrigger:
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")
    return CartTrigger()


def test_a_push_target_or_a_trigger_answers_405_to_a_get(trigger: CartTrigger) -> None:
    assert trigger.client.get("/").status_code == 405
    consumer = create_app(target="orders_esg_egress", source=SOURCE, signature_type="http")
    got = consumer.test_client().get("/")
    assert (got.status_code, got.headers["Allow"]) == (405, "POST")
    assert push(consumer.test_client(), Message(data=b"{}")).status_code == 204  # POST gets in


def written(path: str) -> bytes:
    """The protobuf data of an Eventarc event for a write to the document at ``path``."""
    data = DocumentEventData(
        value=Document(
            name=f"projects/demo/databases/(default)/documents/{path}",
            fields={"id": Value(string_value=path.rsplit("/", 1)[-1])},
            update_time=timestamp_pb2.Timestamp(seconds=1_764_150_000),
        )
    )
    return bytes(DocumentEventData.serialize(data))


@pytest.mark.parametrize("header", ["ce-id", "ce-type", "ce-source", "ce-specversion"])
def test_a_binary_event_without_a_required_header_is_refused_as_no_cloudevent(
    trigger: CartTrigger, header: str
) -> None:
    headers = binary("application/protobuf")
    del headers[header]

    response = trigger.post(written("carts/c1"), headers)

    assert response.status_code == 400  # not a 500, which Eventarc would retry for a day
    assert response.get_data(as_text=True).startswith("not a CloudEvent: ")
    assert all(not messages for messages in trigger.published.values())


def test_a_structured_event_with_an_odd_specversion_is_refused_as_no_cloudevent(
    trigger: CartTrigger,
) -> None:
    body = json.dumps({**ATTRIBUTES, "specversion": ["1.0"]}).encode()

    response = trigger.post(body, {"Content-Type": "application/cloudevents+json"})

    assert response.status_code == 400
    assert response.get_data(as_text=True).startswith("not a CloudEvent: ")


@pytest.mark.parametrize("path", ["orders/o1", "carts/c1/items/i1"])
def test_a_change_outside_the_triggers_collection_is_a_fault_not_run(
    trigger: CartTrigger, path: str
) -> None:
    response = trigger.post(written(path), binary("application/protobuf"))

    assert response.status_code == 200  # acknowledged: a retry cannot move the document
    assert trigger.published[Topic.BUS] == []  # no cart checked out for an order
    [fault] = trigger.published[Topic.FAULTS]
    error = json.loads(fault.data)["fault"]["error"]
    assert error["type"] == "EnvelopeError"
    assert f"{path} is no document of 'carts'" in error["message"]
    said = refusal(dict(response.headers))
    assert said is not None and said.fault_id == response.headers[FAULT_HEADER]
    assert said.fault_id == json.loads(fault.data)["id"]


def test_a_trigger_runtime_refuses_a_change_of_another_collection_wherever_it_runs() -> None:
    runtime, published = trigger_runtime(ALPHA)
    change = DocumentChange("orders", "o1", None, {"id": "o1"}, "2026-01-01T00:00:00.000000Z")

    assert runtime.handle(change) is Outcome.ACK

    assert published[Topic.BUS] == []
    [fault] = published[Topic.FAULTS]
    assert json.loads(fault.data)["fault"]["message"]["attributes"]["document"] == "o1"
