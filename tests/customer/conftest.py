"""The customer subsystem on its own: a manual clock, customer tokens, a fake payment processor."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flask
import pytest

from customer.topology import APP
from delivery.contracts import DeliveryStatusChanged
from order.contracts import OrderStatusChangedV2
from restaurant.contracts import MenuUpdated, RestaurantUpdated
from shared.auth import Actor, LocalIssuer, Principal
from shared.clock import ManualClock
from shared.contracts import Contract
from shared.envelope import Envelope, new_event
from shared.http import WsgiTransport
from shared.runtime.standalone import StandaloneSubsystem
from shared.topology import Topic

if TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

START = 1_767_225_600_000
MINUTE = 60_000
PAYMENTS_URL = "http://payments.test"
PAYMENTS_KEY = "sk_test_customer"

ADDRESS: dict[str, Any] = {
    "street": "Torstraße 1",
    "city": "Berlin",
    "postcode": "10115",
    "lat": 52.5291,
    "lng": 13.401,
}
HOME: dict[str, Any] = {
    "street": "Kastanienallee 7",
    "city": "Berlin",
    "postcode": "10435",
    "lat": 52.538,
    "lng": 13.409,
}
DISHES: list[dict[str, Any]] = [
    {
        "id": "margherita",
        "name": "Pizza Margherita",
        "description": "Tomato, mozzarella, basil",
        "price": 950,
        "currency": "EUR",
        "available": True,
    },
    {
        "id": "tiramisu",
        "name": "Tiramisù",
        "description": "Coffee and mascarpone",
        "price": 650,
        "currency": "EUR",
        "available": True,
    },
    {
        "id": "calzone",
        "name": "Calzone",
        "description": "Folded pizza",
        "price": 1100,
        "currency": "EUR",
        "available": False,
    },
]
CARD = {"token": "pm_card_visa", "brand": "visa", "last4": "4242"}
DECLINED_CARD = "pm_card_declined"
_SETTLE = {
    "capture": ("authorized", "captured"),
    "void": ("authorized", "voided"),
    "refund": ("captured", "refunded"),
}


def iso(epoch_ms: int) -> str:
    """``epoch_ms`` as the processor writes times: ISO 8601 UTC with milliseconds."""
    stamp = datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


class FakeProcessor:
    """A tiny payment processor: one answer per Idempotency-Key (422 to a key reused with
    another path or body), declines ``pm_card_declined``."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[dict[str, Any]] = []
        self.authorizations: dict[str, dict[str, Any]] = {}
        self.failures = 0
        """How many of the next calls fail with :attr:`failure`, before they touch any state."""
        self.failure: tuple[dict[str, Any], int] = ({"error": "try again later"}, 503)
        self.down_until = 0
        """Every call answers 503 until the clock reaches this time (epoch ms)."""
        self.stamps = True
        """Whether an authorization answers when it was made (``authorizedAt``, ISO 8601)."""
        self.lost_answers = 0
        """How many of the next calls do their work and then answer 503, as if the answer
        was lost on its way back."""
        self._answers: dict[str, tuple[dict[str, Any], int]] = {}
        self._requests: dict[str, tuple[str, Any]] = {}
        self.app = flask.Flask("fake-payment-processor")
        self.app.add_url_rule("/v1/authorizations", view_func=self._authorize, methods=["POST"])
        self.app.add_url_rule(
            "/v1/authorizations/<auth_id>/<action>", view_func=self._settle, methods=["POST"]
        )
        self.app.add_url_rule("/v1/authorizations/<auth_id>", view_func=self._read)
        self.app.add_url_rule("/v1/authorizations", view_func=self._find, methods=["GET"])

    def paths(self, suffix: str) -> list[str]:
        """The paths of the calls that ended with ``suffix``."""
        return [c["path"] for c in self.calls if c["path"].endswith(suffix)]

    def _once(self, answer: Any) -> tuple[dict[str, Any], int]:
        request = flask.request
        if request.headers.get("Authorization") != f"Bearer {PAYMENTS_KEY}":
            return {"error": "unknown API key"}, 401
        if self.failures:
            self.failures -= 1
            return self.failure
        if self.clock.now_ms() < self.down_until:
            return {"error": "down for maintenance"}, 503
        key = request.headers["Idempotency-Key"]
        self.calls.append({"path": request.path, "key": key, "body": request.get_json()})
        asked = (request.path, request.get_json())
        if self._requests.setdefault(key, asked) != asked:
            reused = "Idempotency-Key was already used with a different request"
            return {"error": reused, "code": "idempotency_key_reused"}, 422
        if key not in self._answers:
            self._answers[key] = answer()
        if self.lost_answers:
            self.lost_answers -= 1
            return {"error": "the answer was lost"}, 503
        return self._answers[key]

    def _authorize(self) -> tuple[dict[str, Any], int]:
        def answer() -> tuple[dict[str, Any], int]:
            body = flask.request.get_json()
            if body["paymentMethod"] == DECLINED_CARD:
                return {"error": "the card was declined", "code": "card_declined"}, 402
            auth_id = f"auth-{len(self.authorizations) + 1}"
            auth = {"id": auth_id, "status": "authorized", "amount": body["amount"]}
            self.authorizations[auth_id] = {**auth, "reference": body["reference"]}
            stamp = {"authorizedAt": iso(self.clock.now_ms())} if self.stamps else {}
            return {**self.authorizations[auth_id], **stamp}, 201

        return self._once(answer)

    def _read(self, auth_id: str) -> tuple[dict[str, Any], int]:
        if flask.request.headers.get("Authorization") != f"Bearer {PAYMENTS_KEY}":
            return {"error": "unknown API key"}, 401
        auth = self.authorizations.get(auth_id)
        return (dict(auth), 200) if auth else ({"error": f"no authorization {auth_id}"}, 404)

    def _find(self) -> tuple[dict[str, Any], int]:
        if flask.request.headers.get("Authorization") != f"Bearer {PAYMENTS_KEY}":
            return {"error": "unknown API key"}, 401
        reference = flask.request.args.get("reference")
        found = [a for a in self.authorizations.values() if a["reference"] == reference]
        return {"authorizations": found}, 200

    def _settle(self, auth_id: str, action: str) -> tuple[dict[str, Any], int]:
        def answer() -> tuple[dict[str, Any], int]:
            auth = self.authorizations.get(auth_id)
            was, becomes = _SETTLE[action]
            if auth is None or auth["status"] != was:
                return {"error": f"cannot {action} this authorization"}, 409
            auth["status"] = becomes
            return dict(auth), 200

        return self._once(answer)


class Customer(StandaloneSubsystem):
    """The subsystem running standalone, with what tests need to drive and observe it."""

    def __init__(self, key: Path, issuer: LocalIssuer) -> None:
        clock = ManualClock(START)
        self.processor = FakeProcessor(clock)
        super().__init__(
            APP,
            clock=clock,
            settings={
                "PAYMENT_PROCESSOR_URL": PAYMENTS_URL,
                "PAYMENT_PROCESSOR_KEY": PAYMENTS_KEY,
            },
            transports={PAYMENTS_URL: WsgiTransport(self.processor.app)},
            dev_key=key,
            issuer=issuer,
        )

    def doc(self, collection: str, key: str) -> dict[str, Any]:
        """A stored document that must exist."""
        doc = self.store.get(collection, key)
        assert doc is not None, f"no {collection}/{key}"
        return doc

    def events(self, event_type: str, topic: Topic = Topic.BUS) -> list[Envelope]:
        """What the subsystem published of ``event_type`` on ``topic``."""
        return self.events_on(topic, event_type)

    # -- time passing while events wait for redelivery --------------------------------

    def tick_while_waiting(self) -> None:
        """From now on, run the schedules while events wait out their redelivery backoff.

        Delivering jumps the clock to the next redelivery; Cloud Scheduler keeps
        ticking meanwhile. Each delivery a minute or more after the last run runs
        the schedules once more, so a tick comes at most one backoff late.
        """
        last = [self.clock.now_ms()]

        def tick(_subscription: str, _seconds: float) -> None:
            if self.clock.now_ms() - last[0] >= MINUTE:
                last[0] = self.clock.now_ms()
                self.system.tick()

        self.system.hub.delivery_observers.append(tick)

    def meanwhile(self, at_ms: int, action: Callable[[], None]) -> None:
        """Do ``action`` once, after the first delivery at or after ``at_ms`` (epoch ms):
        what an actor does while events wait for redelivery. It must not deliver itself."""
        pending = [action]

        def act(_subscription: str, _seconds: float) -> None:
            if pending and self.clock.now_ms() >= at_ms:
                pending.pop()()

        self.system.hub.delivery_observers.append(act)

    # -- HTTP -----------------------------------------------------------------------

    def client(self, service: str) -> FlaskClient:
        """A test client of ``service``'s API."""
        return self.api(service)

    def headers(self, subject: str | None = "alice", actor: Actor = "customer") -> dict[str, str]:
        """Bearer headers for ``actor:subject`` (none for ``subject=None``)."""
        return {} if subject is None else self.bearer(Principal(actor, subject))

    def call(
        self,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        subject: str | None = "alice",
        actor: Actor = "customer",
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        """Call ``service``'s API as ``actor:subject`` and deliver what the call set off.

        ``body`` is sent as Python's JSON encoder writes it, ``NaN`` and ``Infinity``
        included, as a lenient client would (the app's own encoder refuses them)."""
        response = self.client(service).open(
            path,
            method=method,
            data=None if body is None else json.dumps(body),
            content_type=None if body is None else "application/json",
            headers={**self.headers(subject, actor), **(headers or {})},
        )
        self.system.run_until_quiet()
        return response

    # -- the neighbours' events -----------------------------------------------------

    def receive(
        self, producer: str, contract: Contract, key: str, timestamp: int | None = None
    ) -> Envelope:
        """Deliver ``contract`` as ``producer`` publishes it (at ``timestamp``, default now)."""
        event = new_event(
            contract.TYPE,
            contract.ENTITY,
            contract.model_dump(mode="json", by_alias=True),
            partition_key=key,
            tags={"source": "test", "subsystem": producer, "schemaVersion": str(contract.VERSION)},
            timestamp=self.clock.now_ms() if timestamp is None else timestamp,
        )
        self.send(producer, event)
        return event

    def restaurant(self, restaurant_id: str = "r-1", **changes: Any) -> Envelope:
        """Restaurant publishes a restaurant's profile."""
        profile = {
            "id": restaurant_id,
            "name": "Trattoria Roma",
            "cuisine": "italian",
            "address": ADDRESS,
            "open": True,
            "ordering": "kitchen",
            "deliveryRadiusM": 5000,
            **changes,
        }
        return self.receive("restaurant", RestaurantUpdated.model_validate(profile), restaurant_id)

    def menu(self, restaurant_id: str = "r-1", items: list[dict[str, Any]] = DISHES) -> Envelope:
        """Restaurant publishes a restaurant's menu."""
        menu = MenuUpdated.model_validate({"restaurantId": restaurant_id, "items": items})
        return self.receive("restaurant", menu, restaurant_id)

    def order_status(
        self,
        order_id: str,
        status: str,
        *,
        reason: str | None = None,
        detail: str | None = None,
        **changes: Any,
    ) -> Envelope:
        """Order publishes (v2, which the customer reads) that the order moved to ``status``."""
        money = {"amount": 950, "currency": "EUR"}
        order = {
            "id": order_id,
            "customerRef": "ref-1",
            "restaurant": {"id": "r-1", "name": "Trattoria Roma", "address": ADDRESS},
            "items": [{"menuItemId": "margherita", "name": "Pizza", "quantity": 2, "price": money}],
            "total": {"amount": 1900, "currency": "EUR"},
            "status": status,
            "cancellation": {"reason": reason, "detail": detail} if reason else None,
            "changedAt": self.clock.now_ms(),
            **changes,
        }
        return self.receive("order", OrderStatusChangedV2.model_validate(order), order_id)

    def delivery(self, order_id: str, status: str, **changes: Any) -> Envelope:
        """Delivery publishes where the order's delivery stands."""
        delivery = {
            "id": f"d-{order_id}",
            "orderId": order_id,
            "status": status,
            "driver": {"id": "driver-7", "name": "Dan"},
            "location": {"lat": 52.53, "lng": 13.40},
            "changedAt": self.clock.now_ms(),
            **changes,
        }
        return self.receive("delivery", DeliveryStatusChanged.model_validate(delivery), order_id)

    # -- journeys -------------------------------------------------------------------

    def open_restaurant(self) -> None:
        """Restaurant ``r-1`` is open with its menu."""
        self.restaurant()
        self.menu()

    def sign_up(self, subject: str = "alice", card: dict[str, str] = CARD) -> None:
        """``subject`` has an account with a delivery address and a saved card."""
        profile = {
            "name": subject.title(),
            "email": f"{subject}@example.com",
            "phone": "+49 30 1234567",
        }
        account = {**profile, "deliveryAddress": HOME}
        for path, body in (("/me", account), ("/me/payment-method", card)):
            response = self.call("account-bff", "PUT", path, body, subject=subject)
            assert response.status_code == 200, response.get_json()

    def fill_cart(self, subject: str = "alice") -> None:
        """Two pizzas and a tiramisù from ``r-1`` in ``subject``'s cart."""
        items = [
            {"menuItemId": "margherita", "quantity": 2},
            {"menuItemId": "tiramisu", "quantity": 1},
        ]
        cart = {"restaurantId": "r-1", "items": items}
        assert self.call("checkout-bff", "PUT", "/cart", cart, subject=subject).status_code == 200

    def place_order(self, subject: str = "alice", card: dict[str, str] = CARD) -> str:
        """Sign ``subject`` up, fill the cart and check out; returns the order id."""
        self.sign_up(subject, card)
        self.fill_cart(subject)
        response = self.call("checkout-bff", "POST", "/checkout", {}, subject=subject)
        assert response.status_code == 201, response.get_json()
        order_id: str = response.get_json()["orderId"]
        return order_id


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LocalIssuer]:
    """One development signing key and its issuer for the session (making one takes a while)."""
    key = tmp_path_factory.mktemp("auth") / "key.pem"
    return key, LocalIssuer.from_file(key)


@pytest.fixture
def customer(signing_key: tuple[Path, LocalIssuer]) -> Customer:
    """The customer subsystem, standalone."""
    return Customer(*signing_key)


@pytest.fixture
def shop(customer: Customer) -> Customer:
    """The customer subsystem with restaurant ``r-1`` open and its menu known."""
    customer.open_restaurant()
    return customer
