"""The fake point of sale: orders from the platform, staff answers called back signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import flask
import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from fakes.point_of_sale import DEFAULT_API_KEY, create_app
from fakes.server import BACKGROUND, RunningServer, serve, stop_background

SECRET = "test-secret"
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
"""The platform's calls carry the API key the point of sale issued it."""
NOW_S = 1_767_225_600.5


@dataclass
class Receiver:
    """The platform's webhook, played by a real HTTP server that records what it gets."""

    server: RunningServer
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    status: int = 202

    @property
    def url(self) -> str:
        return f"{self.server.url}/pos/callbacks"

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.calls]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = flask.Flask("receiver")
    server = serve(app)
    receiver = Receiver(server)

    @app.post("/pos/callbacks")
    def callback() -> tuple[dict[str, str], int]:
        receiver.calls.append((dict(flask.request.headers), flask.request.get_data()))
        return {"status": "accepted"}, receiver.status

    yield receiver
    server.stop()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def client(session: requests.Session) -> FlaskClient:
    return create_app(webhook_secret=SECRET, session=session, now_s=lambda: NOW_S).test_client()


def order(callback_url: str, order_id: str = "o-1", **changes: Any) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "restaurantId": "r-1",
        "items": [{"name": "Margherita", "quantity": 2}],
        "callbackUrl": callback_url,
        **changes,
    }


def submit(client: FlaskClient, body: dict[str, Any], key: str | None = None) -> TestResponse:
    key = key or f"{body['orderId']}:submit"
    return client.post("/orders", json=body, headers={**AUTH, "Idempotency-Key": key})


def cancel(client: FlaskClient, order_id: str, key: str | None = None) -> TestResponse:
    key = key or f"{order_id}:cancel"
    return client.post(f"/orders/{order_id}/cancel", headers={**AUTH, "Idempotency-Key": key})


def status_of(client: FlaskClient, order_id: str = "o-1") -> str:
    status: str = client.get(f"/orders/{order_id}").get_json()["status"]
    return status


def test_an_order_is_received(client: FlaskClient, receiver: Receiver) -> None:
    response = submit(client, order(receiver.url))

    assert response.status_code == 201
    body = response.get_json()
    assert body["posOrderId"].startswith("pos_")
    assert body == {"posOrderId": body["posOrderId"], "orderId": "o-1", "status": "received"}
    stored = client.get("/orders/o-1").get_json()
    assert stored["items"] == [{"name": "Margherita", "quantity": 2}]
    assert stored["restaurantId"] == "r-1"
    assert stored["callbackUrl"] == receiver.url
    assert (stored["prepMinutes"], stored["reason"]) == (None, None)
    assert receiver.calls == []


def test_a_resent_order_is_one_order(client: FlaskClient, receiver: Receiver) -> None:
    first = submit(client, order(receiver.url))
    again = submit(client, order(receiver.url))

    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [o["orderId"] for o in client.get("/orders").get_json()["orders"]] == ["o-1"]


def test_a_reused_key_with_another_body_is_422(client: FlaskClient, receiver: Receiver) -> None:
    submit(client, order(receiver.url))

    response = submit(client, order(receiver.url, restaurantId="r-2"), key="o-1:submit")

    assert response.status_code == 422
    assert client.get("/orders/o-1").get_json()["restaurantId"] == "r-1"


def test_the_same_order_under_another_key_is_409(client: FlaskClient, receiver: Receiver) -> None:
    submit(client, order(receiver.url))

    response = submit(client, order(receiver.url), key="other")

    assert response.status_code == 409
    assert response.get_json() == {"error": "order o-1 already exists"}


def test_platform_calls_need_an_idempotency_key(client: FlaskClient, receiver: Receiver) -> None:
    posted = client.post("/orders", json=order(receiver.url), headers=AUTH)
    submit(client, order(receiver.url))
    cancelled = client.post("/orders/o-1/cancel", headers=AUTH)

    assert posted.status_code == cancelled.status_code == 400
    assert posted.get_json() == {"error": "the Idempotency-Key header is required"}
    assert status_of(client) == "received"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": DEFAULT_API_KEY},  # not a bearer credential
        {"Authorization": f"Bearer {DEFAULT_API_KEY}x"},
    ],
)
def test_platform_calls_need_the_api_key_and_change_nothing_without_it(
    client: FlaskClient, receiver: Receiver, headers: dict[str, str]
) -> None:
    refused = client.post(
        "/orders", json=order(receiver.url), headers={**headers, "Idempotency-Key": "o-1:submit"}
    )
    assert client.get("/orders").get_json() == {"orders": []}
    submit(client, order(receiver.url, "o-2"))
    withdrawn = client.post(
        "/orders/o-2/cancel", headers={**headers, "Idempotency-Key": "o-2:cancel"}
    )

    for response in (refused, withdrawn):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.get_json() == {
            "error": "missing or invalid API key (Authorization: Bearer <key>)"
        }
    assert status_of(client, "o-2") == "received"
    # the refused requests used no key: under the same keys, with the API key, they run
    assert submit(client, order(receiver.url)).status_code == 201
    cancelled = cancel(client, "o-2")
    assert cancelled.status_code == 200
    assert "Idempotent-Replayed" not in cancelled.headers
    assert receiver.calls == []


def test_the_terminal_works_without_the_api_key(client: FlaskClient, receiver: Receiver) -> None:
    """The staff's terminal is the shop's own: it reads the orders and answers with no key."""
    submit(client, order(receiver.url))

    listed = client.get("/orders")
    read = client.get("/orders/o-1")
    accepted = client.post("/orders/o-1/accept", json={"prepMinutes": 20})
    ready = client.post("/orders/o-1/ready")

    assert [r.status_code for r in (listed, read, accepted, ready)] == [200] * 4
    assert [b["event"] for b in receiver.bodies()] == ["accepted", "ready"]


def test_the_api_key_is_configurable(session: requests.Session, receiver: Receiver) -> None:
    client = create_app(webhook_secret=SECRET, api_key="pos_other", session=session).test_client()

    default = submit(client, order(receiver.url))
    other = client.post(
        "/orders",
        json=order(receiver.url),
        headers={"Authorization": "Bearer pos_other", "Idempotency-Key": "o-1:submit"},
    )

    assert (default.status_code, other.status_code) == (401, 201)


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"items": []}, "items"),
        ({"items": [{"name": "Pizza", "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"name": "", "quantity": 1}]}, "items.0.name"),
        ({"callbackUrl": "ftp://example.com/x"}, "callbackUrl"),
        ({"callbackUrl": "/pos/callbacks"}, "callbackUrl"),
        ({"restaurantId": 7}, "restaurantId"),
        ({"tip": 3}, "tip"),
    ],
)
def test_bad_orders_are_400_per_field(
    client: FlaskClient, receiver: Receiver, changes: dict[str, Any], field_name: str
) -> None:
    response = submit(client, order(receiver.url, **changes))

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [field_name]
    assert client.get("/orders").get_json() == {"orders": []}


def test_accepting_calls_back_signed(client: FlaskClient, receiver: Receiver) -> None:
    submit(client, order(receiver.url))

    response = client.post("/orders/o-1/accept", json={"prepMinutes": 20})

    assert response.status_code == 200
    assert response.get_json()["status"] == "accepted"
    assert response.get_json()["prepMinutes"] == 20
    [(headers, raw)] = receiver.calls
    key = hmac.new(SECRET.encode(), b"fooddelivery pos callback key v1:r-1", hashlib.sha256)
    digest = hmac.new(key.hexdigest().encode(), b"1767225600." + raw, hashlib.sha256).hexdigest()
    assert headers["X-Pos-Signature"] == f"t=1767225600,v1={digest}"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(raw) == {
        "orderId": "o-1",
        "restaurantId": "r-1",
        "event": "accepted",
        "prepMinutes": 20,
    }


def test_rejecting_calls_back_with_the_reason(client: FlaskClient, receiver: Receiver) -> None:
    submit(client, order(receiver.url))

    response = client.post("/orders/o-1/reject", json={"reason": "out of dough"})

    assert response.status_code == 200
    assert response.get_json()["reason"] == "out of dough"
    assert receiver.bodies() == [
        {"orderId": "o-1", "restaurantId": "r-1", "event": "rejected", "reason": "out of dough"}
    ]


def test_ready_after_accepted_calls_back(client: FlaskClient, receiver: Receiver) -> None:
    submit(client, order(receiver.url))
    client.post("/orders/o-1/accept", json={"prepMinutes": 10})

    response = client.post("/orders/o-1/ready")

    assert response.status_code == 200
    assert status_of(client) == "ready"
    assert [b["event"] for b in receiver.bodies()] == ["accepted", "ready"]
    assert receiver.bodies()[1] == {"orderId": "o-1", "restaurantId": "r-1", "event": "ready"}


@pytest.mark.parametrize(
    ("before", "refused", "message"),
    [
        ([], ("ready", None), "cannot mark order o-1 ready: it is received"),
        (
            [("accept", {"prepMinutes": 5})],
            ("accept", {"prepMinutes": 5}),
            "cannot mark order o-1 accepted: it is accepted",
        ),
        (
            [("accept", {"prepMinutes": 5})],
            ("reject", {"reason": "no"}),
            "cannot mark order o-1 rejected: it is accepted",
        ),
        (
            [("reject", {"reason": "no"})],
            ("accept", {"prepMinutes": 5}),
            "cannot mark order o-1 accepted: it is rejected",
        ),
        (
            [("cancel", None)],
            ("accept", {"prepMinutes": 5}),
            "cannot mark order o-1 accepted: it is cancelled",
        ),
        (
            [("cancel", None)],
            ("reject", {"reason": "no"}),
            "cannot mark order o-1 rejected: it is cancelled",
        ),
    ],
)
def test_staff_answers_follow_the_state_rules(
    client: FlaskClient,
    receiver: Receiver,
    before: list[tuple[str, dict[str, Any] | None]],
    refused: tuple[str, dict[str, Any] | None],
    message: str,
) -> None:
    submit(client, order(receiver.url))
    for action, body in before:
        if action == "cancel":
            cancel(client, "o-1")
        else:
            client.post(f"/orders/o-1/{action}", json=body)
    calls_before = len(receiver.calls)
    state_before = client.get("/orders/o-1").get_json()

    action, body = refused
    response = client.post(f"/orders/o-1/{action}", json=body)

    assert response.status_code == 409
    assert response.get_json() == {"error": message}
    assert client.get("/orders/o-1").get_json() == state_before
    assert len(receiver.calls) == calls_before


@pytest.mark.parametrize("minutes", [0, 241, "15"])
def test_prep_minutes_must_be_1_to_240(
    client: FlaskClient, receiver: Receiver, minutes: object
) -> None:
    submit(client, order(receiver.url))

    response = client.post("/orders/o-1/accept", json={"prepMinutes": minutes})

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["prepMinutes"]
    assert status_of(client) == "received"


def test_a_failing_callback_is_502_and_changes_nothing(
    client: FlaskClient, receiver: Receiver
) -> None:
    submit(client, order(receiver.url))
    receiver.status = 500

    failed = client.post("/orders/o-1/accept", json={"prepMinutes": 20})

    assert failed.status_code == 502
    assert failed.get_json() == {
        "error": f'the callback failed: {receiver.url} answered 500: {{"status":"accepted"}}'
    }
    assert status_of(client) == "received"
    assert client.get("/orders/o-1").get_json()["prepMinutes"] is None

    receiver.status = 200
    retried = client.post("/orders/o-1/accept", json={"prepMinutes": 20})

    assert retried.status_code == 200
    assert status_of(client) == "accepted"
    assert len(receiver.calls) == 2


def test_a_refused_callback_quotes_the_webhooks_answer(client: FlaskClient) -> None:
    """A point of sale started with the wrong secret: the webhook's answer says so."""
    app = flask.Flask("refusing")
    refusal = "wrong X-Pos-Signature (signed with the key of the restaurant named?)"

    @app.post("/pos/callbacks")
    def refuse() -> tuple[dict[str, str], int]:
        return {"error": refusal}, 401

    with serve(app) as webhook:
        submit(client, order(f"{webhook.url}/pos/callbacks"))
        response = client.post("/orders/o-1/accept", json={"prepMinutes": 20})

    assert response.status_code == 502
    assert response.get_json() == {
        "error": f"the callback failed: {webhook.url}/pos/callbacks answered 401: "
        f'{{"error":"{refusal}"}}'
    }
    assert status_of(client) == "received"


def test_a_long_answer_is_quoted_on_one_line_up_to_200_characters(client: FlaskClient) -> None:
    app = flask.Flask("verbose")

    @app.post("/pos/callbacks")
    def page() -> tuple[str, int]:
        return "<html>\n\t<p>" + "x" * 1000 + "</p>\x1b[31m", 500

    with serve(app) as webhook:
        submit(client, order(f"{webhook.url}/pos/callbacks"))
        response = client.post("/orders/o-1/accept", json={"prepMinutes": 20})

    quoted = "<html> <p>" + "x" * 190 + "…"
    assert response.get_json() == {
        "error": f"the callback failed: {webhook.url}/pos/callbacks answered 500: {quoted}"
    }


def test_an_empty_answer_quotes_nothing(client: FlaskClient) -> None:
    app = flask.Flask("silent")

    @app.post("/pos/callbacks")
    def silent() -> tuple[str, int]:
        return "", 503

    with serve(app) as webhook:
        submit(client, order(f"{webhook.url}/pos/callbacks"))
        response = client.post("/orders/o-1/accept", json={"prepMinutes": 20})

    assert response.get_json() == {
        "error": f"the callback failed: {webhook.url}/pos/callbacks answered 503"
    }


def test_an_unreachable_callback_is_502(client: FlaskClient) -> None:
    with serve(flask.Flask("gone")) as gone:
        url = f"{gone.url}/pos/callbacks"
    submit(client, order(url))

    response = client.post("/orders/o-1/reject", json={"reason": "closed"})

    assert response.status_code == 502
    assert response.get_json()["error"].startswith("the callback failed: ConnectionError")
    assert status_of(client) == "received"


def test_cancelling(client: FlaskClient, receiver: Receiver) -> None:
    submit(client, order(receiver.url))

    first = cancel(client, "o-1")
    replay = cancel(client, "o-1")

    assert first.status_code == 200
    assert first.get_json()["status"] == "cancelled"
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert status_of(client) == "cancelled"
    assert receiver.calls == []


def test_cancelling_an_answered_order_still_works(client: FlaskClient, receiver: Receiver) -> None:
    submit(client, order(receiver.url))
    client.post("/orders/o-1/reject", json={"reason": "closed"})

    response = cancel(client, "o-1")

    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["reason"] == "closed"


def test_unknown_orders_are_404(client: FlaskClient) -> None:
    assert cancel(client, "o-9").status_code == 404
    assert client.post("/orders/o-9/ready").status_code == 404
    response = client.get("/orders/o-9")
    assert response.status_code == 404
    assert response.get_json() == {"error": "no order o-9"}


def test_orders_are_listed_oldest_first(client: FlaskClient, receiver: Receiver) -> None:
    for order_id in ("o-2", "o-1", "o-3"):
        submit(client, order(receiver.url, order_id))

    listed = client.get("/orders").get_json()["orders"]

    assert [o["orderId"] for o in listed] == ["o-2", "o-1", "o-3"]


def test_fail_next(client: FlaskClient, receiver: Receiver) -> None:
    client.post("/_fake/fail-next", json={"count": 1, "status": 503})

    failed = submit(client, order(receiver.url))
    retried = submit(client, order(receiver.url))

    assert failed.status_code == 503
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers


def wait_for(condition: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_auto_answer_accepts_then_readies(session: requests.Session, receiver: Receiver) -> None:
    app = create_app(webhook_secret=SECRET, session=session, auto_answer_s=0.05)
    client = app.test_client()
    try:
        submit(client, order(receiver.url))
        wait_for(lambda: status_of(client) == "ready")
    finally:
        stop_background(app)

    assert receiver.bodies() == [
        {"orderId": "o-1", "restaurantId": "r-1", "event": "accepted", "prepMinutes": 15},
        {"orderId": "o-1", "restaurantId": "r-1", "event": "ready"},
    ]


def test_auto_answer_retries_a_failed_callback_and_leaves_cancelled_orders(
    session: requests.Session, receiver: Receiver
) -> None:
    app = create_app(webhook_secret=SECRET, session=session, auto_answer_s=0.05)
    client = app.test_client()
    receiver.status = 500
    try:
        submit(client, order(receiver.url, "o-1"))
        wait_for(lambda: len(receiver.calls) == 1)
        receiver.status = 200
        wait_for(lambda: status_of(client, "o-1") == "ready")
        submit(client, order(receiver.url, "o-2"))
        cancel(client, "o-2")
        # Answers come in the order they fall due: once o-3's are in, o-2's turn has passed.
        submit(client, order(receiver.url, "o-3"))
        wait_for(lambda: status_of(client, "o-3") == "ready")
    finally:
        stop_background(app)

    assert [(b["orderId"], b["event"]) for b in receiver.bodies()] == [
        ("o-1", "accepted"),
        ("o-1", "accepted"),
        ("o-1", "ready"),
        ("o-3", "accepted"),
        ("o-3", "ready"),
    ]
    assert status_of(client, "o-2") == "cancelled"


def test_auto_answer_stops(session: requests.Session, receiver: Receiver) -> None:
    app = create_app(webhook_secret=SECRET, session=session, auto_answer_s=0.2)
    [worker] = app.extensions[BACKGROUND]
    client = app.test_client()
    submit(client, order(receiver.url))

    worker.stop()
    time.sleep(0.3)

    assert status_of(client) == "received"
    assert receiver.calls == []
    worker.stop()


def test_a_redirecting_webhook_fails_the_callback_which_is_not_followed(
    client: FlaskClient, receiver: Receiver
) -> None:
    """A webhook sender posts only to the URL it was given: a webhook that answers only
    through a redirect (say, to add a trailing slash) would fail against a real one."""
    app = flask.Flask("redirecting")

    @app.post("/pos/callbacks")
    def redirect() -> flask.Response:
        return flask.redirect(receiver.url, 308)

    with serve(app) as redirecting:
        submit(client, order(f"{redirecting.url}/pos/callbacks"))
        response = client.post("/orders/o-1/accept", json={"prepMinutes": 20})

    assert response.status_code == 502
    assert response.get_json() == {
        "error": f"the callback failed: {redirecting.url}/pos/callbacks answered 308, "
        "a redirect: not followed"
    }
    assert receiver.calls == []
    assert status_of(client) == "received"


def test_a_key_is_kept_a_day_then_its_request_runs_again(
    session: requests.Session, receiver: Receiver
) -> None:
    now = [NOW_S]
    client = create_app(webhook_secret=SECRET, session=session, now_s=lambda: now[0]).test_client()
    submit(client, order(receiver.url))

    now[0] += 24 * 60 * 60 - 1
    replayed = submit(client, order(receiver.url))
    now[0] += 1
    again = submit(client, order(receiver.url))

    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert again.status_code == 409  # run anew: the order is known
    assert "Idempotent-Replayed" not in again.headers


def test_the_command_line_sets_the_key_retention() -> None:
    from fakes.point_of_sale.__main__ import parser

    assert parser.parse_args([]).key_retention_s == 24 * 60 * 60
    assert parser.parse_args(["--key-retention-s", "90"]).key_retention_s == 90.0


def test_the_command_line_sets_the_api_key() -> None:
    from fakes.point_of_sale.__main__ import parser

    assert parser.parse_args([]).api_key == DEFAULT_API_KEY
    assert parser.parse_args(["--api-key", "pos_k"]).api_key == "pos_k"
