"""The order subsystem on its own: a manual clock, a tiny fake point of sale, event builders."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import flask
import pytest

from fakes.point_of_sale import DEFAULT_API_KEY
from order.topology import APP
from shared.clock import ManualClock
from shared.envelope import Envelope, new_event
from shared.http import WsgiTransport
from shared.runtime.secrets import Secret
from shared.runtime.standalone import StandaloneSubsystem
from shared.topology import Topic

if TYPE_CHECKING:
    from flask.testing import FlaskClient

START = 1_767_225_600_000
MINUTE = 60_000
SECRET = "pos-test-secret"
POS_KEY = "pos-test-key"
"""The API key the point of sale issued the platform: :class:`FakePos` refuses calls without it."""
FAKE_KEY = Secret.given("POS_API_KEY", DEFAULT_API_KEY)
"""The API key the real fake point of sale (:mod:`fakes.point_of_sale`) takes by default."""
SETTINGS = {
    "POS_URL": "http://pos.test",
    "POS_API_KEY": POS_KEY,
    "POS_CALLBACK_URL": "http://order.test/",
    "POS_WEBHOOK_SECRET": SECRET,
}
ADDRESS = {
    "street": "Main St 1",
    "city": "Springfield",
    "postcode": "12345",
    "lat": 52.5,
    "lng": 13.4,
}
KITCHEN = {
    "street": "Oak Rd 9",
    "city": "Springfield",
    "postcode": "12345",
    "lat": 52.6,
    "lng": 13.3,
}


KEY_IN_USE = {"error": "a request with this key is still running", "code": "idempotency_key_in_use"}
"""What a point of sale answers, with a 409, to a request whose ``Idempotency-Key`` another
request is still using (as :mod:`fakes.idempotency` does)."""


class FakePos:
    """A point of sale that records every request and answers as the test tells it: each of
    ``next_statuses`` fails one request, a 409 as a key still in use. A request without
    ``Authorization: Bearer`` :data:`POS_KEY` is recorded, and refused with 401."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.next_statuses: list[int] = []
        self.orders: set[str] = set()
        self.app = flask.Flask("fake-pos")
        self.app.add_url_rule("/orders", view_func=self._submit, methods=["POST"])
        self.app.add_url_rule("/orders/<order_id>/cancel", view_func=self._cancel, methods=["POST"])

    @staticmethod
    def _failure(status: int) -> tuple[dict[str, str], int]:
        if status == 401:
            return {"error": "missing or invalid API key (Authorization: Bearer <key>)"}, 401
        return (KEY_IN_USE if status == 409 else {"error": "told to fail"}), status

    def _record(self) -> int | None:
        request = flask.request
        self.requests.append(
            {
                "path": request.path,
                "key": request.headers.get("Idempotency-Key"),
                "body": request.get_json(silent=True),
            }
        )
        if request.headers.get("Authorization") != f"Bearer {POS_KEY}":
            return 401
        return self.next_statuses.pop(0) if self.next_statuses else None

    def _submit(self) -> Any:
        status = self._record()
        if status is not None:
            return self._failure(status)
        order_id = flask.request.get_json()["orderId"]
        self.orders.add(order_id)
        return {"posOrderId": f"pos-{order_id}", "orderId": order_id, "status": "received"}, 201

    def _cancel(self, order_id: str) -> Any:
        status = self._record()
        if status is not None:
            return self._failure(status)
        if order_id not in self.orders:
            return {"error": f"no order {order_id}"}, 404
        return {"orderId": order_id, "status": "cancelled"}, 200


class OrderSystem(StandaloneSubsystem):
    """The subsystem running standalone, with what tests need to drive and observe it."""

    def __init__(self, pos: FakePos | flask.Flask, settings: Mapping[str, str] = SETTINGS) -> None:
        """With ``pos`` (a :class:`FakePos`, or a point of sale's app) at ``POS_URL``."""
        super().__init__(
            APP,
            clock=ManualClock(START),
            settings=settings,
            transports={
                "http://pos.test": WsgiTransport(pos if isinstance(pos, flask.Flask) else pos.app)
            },
        )

    @property
    def events(self) -> dict[Topic, list[Envelope]]:
        """The events published on the bus and the external topic."""
        return {topic: self.events_on(topic) for topic in (Topic.BUS, Topic.EXTERNAL)}

    def order(self, order_id: str = "o-1") -> dict[str, Any]:
        """The folded state of an order, which must exist."""
        order = self.store.get("orders", order_id)
        assert order is not None, f"no order {order_id}"
        return order

    def internal(self, type: str) -> list[Envelope]:
        """The internal events of ``type`` published on the bus."""
        return self.events_on(Topic.BUS, type)

    def published(self, order_id: str = "o-1", version: int = 1) -> list[Envelope]:
        """The ``order.order-status-changed`` events (of one major version) for an order."""
        return [
            e
            for e in self.events_on(Topic.EXTERNAL)
            if e.partition_key == order_id and e.tags.get("schemaVersion") == str(version)
        ]

    def statuses(self, order_id: str = "o-1", version: int = 1) -> list[str]:
        """The statuses published for an order (in one major version), in order."""
        return [e.body["status"] for e in self.published(order_id, version)]

    def webhook(self) -> FlaskClient:
        """A test client of the pos-esg webhook."""
        return self.api("pos-esg")

    # -- the sister subsystems' events ---------------------------------------------------

    def order_placed(self, order_id: str = "o-1", restaurant_id: str = "r-1") -> Envelope:
        """``customer.order-placed`` as the Customer subsystem publishes it."""
        body = {
            "id": order_id,
            "customerRef": f"cref-{order_id}",
            "restaurant": {"id": restaurant_id, "name": "Trattoria", "address": KITCHEN},
            "items": [
                {"menuItemId": "m-1", "name": "Margherita", "quantity": 2, "price": 950},
                {"menuItemId": "m-2", "name": "Tiramisu", "quantity": 1, "price": 650},
            ],
            "total": 2550,
            "currency": "EUR",
            "deliveryAddress": ADDRESS,
            "placedAt": self.clock.now_ms(),
        }
        return self._event("customer.order-placed", "order", body, order_id)

    def answer(
        self, kind: str, order_id: str = "o-1", restaurant_id: str = "r-1", **fields: Any
    ) -> Envelope:
        """``restaurant.order-accepted|-rejected|-ready``; ``fields`` add the kind's own."""
        body = {"id": order_id, "restaurantId": restaurant_id, **fields}
        return self._event(f"restaurant.order-{kind}", "order", body, order_id)

    def restaurant_updated(
        self, restaurant_id: str = "r-1", ordering: str = "kitchen", revision: int | None = None
    ) -> Envelope:
        """``restaurant.restaurant-updated`` with the restaurant's whole profile; without
        ``revision`` unless given, as published before restaurants counted their saves."""
        body: dict[str, Any] = {
            "id": restaurant_id,
            "name": "Trattoria",
            "cuisine": "italian",
            "address": KITCHEN,
            "open": True,
            "ordering": ordering,
        }
        if revision is not None:
            body["revision"] = revision
        return self._event("restaurant.restaurant-updated", "restaurant", body, restaurant_id)

    def delivery(
        self, status: str, order_id: str = "o-1", lat: float = 52.55, driver: str = "dan"
    ) -> Envelope:
        """``delivery.delivery-status-changed`` for the order's delivery by ``driver``."""
        body = {
            "id": f"d-{order_id}",
            "orderId": order_id,
            "status": status,
            "driver": {"id": driver, "name": driver.title()},
            "location": {"lat": lat, "lng": 13.35},
            "changedAt": self.clock.now_ms(),
        }
        return self._event("delivery.delivery-status-changed", "delivery", body, order_id)

    def _event(self, type: str, entity: str, body: dict[str, Any], key: str) -> Envelope:
        return new_event(
            type,
            entity,
            body,
            partition_key=key,
            timestamp=self.clock.now_ms(),
            tags={"schemaVersion": "1"},
        )


@pytest.fixture
def pos() -> FakePos:
    """The fake point of sale, mounted at http://pos.test."""
    return FakePos()


@pytest.fixture
def order_system(pos: FakePos) -> OrderSystem:
    """The order subsystem, standalone, at ``START`` on a manual clock."""
    return OrderSystem(pos)


@pytest.fixture
def pos_order(order_system: OrderSystem, pos: FakePos) -> OrderSystem:
    """An order placed at r-1, a point-of-sale restaurant."""
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="pos"))
    order_system.send("customer", order_system.order_placed())
    return order_system


POS_KEY_LABEL = b"fooddelivery pos callback key v1:"


def pos_key(order_system: OrderSystem, restaurant_id: str) -> str:
    """The key the platform gives the point of sale of ``restaurant_id``."""
    secret = order_system.system.ports["order"].pos_webhook_secret.reveal()
    label = POS_KEY_LABEL + restaurant_id.encode()
    return hmac.new(secret.encode(), label, hashlib.sha256).hexdigest()


def sign(
    order_system: OrderSystem, body: bytes, age_s: int = 0, key: str | None = None
) -> dict[str, str]:
    """Headers of a callback signed ``age_s`` ago (by the order clock) with ``key``.

    The key of the restaurant the body names unless another is given.
    """
    key = key or pos_key(order_system, json.loads(body)["restaurantId"])
    sent = order_system.clock.now_ms() // 1000 - age_s
    digest = hmac.new(key.encode(), f"{sent}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Pos-Signature": f"t={sent},v1={digest}"}
