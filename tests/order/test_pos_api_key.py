"""pos-esg calls the point of sale with the API key it issued us (``POS_API_KEY``).

A real point-of-sale integration takes no order without its key: the gateway sends
``Authorization: Bearer <key>`` on every call. A key the point of sale refuses (401, 403)
is our own configuration being wrong: a fault naming the secret, for a person to put
right and resubmit, never an order silently lost, and nothing changes at the point of sale.
"""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest
import requests

from fakes import point_of_sale
from fakes.server import stop_background
from order.pos_esg.client import HttpPointOfSale
from shared.exceptions import BusinessRuleViolation
from shared.http import WsgiTransport
from shared.runtime.secrets import Secret
from tests.order.conftest import POS_KEY, SETTINGS, OrderSystem


@pytest.fixture
def fake() -> Iterator[flask.Flask]:
    """The real fake point of sale, taking the key the settings give the gateway."""
    app = point_of_sale.create_app(api_key=POS_KEY)
    yield app
    stop_background(app)


def held(fake: flask.Flask) -> dict[str, str]:
    """The orders the point of sale holds: order id -> status (read on its terminal)."""
    listed = fake.test_client().get("/orders").get_json()["orders"]
    return {order["orderId"]: order["status"] for order in listed}


def place_at_pos(system: OrderSystem) -> None:
    system.send("restaurant", system.restaurant_updated("r-1", ordering="pos"))
    system.send("customer", system.order_placed())


def test_the_gateway_hands_over_and_withdraws_with_the_key(fake: flask.Flask) -> None:
    system = OrderSystem(fake)

    place_at_pos(system)
    assert held(fake) == {"o-1": "received"}
    system.advance(13)  # nobody answers: cancelled for the timeout, withdrawn

    assert held(fake) == {"o-1": "cancelled"}
    assert system.faults() == []


def test_a_refused_key_is_a_fault_naming_the_secret_and_hands_nothing_over(
    fake: flask.Flask,
) -> None:
    system = OrderSystem(fake, {**SETTINGS, "POS_API_KEY": "a-revoked-key"})

    place_at_pos(system)

    [fault] = system.faults()
    assert fault["function"] == "order/pos-esg/to-pos"
    assert fault["error"]["type"] == "BusinessRuleViolation"
    message = fault["error"]["message"]
    assert "refused our credentials to submit order o-1: 401" in message
    assert "check the secret POS_API_KEY" in message
    assert held(fake) == {}


@pytest.mark.parametrize("status", [401, 403])
def test_a_withdrawal_refused_for_our_credentials_is_a_fault_not_nothing_to_withdraw(
    status: int,
) -> None:
    app = flask.Flask("pos-refusing-us")
    app.add_url_rule(
        "/orders/<order_id>/cancel",
        view_func=lambda order_id: ({"error": "invalid API key"}, status),
        methods=["POST"],
    )
    with requests.Session() as session:
        session.mount("http://pos.test", WsgiTransport(app))
        gateway = HttpPointOfSale(session, "http://pos.test", Secret.given("POS_API_KEY", "k"))
        with pytest.raises(BusinessRuleViolation, match=f"{status} .*POS_API_KEY"):
            gateway.cancel("o-1")
