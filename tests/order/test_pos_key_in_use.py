"""pos-esg: a 409 from the point of sale (a request with the same key still running) is retried.

Point-of-sale and payment APIs answer 409 with the code ``idempotency_key_in_use`` to a
request whose ``Idempotency-Key`` another request is still using (the hand-over's first
attempt timed out here, but still runs there). The call must be made again later, when it
is replayed, never made a fault: a withdrawal made a fault is never sent, and the kitchen
cooks a cancelled order. Any other 409 is the operation's own: to a hand-over, the point of
sale holds the order already (it forgot the key of the attempt that gave it); a withdrawal
has none, so one there is a fault for a person, never retried for half an hour.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import flask
import pytest
import requests

from fakes.point_of_sale import DEFAULT_API_KEY, create_app
from fakes.point_of_sale.models import OrderRequest
from fakes.point_of_sale.orders import Order
from fakes.point_of_sale.orders import PointOfSale as FakePointOfSale
from fakes.server import stop_background
from order.pos_esg.client import HttpPointOfSale, PosLine, PosOrder, PosUnavailable
from shared.exceptions import BusinessRuleViolation
from shared.http import WsgiTransport
from tests.order.conftest import FAKE_KEY, FakePos, OrderSystem

ORDER = PosOrder("o-1", "r-1", (PosLine("Margherita", 2),), "http://order.test/pos/callbacks")


def test_a_hand_over_answered_409_is_retried_not_a_fault(
    order_system: OrderSystem, pos: FakePos
) -> None:
    pos.next_statuses = [409]
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="pos"))
    order_system.send("customer", order_system.order_placed())
    assert [r["key"] for r in pos.requests] == ["o-1:submit"] * 2
    assert pos.orders == {"o-1"}
    assert order_system.faults() == []


def test_a_withdrawal_answered_409_is_retried_not_a_fault(
    pos_order: OrderSystem, pos: FakePos
) -> None:
    pos.next_statuses = [409]
    pos_order.advance(13)  # nobody answers: cancelled for the timeout, withdrawn
    assert pos_order.order()["reason"] == "restaurant-timeout"
    assert [r["path"] for r in pos.requests] == ["/orders"] + ["/orders/o-1/cancel"] * 2
    assert pos_order.faults() == []


@dataclass
class SlowPos:
    """The gateway to the real fake point of sale, which takes an order only once released."""

    gateway: HttpPointOfSale
    entered: threading.Event = field(default_factory=threading.Event)
    """Set once a request is taking an order."""
    release: threading.Event = field(default_factory=threading.Event)
    """Lets the order be taken."""


@pytest.fixture
def slow_pos(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowPos]:
    """The gateway to the real fake point of sale, taking orders only once released."""
    app = create_app()
    session = requests.Session()
    session.mount("http://pos.test", WsgiTransport(app))
    slow = SlowPos(HttpPointOfSale(session, "http://pos.test", FAKE_KEY))
    receive = FakePointOfSale.receive

    def slow_receive(self: FakePointOfSale, request: OrderRequest) -> Order:
        slow.entered.set()
        slow.release.wait(5)
        return receive(self, request)

    monkeypatch.setattr(FakePointOfSale, "receive", slow_receive)
    try:
        yield slow
    finally:
        slow.release.set()
        stop_background(app)
        session.close()


def test_a_hand_over_retried_while_the_first_still_runs_at_the_fake_is_retried_later(
    slow_pos: SlowPos,
) -> None:
    pos, release = slow_pos.gateway, slow_pos.release
    first = threading.Thread(target=pos.submit, args=(ORDER,))
    first.start()
    assert slow_pos.entered.wait(5)
    # The retry comes while the first attempt still runs there; without a 409 it would
    # wait for the first, so a timer lets it go rather than hang the test.
    timer = threading.Timer(2.0, release.set)
    timer.start()
    try:
        with pytest.raises(PosUnavailable, match="409"):
            pos.submit(ORDER)
        assert not release.is_set(), "the retry waited for the first attempt instead of a 409"
    finally:
        timer.cancel()
        release.set()
        first.join()
    pos.submit(ORDER)  # later: the first attempt's answer, replayed


def test_a_hand_over_the_pos_took_under_a_key_it_forgot_is_handed_over() -> None:
    app = create_app()
    session = requests.Session()
    session.mount("http://pos.test", WsgiTransport(app))
    gateway = HttpPointOfSale(session, "http://pos.test", FAKE_KEY)
    body = {
        "orderId": ORDER.order_id,
        "restaurantId": ORDER.restaurant_id,
        "items": [{"name": "Margherita", "quantity": 2}],
        "callbackUrl": ORDER.callback_url,
    }
    # An earlier attempt got the order there, under a key the point of sale no longer knows.
    headers = {"Idempotency-Key": "gone", "Authorization": f"Bearer {DEFAULT_API_KEY}"}
    taken = session.post("http://pos.test/orders", json=body, headers=headers)
    assert taken.status_code == 201

    gateway.submit(ORDER)  # answered 409: the order id is known there

    assert [o["orderId"] for o in session.get("http://pos.test/orders").json()["orders"]] == ["o-1"]
    stop_background(app)
    session.close()


def test_a_withdrawal_answered_a_409_of_its_own_is_a_fault_not_retried() -> None:
    app = flask.Flask("pos-answering-conflict")
    app.add_url_rule(
        "/orders/<order_id>/cancel",
        view_func=lambda order_id: ({"error": f"order {order_id} is being delivered"}, 409),
        methods=["POST"],
    )
    session = requests.Session()
    session.mount("http://pos.test", WsgiTransport(app))
    with pytest.raises(BusinessRuleViolation, match=r"409 .*being delivered"):
        HttpPointOfSale(session, "http://pos.test", FAKE_KEY).cancel("o-1")
    session.close()
