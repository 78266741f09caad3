"""What every fake shares: a 405 names the allowed methods, and failures can be injected
after a request ran (its answer lost), as well as before."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from fakes import point_of_sale as pos_fake
from fakes.point_of_sale import create_app as point_of_sale
from fakes.push_provider import DEFAULT_API_KEY, create_app
from fakes.web import require_bearer
from order.pos_esg.client import HttpPointOfSale, PosLine, PosOrder, PosUnavailable
from shared.http import WsgiTransport, http_session
from shared.runtime.secrets import Secret

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
POS_AUTH = {"Authorization": f"Bearer {pos_fake.DEFAULT_API_KEY}"}
MESSAGE: dict[str, Any] = {"to": {"kind": "driver", "id": "d-1"}, "title": "Offer", "body": "New"}


@pytest.fixture
def client() -> FlaskClient:
    return create_app().test_client()


def send(client: FlaskClient, key: str = "k-1") -> Any:
    return client.post("/v1/messages", json=MESSAGE, headers={**AUTH, "Idempotency-Key": key})


def test_a_method_the_route_does_not_take_is_a_json_405_naming_the_allowed_ones(
    client: FlaskClient,
) -> None:
    response = client.delete("/v1/messages", headers=AUTH)

    assert response.status_code == 405
    assert response.get_json() == {"error": "DELETE is not allowed here"}
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_an_answer_lost_after_the_request_ran_is_replayed_to_the_retry_with_its_key(
    client: FlaskClient,
) -> None:
    armed = client.post("/_fake/fail-next", json={"count": 1, "status": 504, "after": True})
    assert armed.get_json() == {"count": 1, "status": 504, "after": True}

    lost = send(client)
    kept = client.get("/v1/messages", headers=AUTH).get_json()["messages"]
    retried = send(client)

    assert lost.status_code == 504
    assert lost.get_json() == {"error": "injected failure: this request was failed with 504"}
    assert len(kept) == 1
    assert retried.status_code == 202
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.get_json() == {"id": kept[0]["id"]}


def test_a_point_of_sale_order_whose_answer_was_lost_is_not_taken_twice() -> None:
    pos = point_of_sale().test_client()
    order = {
        "orderId": "o-1",
        "restaurantId": "r-1",
        "items": [{"name": "Pizza", "quantity": 1}],
        "callbackUrl": "http://platform.test/pos",
    }
    pos.post("/_fake/fail-next", json={"count": 1, "status": 502, "after": True})

    lost = pos.post("/orders", json=order, headers={**POS_AUTH, "Idempotency-Key": "o-1"})
    retried = pos.post("/orders", json=order, headers={**POS_AUTH, "Idempotency-Key": "o-1"})

    assert lost.status_code == 502
    assert retried.status_code == 201
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert len(pos.get("/orders").get_json()["orders"]) == 1


def test_an_injected_code_lets_a_gateway_meet_a_key_in_use_over_real_http() -> None:
    pos = point_of_sale()
    gateway = HttpPointOfSale(
        http_session({"http://pos.test": WsgiTransport(pos)}),
        "http://pos.test",
        Secret.given("POS_API_KEY", pos_fake.DEFAULT_API_KEY),
    )
    order = PosOrder("o-1", "r-1", (PosLine("Pizza", 1),), "http://platform.test/pos")
    client = pos.test_client()
    armed = client.post(
        "/_fake/fail-next", json={"count": 1, "status": 409, "code": "idempotency_key_in_use"}
    )
    assert armed.get_json() == {"count": 1, "status": 409, "code": "idempotency_key_in_use"}

    with pytest.raises(PosUnavailable):
        gateway.submit(order)  # a plain 409 would pass as "the point of sale holds it already"
    gateway.submit(order)

    assert [o["orderId"] for o in client.get("/orders").get_json()["orders"]] == ["o-1"]


def test_authenticating_a_view_the_app_does_not_have_is_refused() -> None:
    """A misspelt endpoint would leave the route meant to be closed open."""
    app = create_app()

    with pytest.raises(ValueError, match="no such endpoints to authenticate: recieve"):
        require_bearer(app, "k", ("recieve",))
