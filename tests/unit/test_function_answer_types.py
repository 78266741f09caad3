"""A consumer's, trigger's or schedule's answer, as functions-framework sends it, says what it
is: nothing (a 204, a trigger's 200) has no ``Content-Type``, as a BFF's 204 has none; a message
(a 400 for what is no push request or no CloudEvent, a 405, a 503) is ``text/plain`` in UTF-8.
Flask's default, ``text/html``, would call either a page."""

from __future__ import annotations

from typing import Any

import flask
import pytest
from functions_framework import create_app

from shared.hub.message import Message
from shared.runtime.app import SubsystemApp
from shared.runtime.functions import FunctionHost
from shared.settings import Settings
from tests.unit.test_function_target_edges import GAMMA
from tests.unit.test_function_targets import SOURCE, push
from tests.unit.test_runtime_cloudevents import CartTrigger, binary

TEXT = "text/plain; charset=utf-8"


@pytest.fixture(autouse=True)
def in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")


def consumer() -> Any:
    """The sample's orders-esg egress, loaded as Cloud Functions loads it."""
    return create_app(
        target="orders_esg_egress", source=SOURCE, signature_type="http"
    ).test_client()


def test_a_push_acknowledged_is_204_without_a_content_type() -> None:
    answer = push(consumer(), Message(data=b"{}"))  # no event: poison, acknowledged

    assert answer.status_code == 204
    assert answer.data == b""
    assert "Content-Type" not in answer.headers
    assert "Content-Length" not in answer.headers  # RFC 9110, section 8.6


def test_a_body_that_is_no_push_request_is_refused_in_plain_text() -> None:
    answer = consumer().post("/", data="hello", content_type="text/plain")

    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == TEXT
    assert answer.get_data(as_text=True).startswith("not a Pub/Sub push request: ")


def test_a_get_is_refused_in_plain_text() -> None:
    answer = consumer().get("/")

    assert (answer.status_code, answer.headers["Allow"]) == (405, "POST")
    assert answer.headers["Content-Type"] == TEXT


def test_a_trigger_that_handled_a_change_answers_200_without_a_content_type() -> None:
    trigger = CartTrigger()

    handled = trigger.post(b"\x00not protobuf", binary("application/protobuf"))  # poison

    assert handled.status_code == 200
    assert handled.data == b""
    assert "Content-Type" not in handled.headers


def test_what_is_no_cloudevent_is_refused_in_plain_text() -> None:
    refused = CartTrigger().client.post("/", data=b"{}")

    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == TEXT
    assert refused.get_data(as_text=True).startswith("not a CloudEvent: ")


def test_a_tick_is_204_without_a_content_type() -> None:
    target = FunctionHost(SubsystemApp(GAMMA, lambda _: None), Settings()).target(
        "clock_control_timeouts"
    )
    app = flask.Flask(__name__)
    app.add_url_rule("/", "run", lambda: target(flask.request), methods=["POST"])

    answer = app.test_client().post("/")

    assert answer.status_code == 204
    assert "Content-Type" not in answer.headers
