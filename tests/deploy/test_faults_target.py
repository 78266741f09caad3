"""The fault recorder target the archives add: push requests in, fault documents out."""

from __future__ import annotations

import base64
import json
import logging

import flask
import pytest

from order.topology import APP
from shared.deploy.faults import fault_recorder_target
from shared.exceptions import StoreError
from shared.runtime.faults import FAULTS_COLLECTION
from shared.runtime.functions import FunctionHost
from shared.settings import Settings

SETTINGS = {
    "POS_URL": "http://pos.invalid",
    "POS_CALLBACK_URL": "http://cb.invalid",
    "POS_WEBHOOK_SECRET": "s3cret",
}
DEAD_LETTER = {
    "subscription": "projects/p/subscriptions/faults-recorder",
    "message": {
        "data": base64.b64encode(b'{"not": "an event"}').decode(),
        "messageId": "42",
        "attributes": {
            "type": "order-placed",
            "CloudPubSubDeadLetterSourceSubscription": "projects/p/subscriptions/x-listener",
            "CloudPubSubDeadLetterSourceDeliveryCount": "5",
        },
    },
}


@pytest.fixture
def host():
    return FunctionHost(APP, Settings(mode="memory", extra=SETTINGS))


def push(host, body):
    target = fault_recorder_target(host)
    app = flask.Flask("t")
    with app.test_request_context(method="POST", json=body):
        answer = target(flask.request)
        return answer.get_data(as_text=True), answer.status_code


def test_a_dead_letter_is_stored_once(host):
    assert push(host, DEAD_LETTER) == ("", 204)
    assert push(host, DEAD_LETTER) == ("", 204)  # redelivered: still one fault
    store = host.infrastructure()[0].store
    [document] = store.query(FAULTS_COLLECTION, [])
    fault = document.data
    assert fault["reason"] == "dead-letter" and fault["function"] == "x-listener"
    assert fault["deliveryAttempt"] == 5


def test_a_body_that_is_not_a_push_request_is_rejected(host):
    message, status = push(host, {"hello": "world"})
    assert status == 400 and "not a Pub/Sub push request" in message


def test_a_store_error_answers_503_so_pub_sub_redelivers(host, monkeypatch):
    # GIVEN a store whose next write fails
    store = host.infrastructure()[0].store
    create = store.create

    def unavailable_once(collection, key, data):
        monkeypatch.setattr(store, "create", create)
        raise StoreError("firestore create failed: 503 the service is unavailable")

    monkeypatch.setattr(store, "create", unavailable_once)
    # WHEN a dead letter is pushed, THEN the target asks for redelivery and stores nothing
    _, status = push(host, DEAD_LETTER)
    assert status == 503
    assert store.query(FAULTS_COLLECTION, []) == []
    # WHEN Pub/Sub redelivers it, THEN it is stored, once
    assert push(host, DEAD_LETTER) == ("", 204)
    [document] = store.query(FAULTS_COLLECTION, [])
    assert document.data["reason"] == "dead-letter"
    assert document.data["function"] == "x-listener"


def test_a_dead_letter_stored_is_answered_without_a_content_type(host):
    target = fault_recorder_target(host)
    with flask.Flask("t").test_request_context(method="POST", json=DEAD_LETTER):
        answer = target(flask.request)

    assert answer.status_code == 204
    assert "Content-Type" not in answer.headers  # nothing to describe: no text/html page


def test_a_refusal_is_plain_text(host):
    target = fault_recorder_target(host)
    with flask.Flask("t").test_request_context(method="POST", json={"hello": "world"}):
        answer = target(flask.request)

    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_anything_but_a_post_is_answered_405_and_stores_nothing(host, method):
    # WHEN a browser or a probe calls the recorder with another method than Pub/Sub's
    target = fault_recorder_target(host)
    with flask.Flask("t").test_request_context(method=method, json=DEAD_LETTER):
        answer = target(flask.request)

    # THEN it is refused as the other push targets refuse it, in plain text, and nothing is
    # stored
    assert (answer.status_code, answer.headers["Allow"]) == (405, "POST")
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "takes POST requests only" in answer.get_data(as_text=True)
    assert host.infrastructure()[0].store.query(FAULTS_COLLECTION, []) == []


def logged_errors(capsys):
    """The error entries the kit's logs wrote (JSON, as on GCP) so far."""
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [entry for entry in entries if entry.get("severity") == "ERROR"]


def test_a_recorder_that_cannot_be_set_up_asks_pub_sub_to_redeliver(capsys, caplog):
    # GIVEN a host whose subsystem cannot be bootstrapped: a setting it needs is missing
    host = FunctionHost(APP, Settings(mode="memory", extra={"POS_CALLBACK_URL": "http://cb"}))
    target = fault_recorder_target(host)

    # WHEN a dead letter is pushed
    with flask.Flask("t").test_request_context(method="POST", json=DEAD_LETTER):
        answer = target(flask.request)

    # THEN it answers 503 in plain text (Pub/Sub redelivers), not the framework's HTML 500,
    # and the kit's logs say why once, naming the target
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.get_data(as_text=True) == "redeliver: the function could not be set up"
    [entry] = logged_errors(capsys)
    assert entry["logger"] == "fooddelivery.functions"
    assert "faults_recorder" in entry["message"] and "FOODDELIVERY_POS_URL" in entry["message"]
    assert "KeyError" in entry["stack_trace"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no other logger's


def test_a_recorder_whose_settings_cannot_be_read_logs_why_and_sets_up_on_redelivery(
    monkeypatch, capsys
):
    # GIVEN a mode no function can be set up with
    monkeypatch.setenv("FOODDELIVERY_MODE", "bogus-mode")
    monkeypatch.setenv("FOODDELIVERY_LOG_FORMAT", "json")
    for name, value in SETTINGS.items():
        monkeypatch.setenv(f"FOODDELIVERY_{name}", value)
    host = FunctionHost(APP)

    # WHEN a dead letter is pushed, THEN it is to be redelivered, the setting named in the log
    assert push(host, DEAD_LETTER) == ("redeliver: the function could not be set up", 503)
    [entry] = logged_errors(capsys)
    assert "faults_recorder" in entry["message"]
    assert "FOODDELIVERY_MODE must be memory, emulator or gcp" in entry["message"]

    # WHEN the setting is fixed and Pub/Sub redelivers, THEN the fault is stored
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")
    assert push(host, DEAD_LETTER) == ("", 204)
    [document] = host.infrastructure()[0].store.query(FAULTS_COLLECTION, [])
    assert document.data["reason"] == "dead-letter"
