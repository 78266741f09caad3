"""Bodies no real provider takes get a 4xx with a JSON message from every fake, never a 500:
one over the size limit (413, however it is sent), and JSON nested deeper than the decoder
goes (400)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import flask
import pytest
import requests
from flask.testing import FlaskClient

from fakes import payment_processor, point_of_sale, push_provider
from fakes.main import restrict_callbacks
from fakes.server import serve
from fakes.web import MAX_BODY_BYTES

POS_AUTH = {"Authorization": f"Bearer {point_of_sale.DEFAULT_API_KEY}"}
TOO_DEEP = b"[" * 100_000 + b"]" * 100_000
ORDER = {
    "orderId": "o-1",
    "restaurantId": "r-1",
    "items": [{"name": "Pizza", "quantity": 1}],
    "callbackUrl": "http://platform.test/pos",
}


def pos() -> tuple[flask.Flask, dict[str, str]]:
    return point_of_sale.create_app(), POS_AUTH


def push() -> tuple[flask.Flask, dict[str, str]]:
    return push_provider.create_app(), {"Authorization": f"Bearer {push_provider.DEFAULT_API_KEY}"}


def payments() -> tuple[flask.Flask, dict[str, str]]:
    key = payment_processor.DEFAULT_API_KEY
    return payment_processor.create_app(), {"Authorization": f"Bearer {key}"}


FAKES: dict[str, tuple[Callable[[], tuple[flask.Flask, dict[str, str]]], str]] = {
    "point of sale": (pos, "/orders"),
    "push provider": (push, "/v1/messages"),
    "payment processor": (payments, "/v1/authorizations"),
}


def padded(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    frame = b'{"pad":""}'
    return frame[:-2] + b"x" * (size - len(frame)) + frame[-2:]


def post(client: FlaskClient, path: str, auth: dict[str, str], body: bytes) -> Any:
    headers = {**auth, "Idempotency-Key": "k-1", "Content-Type": "application/json"}
    return client.post(path, data=body, headers=headers)


@pytest.mark.parametrize("fake", FAKES)
def test_a_body_over_the_limit_is_413_in_json(fake: str) -> None:
    build, path = FAKES[fake]
    app, auth = build()
    client = app.test_client()

    refused = post(client, path, auth, padded(MAX_BODY_BYTES + 1))
    at_the_limit = post(client, path, auth, padded(MAX_BODY_BYTES))

    assert refused.status_code == 413
    assert refused.get_json() == {"error": f"the request body is over {MAX_BODY_BYTES} bytes"}
    assert at_the_limit.status_code == 400  # read, and refused only for its fields
    assert "pad" in at_the_limit.get_json()["fields"]


@pytest.fixture
def served_pos() -> Iterator[str]:
    with serve(point_of_sale.create_app()) as server:
        yield server.url


def test_a_chunked_body_over_the_limit_is_413_too(served_pos: str) -> None:
    body = padded(MAX_BODY_BYTES + 1)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))

    response = requests.post(
        f"{served_pos}/orders",
        data=chunks,  # no Content-Length: sent chunked
        headers={**POS_AUTH, "Idempotency-Key": "k-1", "Content-Type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 413
    assert response.json() == {"error": f"the request body is over {MAX_BODY_BYTES} bytes"}
    assert requests.get(f"{served_pos}/orders", timeout=5).json() == {"orders": []}


@pytest.mark.parametrize("fake", FAKES)
def test_json_nested_too_deeply_is_400_not_a_crash(fake: str) -> None:
    build, path = FAKES[fake]
    app, auth = build()

    response = post(app.test_client(), path, auth, TOO_DEEP)

    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]


def test_a_cancellation_with_json_nested_too_deeply_is_no_crash() -> None:
    client = point_of_sale.create_app().test_client()
    client.post("/orders", json=ORDER, headers={**POS_AUTH, "Idempotency-Key": "o-1"})

    response = post(client, "/orders/o-1/cancel", POS_AUTH, TOO_DEEP)

    assert response.status_code == 200  # a cancellation reads no body; its key's check does
    assert response.get_json()["status"] == "cancelled"


def test_the_sandbox_point_of_sale_refuses_json_nested_too_deeply_with_400() -> None:
    app = restrict_callbacks(point_of_sale.create_app(), "http://platform.test/pos")

    response = post(app.test_client(), "/orders", POS_AUTH, TOO_DEEP)

    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]
