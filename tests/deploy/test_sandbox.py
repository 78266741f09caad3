"""The sandbox's targets (fakes/main.py) as functions-framework serves them, on loopback.

Each target builds its fake on the first request from its secret; the point of
sale answers a new order (accept, then ready, both called back) before the
request that submitted it returns, because a Cloud Functions instance has CPU
only while it serves a request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import flask
import pytest
from functions_framework import create_app

from fakes import main as sandbox
from fakes.point_of_sale import SIGNATURE_HEADER, sign
from fakes.server import RunningServer, serve, stop_background
from order.pos_esg.keys import restaurant_key

SECRET = "whsec-test"
POS_KEY = "pos-sandbox"
POS_AUTH = {"Authorization": f"Bearer {POS_KEY}"}


@pytest.fixture(autouse=True)
def fresh_fakes(monkeypatch) -> Iterator[None]:
    """Every test builds its fakes anew from its own environment, and stops the POS's thread."""
    for build in (sandbox._payment_processor, sandbox._push_provider, sandbox._point_of_sale):
        build.cache_clear()
    monkeypatch.setenv("PAYMENT_PROCESSOR_KEY", "sk-sandbox")
    monkeypatch.setenv("PUSH_PROVIDER_KEY", "push-sandbox")
    monkeypatch.setenv("POS_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("POS_API_KEY", POS_KEY)
    monkeypatch.setenv("POS_AUTO_ANSWER_S", "0.05")
    yield
    if sandbox._point_of_sale.cache_info().currsize:
        stop_background(sandbox._point_of_sale())


def client(target: str, tmp_path) -> Any:
    """A test client of ``target`` loaded by functions-framework, as Cloud Functions does."""
    source = tmp_path / "main.py"
    source.write_text(f"from fakes.main import {target}\n")
    return create_app(target, str(source), "http").test_client()


class Webhook:
    """The platform's POS webhook on loopback: records the signed callbacks it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        app = flask.Flask("webhook")

        @app.post("/pos/callbacks")
        def callback() -> tuple[str, int]:
            raw = flask.request.get_data()
            signature = flask.request.headers[SIGNATURE_HEADER]
            sent = int(signature.removeprefix("t=").split(",")[0])
            key = restaurant_key(SECRET, json.loads(raw)["restaurantId"])  # the platform's
            assert signature == sign(raw, key, sent)
            with self.lock:
                self.received.append(json.loads(raw))
            return "", 204

        self.server: RunningServer = serve(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/pos/callbacks"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.stop()


def order(callback_url: str, order_id: str = "o-1") -> dict[str, Any]:
    return {
        "orderId": order_id,
        "restaurantId": "r-1",
        "items": [{"name": "Margherita", "quantity": 1}],
        "callbackUrl": callback_url,
    }


def test_the_payment_processor_needs_its_key_from_the_environment(tmp_path):
    fake = client("payment_processor", tmp_path)
    assert fake.get("/v1/authorizations").status_code == 401
    body = {"amount": 1250, "currency": "EUR", "paymentMethod": "pm_card_visa", "reference": "o"}
    headers = {"Authorization": "Bearer sk-sandbox", "Idempotency-Key": "k-1"}
    assert fake.post("/v1/authorizations", json=body, headers=headers).status_code == 201
    listed = fake.get("/v1/authorizations?reference=o", headers=headers).get_json()
    assert len(listed["authorizations"]) == 1  # one app, its state kept between requests


def test_the_push_provider_needs_its_key(tmp_path):
    fake = client("push_provider", tmp_path)
    assert fake.get("/v1/messages").status_code == 401
    ok = fake.get("/v1/messages", headers={"Authorization": "Bearer push-sandbox"})
    assert ok.status_code == 200 and ok.get_json() == {"messages": []}


def test_fault_injection_is_closed_in_the_sandbox(tmp_path):
    for target in sandbox.TARGETS:
        answer = client(target, tmp_path).post("/_fake/fail-next", json={"count": 1})
        assert answer.status_code == 404, target


def test_a_missing_secret_is_named(monkeypatch, tmp_path):
    monkeypatch.delenv("PUSH_PROVIDER_KEY")
    with pytest.raises(RuntimeError, match="PUSH_PROVIDER_KEY"):
        sandbox.push_provider(flask.Request.from_values("/v1/messages"))


def test_a_new_order_is_answered_before_its_submission_returns(tmp_path, webhook):
    pos = client("point_of_sale", tmp_path)
    answer = pos.post(
        "/orders", json=order(webhook.url), headers={**POS_AUTH, "Idempotency-Key": "o-1"}
    )
    assert answer.status_code == 201
    assert [c["event"] for c in webhook.received] == ["accepted", "ready"]
    assert pos.get("/orders/o-1").get_json()["status"] == "ready"


def test_the_submission_stops_waiting_after_the_hold(monkeypatch, tmp_path, webhook):
    monkeypatch.setenv("POS_AUTO_ANSWER_S", "30")
    monkeypatch.setenv("POS_HOLD_S", "0.2")
    pos = client("point_of_sale", tmp_path)
    answer = pos.post(
        "/orders", json=order(webhook.url), headers={**POS_AUTH, "Idempotency-Key": "o-1"}
    )
    assert answer.status_code == 201 and webhook.received == []
    assert pos.get("/orders/o-1").get_json()["status"] == "received"


def test_the_pos_calls_back_only_under_its_prefix(monkeypatch, tmp_path, webhook):
    monkeypatch.setenv("POS_CALLBACK_PREFIX", webhook.url)
    pos = client("point_of_sale", tmp_path)
    elsewhere = order("http://127.0.0.1:9/elsewhere", "o-2")
    refused = pos.post("/orders", json=elsewhere, headers={**POS_AUTH, "Idempotency-Key": "o-2"})
    assert refused.status_code == 403
    accepted = pos.post(
        "/orders", json=order(webhook.url), headers={**POS_AUTH, "Idempotency-Key": "o-1"}
    )
    assert accepted.status_code == 201
    assert [o["orderId"] for o in pos.get("/orders").get_json()["orders"]] == ["o-1"]


@pytest.mark.parametrize(
    "beside",
    [
        "{url}-elsewhere",
        "{url}/../../admin",
        "{url}/%2e%2e/%2E%2E/admin",
    ],
)
def test_the_pos_refuses_a_callback_url_that_only_starts_like_its_prefix(
    monkeypatch, tmp_path, webhook, beside
):
    monkeypatch.setenv("POS_CALLBACK_PREFIX", webhook.url)
    url = beside.format(url=webhook.url)
    pos = client("point_of_sale", tmp_path)

    refused = pos.post("/orders", json=order(url), headers={**POS_AUTH, "Idempotency-Key": "o-1"})

    assert refused.status_code == 403, url
    assert pos.get("/orders").get_json() == {"orders": []}


def test_the_pos_calls_back_below_its_prefix(monkeypatch, tmp_path, webhook):
    monkeypatch.setenv("POS_CALLBACK_PREFIX", webhook.url.removesuffix("/callbacks"))
    pos = client("point_of_sale", tmp_path)

    accepted = pos.post(
        "/orders", json=order(webhook.url), headers={**POS_AUTH, "Idempotency-Key": "o-1"}
    )

    assert accepted.status_code == 201
