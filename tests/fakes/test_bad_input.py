"""Every route of every fake that takes a body or a query answers bad input (not JSON, not an
object, a field missing or of the wrong type, a bad filter) with a 4xx and a JSON message,
never a 500, and keeps nothing of it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient

from fakes import payment_processor, point_of_sale, push_provider
from shared.http import WsgiTransport, http_session

PAYMENTS = {"Authorization": f"Bearer {payment_processor.DEFAULT_API_KEY}"}
PUSH = {"Authorization": f"Bearer {push_provider.DEFAULT_API_KEY}"}
POS = {"Authorization": f"Bearer {point_of_sale.DEFAULT_API_KEY}"}
ORDER = {
    "orderId": "o-1",
    "restaurantId": "r-1",
    "items": [{"name": "Margherita", "quantity": 1}],
    "callbackUrl": "http://platform.test/pos",
}


@dataclass(frozen=True)
class Route:
    """A route taking a JSON body: its fake, path, a body it takes, and what shows its state."""

    build: Callable[[], flask.Flask]
    path: str
    valid: dict[str, Any]
    auth: dict[str, str]
    state: str


def pos_with_an_order() -> flask.Flask:
    """The point of sale holding order ``o-1``, its answers called back to a webhook that
    takes them."""
    webhook = flask.Flask("webhook")
    webhook.add_url_rule("/pos", "pos", lambda: ({}, 202), methods=["POST"])
    session = http_session({"http://platform.test": WsgiTransport(webhook)})
    app = point_of_sale.create_app(session=session)
    headers = {**POS, "Idempotency-Key": "o-1:submit"}
    assert app.test_client().post("/orders", json=ORDER, headers=headers).status_code == 201
    return app


AUTHORIZATION = {
    "amount": 2450,
    "currency": "EUR",
    "paymentMethod": "pm_card_visa",
    "reference": "r",
}
MESSAGE = {"to": {"kind": "driver", "id": "d-1"}, "title": "An offer", "body": "b", "data": {}}
FAILURE = {"count": 1, "status": 503, "after": False, "code": "busy"}
ROUTES = {
    "authorize": Route(
        payment_processor.create_app,
        "/v1/authorizations",
        AUTHORIZATION,
        PAYMENTS,
        "/v1/authorizations",
    ),
    "processor fail-next": Route(
        payment_processor.create_app, "/_fake/fail-next", FAILURE, PAYMENTS, "/v1/authorizations"
    ),
    "processor fail-inside": Route(
        payment_processor.create_app,
        "/_fake/fail-inside",
        FAILURE,
        PAYMENTS,
        "/v1/authorizations",
    ),
    "send a message": Route(
        push_provider.create_app, "/v1/messages", MESSAGE, PUSH, "/v1/messages"
    ),
    "push fail-next": Route(
        push_provider.create_app, "/_fake/fail-next", FAILURE, PUSH, "/v1/messages"
    ),
    "unregister": Route(
        push_provider.create_app,
        "/_fake/unregistered",
        {"kind": "driver", "id": "d-1"},
        PUSH,
        "/v1/messages",
    ),
    "submit an order": Route(point_of_sale.create_app, "/orders", ORDER, POS, "/orders"),
    "pos fail-next": Route(point_of_sale.create_app, "/_fake/fail-next", FAILURE, POS, "/orders"),
    "accept": Route(pos_with_an_order, "/orders/o-1/accept", {"prepMinutes": 15}, {}, "/orders"),
    "reject": Route(pos_with_an_order, "/orders/o-1/reject", {"reason": "closed"}, {}, "/orders"),
}


def wrong_type(value: Any) -> Any:
    """A value of another JSON type than ``value``'s."""
    if isinstance(value, bool) or value is None:
        return "yes"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 7
    if isinstance(value, list):
        return {"not": "a list"}
    return ["not", "an", "object"]


def bad_bodies(valid: dict[str, Any]) -> Iterator[tuple[str, bytes, str]]:
    """``(what, body, content type)`` of every bad body made from ``valid``."""
    as_json = "application/json"
    yield "not JSON", b"{not json", as_json
    yield "cut short", json.dumps(valid).encode()[:-1], as_json
    yield "not UTF-8", b'{"\xff": 1}', as_json
    yield "not sent as JSON", json.dumps(valid).encode(), "text/plain"
    for shape in ([], "text", 1, None):
        yield f"a JSON {type(shape).__name__}", json.dumps(shape).encode(), as_json
    yield "an unknown field", json.dumps({**valid, "surprise": 1}).encode(), as_json
    required = [field for field in valid if field not in {"after", "code", "data", "status"}]
    for field in required:
        without = {k: v for k, v in valid.items() if k != field}
        yield f"no {field}", json.dumps(without).encode(), as_json
    for field, value in valid.items():
        changed = {**valid, field: wrong_type(value)}
        yield f"{field} of the wrong type", json.dumps(changed).encode(), as_json
    for field, value in valid.items():
        if isinstance(value, dict) and value:
            inner = next(iter(value))
            changed = {**valid, field: {**value, inner: [value[inner]]}}
            yield f"{field}.{inner} of the wrong type", json.dumps(changed).encode(), as_json


CASES = [
    pytest.param(name, body, content_type, id=f"{name}: {what}")
    for name, route in ROUTES.items()
    for what, body, content_type in bad_bodies(route.valid)
]


def state(client: FlaskClient, route: Route) -> Any:
    response = client.get(route.state, headers=route.auth)
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize(("name", "body", "content_type"), CASES)
def test_a_bad_body_is_400_with_a_message_and_changes_nothing(
    name: str, body: bytes, content_type: str
) -> None:
    route = ROUTES[name]
    client = route.build().test_client()
    before = state(client, route)
    headers = {**route.auth, "Idempotency-Key": "k-1", "Content-Type": content_type}

    response = client.post(route.path, data=body, headers=headers)

    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert isinstance(error, str) and error
    assert state(client, route) == before  # read through: a refused fail-next armed nothing


@pytest.mark.parametrize(("name"), list(ROUTES))
def test_the_valid_body_of_each_case_is_taken(name: str) -> None:
    route = ROUTES[name]
    client = route.build().test_client()

    response = client.post(
        route.path, json=route.valid, headers={**route.auth, "Idempotency-Key": "k-1"}
    )

    assert response.status_code < 300, response.get_data(as_text=True)


BAD_QUERIES = [
    (payment_processor.create_app, PAYMENTS, "/v1/authorizations?limit=ten"),
    (payment_processor.create_app, PAYMENTS, "/v1/authorizations?limit=0"),
    (payment_processor.create_app, PAYMENTS, "/v1/authorizations?limit=101"),
    (payment_processor.create_app, PAYMENTS, "/v1/authorizations?limit=-1"),
    (payment_processor.create_app, PAYMENTS, "/v1/authorizations?startingAfter=auth_x"),
    (push_provider.create_app, PUSH, "/v1/messages?kind=robot"),
    (push_provider.create_app, PUSH, "/v1/messages?kind="),
]


@pytest.mark.parametrize(("build", "auth", "path"), BAD_QUERIES, ids=[q[2] for q in BAD_QUERIES])
def test_a_bad_query_is_400_with_a_message(
    build: Callable[[], flask.Flask], auth: dict[str, str], path: str
) -> None:
    response = build().test_client().get(path, headers=auth)

    assert response.status_code == 400
    assert response.get_json()["error"]
