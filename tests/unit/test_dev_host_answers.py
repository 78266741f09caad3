"""The dev host's answers without content (a push acknowledged, a tick run, a fault recorded)
carry no ``Content-Type``, as a BFF's do: there is nothing for a type to describe, and Flask's
default would call it an HTML page. Answers with content keep theirs, and what the host refuses
itself (an unknown path or target, a wrong method, a request it cannot read, a trigger that
raised) is a refusal as the kit's APIs answer one, never Flask's HTML page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
from werkzeug.exceptions import BadRequest
from werkzeug.test import Client, TestResponse

from devstack import host_app
from devstack.host_app import FAULTS_PATH, build_app
from devstack.host_runtime import HostRuntime
from order.topology import APP as ORDER
from shared.api import PROBLEM_JSON, HttpError, answer_errors_in_json, json_api_flask
from shared.envelope import new_event
from shared.exceptions import EnvelopeError
from shared.hub.message import Message, parse_push, push_body, to_message
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
    assert client.get("/healthz").headers["Content-Type"] == "application/json"
    missing = client.post("/no_such_target")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == PROBLEM_JSON
    refused = client.post(FAULTS_PATH, data=b"not json")
    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == PROBLEM_JSON


# -- what the host refuses itself is in the kit's error shape, never Flask's HTML ---------


def kit_page(method: str, path: str) -> TestResponse:
    """What the kit answers for ``method path`` on an app of no such route (a BFF's page)."""
    app = json_api_flask("reference")
    answer_errors_in_json(app, problem_details=True)
    app.add_url_rule("/<target>", "target", lambda target: "", methods=["POST"])
    return Client(app).open(path, method=method)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere/at/all"), ("GET", "/static/x.css"), ("GET", "/lifecycle_control_collector")],
)
def test_an_unknown_path_or_method_is_the_kit_s_page(
    client: Client, method: str, path: str
) -> None:
    answer, expected = client.open(path, method=method), kit_page(method, path)
    assert answer.status_code == expected.status_code
    assert answer.headers["Content-Type"] == expected.headers["Content-Type"]
    assert answer.headers.get("Allow") == expected.headers.get("Allow")
    assert answer.json == expected.json


def test_a_target_the_host_lacks_is_refused_as_the_kit_refuses(client: Client) -> None:
    answer = client.post("/no_such_target")
    refusal = HttpError(404, "order has no push, schedule or trigger target 'no_such_target'")
    assert answer.headers["Content-Type"] == PROBLEM_JSON
    assert (answer.status_code, answer.json) == (404, refusal.problem())


def test_a_fault_push_that_is_no_push_is_refused_as_the_kit_refuses(client: Client) -> None:
    with pytest.raises(EnvelopeError) as why:
        parse_push(None)
    answer = client.post(FAULTS_PATH, data=b"not json")
    refusal = HttpError(400, f"not a Pub/Sub push request: {why.value}")
    assert answer.headers["Content-Type"] == PROBLEM_JSON
    assert (answer.status_code, answer.json) == (400, refusal.problem())


def test_a_trigger_that_raises_is_a_500_in_the_kit_s_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(request: object) -> object:
        raise RuntimeError("the store is gone")

    host = HostRuntime(ORDER, Settings(mode="memory", extra=POS), tmp_path)
    monkeypatch.setattr(host.functions, "target", lambda name: broken)
    answer = Client(build_app(host)).post("/lifecycle_control_rules")
    refusal = HttpError(500, "lifecycle_control_rules failed: the store is gone")
    assert (answer.status_code, answer.headers["Content-Type"]) == (500, PROBLEM_JSON)
    assert answer.json == refusal.problem()
    host.checkpoint.close()


def test_werkzeug_s_other_refusals_are_in_the_kit_s_shape(tmp_path: Path) -> None:
    host = HostRuntime(ORDER, Settings(mode="memory", extra=POS), tmp_path)
    root = host_app._root_app(host)
    root.add_url_rule("/unreadable", "unreadable", lambda: flask.abort(400))
    answer = Client(root).get("/unreadable")
    assert (answer.status_code, answer.headers["Content-Type"]) == (400, PROBLEM_JSON)
    assert answer.json == HttpError(400, BadRequest.description).problem()
    host.checkpoint.close()


def test_the_faults_are_answered_a_page_at_a_time(client: Client) -> None:
    # They were all read and answered at once, however many.
    for n in range(5):
        garbage = Message(data=b"garbage", attributes={"type": "x"}, message_id=f"m-{n}")
        assert client.post(FAULTS_PATH, json=push_body(SUBSCRIPTION, garbage)).status_code == 204

    pages, after = [], None
    while True:
        query = {"limit": "2"} if after is None else {"limit": "2", "after": after}
        answer = client.get("/_dev/faults", query_string=query)
        assert answer.status_code == 200
        pages.append(answer.json["faults"])
        after = answer.json["next"]
        if after is None:
            break

    assert [len(page) for page in pages] == [2, 2, 1]
    faults = [fault for page in pages for fault in page]
    assert sorted(f["message"]["messageId"] for f in faults) == [f"m-{n}" for n in range(5)]
    times = [(f["arisenAt"], f["id"]) for f in faults]
    assert times == sorted(times, reverse=True)  # newest first


@pytest.mark.parametrize(
    ("query", "wrong"),
    [
        ({"limit": "0"}, "limit must be from 1 to 1000, not '0'"),
        ({"limit": "1001"}, "limit must be from 1 to 1000"),
        ({"limit": "x"}, "limit must be from 1 to 1000"),
        ({"after": "soon"}, "after must be the next of the answer before (TIME:ID)"),
        ({"after": "12:"}, "after must be the next of the answer before (TIME:ID)"),
    ],
)
def test_a_bad_faults_page_is_refused_saying_why(client: Client, query, wrong) -> None:
    answer = client.get("/_dev/faults", query_string=query)
    assert answer.status_code == 400
    assert wrong in answer.json["detail"]
