"""The dev host's answers without content (a push acknowledged, a tick run, a fault recorded)
carry no ``Content-Type``, as a BFF's do: there is nothing for a type to describe, and Flask's
default would call it an HTML page. Answers with content keep theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

from devstack.host_app import FAULTS_PATH, build_app
from devstack.host_runtime import HostRuntime
from order.topology import APP as ORDER
from shared.envelope import new_event
from shared.hub.message import Message, push_body, to_message
from shared.runtime.faults import FaultRecorder
from shared.settings import Settings

POS = {"POS_URL": "http://pos.test", "POS_CALLBACK_URL": "http://o.test", "POS_WEBHOOK_SECRET": "s"}
SUBSCRIPTION = "projects/order-local/subscriptions/s"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    """The order subsystem's dev host on in-memory adapters, nothing started."""
    host = HostRuntime(ORDER, Settings(mode="memory", extra=POS), tmp_path)
    host.recorder = FaultRecorder(host.store)  # as start() sets it, without starting feeds
    yield Client(build_app(host))
    host.checkpoint.close()


def test_a_tick_run_by_hand_is_204_without_a_content_type(client: Client) -> None:
    answer = client.post("/lifecycle_control_timeouts")
    assert answer.status_code == 204
    assert "Content-Type" not in answer.headers


def test_a_push_acknowledged_is_204_without_a_content_type(client: Client) -> None:
    event = new_event("nobody-listens", "order", {"id": "o-1"}, partition_key="o-1")
    answer = client.post(
        "/lifecycle_control_collector", json=push_body(SUBSCRIPTION, to_message(event))
    )
    assert answer.status_code == 204
    assert "Content-Type" not in answer.headers


def test_a_fault_recorded_is_204_without_a_content_type(client: Client) -> None:
    garbage = Message(data=b"garbage", attributes={"type": "x"}, message_id="m-1")
    answer = client.post(FAULTS_PATH, json=push_body(SUBSCRIPTION, garbage))
    assert answer.status_code == 204
    assert "Content-Type" not in answer.headers


def test_an_answer_with_content_keeps_its_type(client: Client) -> None:
    missing = client.post("/no_such_target")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/json"
    refused = client.post(FAULTS_PATH, data=b"not json")
    assert refused.status_code == 400
    assert refused.headers["Content-Type"].startswith("text/html")  # Flask's, as before
