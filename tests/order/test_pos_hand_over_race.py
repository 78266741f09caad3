"""pos-esg: an order cancelled while it is being handed over is withdrawn once it arrives.

The placed and the cancelled announcements of one order are handled concurrently (they come
from unordered triggers, on one subscription). The hand-over passes its check of the note,
the cancellation marks the note withdrawn and withdraws the order from the point of sale,
which does not know it yet (fine: nothing to stop), and then the order arrives there: the
kitchen would cook a cancelled order. The hand-over reads the note again once the point of
sale took the order, and withdraws it then, under a key of its own (a point of sale replays
the first withdrawal's 404 to its key).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fakes.point_of_sale import create_app
from fakes.point_of_sale.models import OrderRequest
from fakes.point_of_sale.orders import Order
from fakes.point_of_sale.orders import PointOfSale as FakePointOfSale
from order.ports import OrderPorts
from order.pos_esg import to_pos
from order.pos_esg.client import HttpPointOfSale
from order.pos_esg.to_pos import forward_to_pos
from shared.clock import ManualClock
from shared.envelope import Envelope, new_event
from shared.http import WsgiTransport
from shared.runtime.context import Context
from shared.runtime.secrets import Secret
from shared.stores import InMemoryDocumentStore
from shared.topology import Role
from tests.order.conftest import ADDRESS, FAKE_KEY, KITCHEN, START


def announced(status: str, reason: str | None = None) -> Envelope:
    """``order-status-changed`` of order o-1 at r-1, which takes orders on its point of sale."""
    body: dict[str, Any] = {
        "id": "o-1",
        "restaurant": {"id": "r-1", "name": "Trattoria", "address": KITCHEN},
        "items": [{"menuItemId": "m-1", "name": "Margherita", "quantity": 2, "price": 950}],
        "deliveryAddress": ADDRESS,
        "ordering": "pos",
        "status": status,
        "reason": reason,
        "history": [{"status": "placed", "at": START}],
    }
    return new_event("order-status-changed", "order", body, partition_key="o-1", timestamp=START)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A session to the real fake point of sale, with its idempotency keys."""
    with requests.Session() as session:
        session.mount("http://pos.test", WsgiTransport(create_app()))
        yield session


def context(session: requests.Session) -> Context[OrderPorts]:
    ports = OrderPorts(
        store=InMemoryDocumentStore(),
        clock=ManualClock(START),
        pos=HttpPointOfSale(session, "http://pos.test", FAKE_KEY),
        pos_callback_url="http://order.test",
        pos_webhook_secret=Secret.given("POS_WEBHOOK_SECRET", "secret"),
    )
    return Context(
        subsystem="order",
        service="pos-esg",
        function="to-pos",
        role=Role.EGRESS,
        ports=ports,
        clock=ports.clock,
        log=logging.LoggerAdapter(logging.getLogger("test")),
        cause_id="cause",
        correlation_id="o-1",
    )


def test_an_order_cancelled_while_it_is_handed_over_is_withdrawn_once_it_arrives(
    session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = context(session)
    receive = FakePointOfSale.receive

    def cancelled_meanwhile(self: FakePointOfSale, request: OrderRequest) -> Order:
        # The cancellation's handler runs while the order is on its way: it withdraws the
        # order from a point of sale that does not know it yet.
        forward_to_pos(announced("cancelled", "customer"), ctx)
        assert session.get("http://pos.test/orders/o-1").status_code == 404
        return receive(self, request)

    monkeypatch.setattr(FakePointOfSale, "receive", cancelled_meanwhile)
    forward_to_pos(announced("placed"), ctx)

    held = session.get("http://pos.test/orders/o-1")
    assert held.status_code == 200
    assert held.json()["status"] == "cancelled"


def test_a_hand_over_that_died_once_the_order_arrived_withdraws_it_when_tried_again(
    session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = context(session)
    receive = FakePointOfSale.receive

    def cancelled_meanwhile_then_died(self: FakePointOfSale, request: OrderRequest) -> Order:
        forward_to_pos(announced("cancelled", "customer"), ctx)
        taken = receive(self, request)
        monkeypatch.setattr(to_pos, "_status", died)  # the try dies before it reads the note
        return taken

    def died(note: object) -> str:
        raise RuntimeError("the function instance was stopped")

    monkeypatch.setattr(FakePointOfSale, "receive", cancelled_meanwhile_then_died)
    with pytest.raises(RuntimeError, match="the function instance was stopped"):
        forward_to_pos(announced("placed"), ctx)
    monkeypatch.undo()

    forward_to_pos(announced("placed"), ctx)  # the hand-over tried again

    held = session.get("http://pos.test/orders/o-1")
    assert held.status_code == 200
    assert held.json()["status"] == "cancelled"
