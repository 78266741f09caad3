"""The Delivery subsystem on its own: a manual clock, drivers' tokens and a fake push provider."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flask
import pytest

from delivery.dispatch_control.drivers import FOLLOW_EVERY_MS
from delivery.events import offer_id_of
from delivery.topology import APP, TOPOLOGY
from shared.auth import Actor, Principal
from shared.clock import ManualClock
from shared.envelope import Envelope, new_event
from shared.exceptions import PublishError
from shared.http import WsgiTransport
from shared.runtime import consumer
from shared.runtime.outcome import Outcome
from shared.runtime.standalone import StandaloneSubsystem
from shared.topology import Topic

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

    from shared.stores import DocumentChange

START = 1_767_225_600_000
MINUTE = 60_000
PUSH_URL = "http://push.test"
PUSH_KEY = "push-test-key"

RESTAURANT: dict[str, Any] = {
    "street": "Torstraße 1",
    "city": "Berlin",
    "postcode": "10115",
    "lat": 52.5291,
    "lng": 13.4010,
}
HOME: dict[str, Any] = {
    "street": "Kastanienallee 7",
    "city": "Berlin",
    "postcode": "10435",
    "lat": 52.5380,
    "lng": 13.4100,
}
NEAR = {"lat": 52.5300, "lng": 13.4020}
"""About 130 m from the restaurant."""
FAR = {"lat": 52.5500, "lng": 13.4500}
"""About 4 km from the restaurant."""
FURTHER = {"lat": 52.5600, "lng": 13.4600}
"""About 5 km from the restaurant, further than ``FAR``."""


def order_payload(
    order_id: str,
    status: str,
    *,
    reason: str | None = None,
    detail: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """An ``order.order-status-changed`` v2 payload (the version Delivery reads)."""
    price = {"amount": 950, "currency": "EUR"}
    return {
        "id": order_id,
        "customerRef": f"ref-{order_id}",
        "restaurant": {"id": "r-1", "name": "Trattoria Roma", "address": RESTAURANT},
        "items": [{"menuItemId": "m-1", "name": "Margherita", "quantity": 1, "price": price}],
        "total": price,
        "status": status,
        "cancellation": {"reason": reason, "detail": detail} if reason else None,
        "deliveryAddress": HOME,
        "changedAt": START,
        **changes,
    }


def order_event(order_id: str, status: str, timestamp: int, **changes: Any) -> Envelope:
    """The Order subsystem's ``order.order-status-changed`` v2 of the order's new status,
    as it publishes it (:func:`order_payload`'s body, with ``changes``)."""
    return new_event(
        "order.order-status-changed",
        "order",
        order_payload(order_id, status, **changes),
        partition_key=order_id,
        timestamp=timestamp,
        tags={"subsystem": "order", "schemaVersion": "2"},
    )


class PushFake:
    """The push provider: one message per Idempotency-Key; can fail the next calls."""

    def __init__(self) -> None:
        self.messages: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.failures = 0
        self.failure_status = 503
        self.app = flask.Flask("push-fake")
        self.app.add_url_rule("/v1/messages", "send", self._send, methods=["POST"])

    def _send(self) -> tuple[dict[str, Any], int]:
        self.calls += 1
        if flask.request.headers.get("Authorization") != f"Bearer {PUSH_KEY}":
            return {"error": "invalid API key"}, 401
        if self.failures:
            self.failures -= 1
            return {"error": "temporarily unavailable"}, self.failure_status
        key = flask.request.headers["Idempotency-Key"]
        if key not in self.messages:
            self.messages[key] = {"id": f"msg_{len(self.messages) + 1}", **flask.request.json}
        return {"id": self.messages[key]["id"]}, 202

    def to(self, kind: str, recipient: str) -> list[dict[str, Any]]:
        """The messages sent to one person, in order."""
        return [m for m in self.messages.values() if m["to"] == {"kind": kind, "id": recipient}]


class Delivery(StandaloneSubsystem):
    """The subsystem running standalone, with what tests need to drive and observe it."""

    def __init__(self, tmp_path: Path, push: PushFake, push_key: str = PUSH_KEY) -> None:
        self.push = push
        super().__init__(
            APP,
            clock=ManualClock(START),
            settings={"PUSH_PROVIDER_URL": PUSH_URL, "PUSH_PROVIDER_KEY": push_key},
            transports={PUSH_URL: WsgiTransport(push.app)},
            dev_key=tmp_path / "key.pem",
        )
        [(service, _)] = TOPOLOGY.endpoints()
        self.client: FlaskClient = self.api(service.name)

    @property
    def events(self) -> dict[Topic, list[Envelope]]:
        """The events published on the bus and the external topic."""
        return {topic: self.events_on(topic) for topic in (Topic.BUS, Topic.EXTERNAL)}

    # -- driving it ----------------------------------------------------------------------

    def headers(self, driver: str, actor: Actor = "driver") -> dict[str, str]:
        """The Authorization header of ``driver`` (or of someone acting as ``actor``)."""
        return self.bearer(Principal(actor, driver))

    def call(self, method: str, path: str, driver: str, body: Any = None) -> TestResponse:
        """Call the driver API as ``driver``, then deliver whatever it set off."""
        response = self.client.open(path, method=method, json=body, headers=self.headers(driver))
        self.system.run_until_quiet()
        return response

    def offer_id(self, delivery_id: str) -> str:
        """The id of the delivery's latest offer as the driver app keeps it (whoever it went
        to, whatever became of it); one naming no offer if there was none."""
        offer = self.store.get("driver-offers", delivery_id)
        return offer_id_of(delivery_id, (offer or {}).get("expiresAt", 0))

    def answer(self, delivery_id: str, verdict: str, driver: str) -> TestResponse:
        """``driver`` answers (``accept``/``decline``) the delivery's latest offer, by its id."""
        return self.call("POST", f"/offers/{self.offer_id(delivery_id)}/{verdict}", driver)

    def driver(self, name: str, at: dict[str, float] | None = NEAR, online: bool = True) -> None:
        """A driver with a profile, at a place, online or not."""
        assert (
            self.call("PUT", "/me", name, {"name": name.title(), "vehicle": "bike"}).status_code
            == 200
        )
        if at is not None:
            assert self.call("PUT", "/me/location", name, at).status_code == 200
        assert self.call("PUT", "/me/status", name, {"online": online}).status_code == 200

    def order(self, order_id: str, status: str, **changes: Any) -> Envelope:
        """The Order subsystem publishes the order's new status; it is delivered."""
        event = order_event(order_id, status, self.clock.now_ms(), **changes)
        self.send("order", event)
        return event

    def inject(self, event: Envelope, producer: str = "delivery") -> None:
        """Publish ``event`` (on the producer's external topic, or on our bus) and deliver."""
        self.send(producer, event)

    # -- observing it --------------------------------------------------------------------

    def delivery(self, order_id: str) -> dict[str, Any]:
        """Dispatch's delivery of the order."""
        found = self.store.get("deliveries", f"d-{order_id}")
        assert found is not None, f"no delivery for {order_id}"
        return found

    def offers(self, driver: str) -> list[dict[str, Any]]:
        """The offers the driver's app shows."""
        response = self.call("GET", "/me/offers", driver)
        assert response.status_code == 200
        offers: list[dict[str, Any]] = response.get_json()["offers"]
        return offers

    def bus(self, event_type: str) -> list[dict[str, Any]]:
        """Bodies of the internal events of one type, in publication order, without the
        ``revision`` dispatch stamps on its statuses (the store's write versions; see
        :meth:`revisions`)."""
        return [
            {k: v for k, v in e.body.items() if k != "revision"}
            for e in self.events_on(Topic.BUS, event_type)
        ]

    def revisions(self, event_type: str) -> list[tuple[str, int]]:
        """The ``revision`` of each internal event of one type, in publication order."""
        return [
            (e.body["revision"][0], e.body["revision"][1])
            for e in self.events_on(Topic.BUS, event_type)
        ]

    def statuses(self) -> list[tuple[str, str]]:
        """(status, driver) of each published ``delivery.delivery-status-changed``."""
        return [
            (e.body["status"], e.body["driver"]["id"])
            for e in self.events_on(Topic.EXTERNAL, "delivery.delivery-status-changed")
        ]


@pytest.fixture
def push() -> PushFake:
    """A fresh fake push provider."""
    return PushFake()


@pytest.fixture
def delivery(tmp_path: Path, push: PushFake) -> Delivery:
    """The Delivery subsystem, started at ``START`` on a manual clock."""
    return Delivery(tmp_path, push)


def offered_o9(expires_at: int, timestamp: int, driver: str = "dan") -> Envelope:
    """dispatch's ``delivery-offered`` of o-9 to ``driver``, as the driver app's listener hears
    it."""
    offer = {
        "id": "d-o-9",
        "orderId": "o-9",
        "driverId": driver,
        "pickup": {"restaurantId": "r-1", "name": "Trattoria Roma", "address": RESTAURANT},
        "dropoff": HOME,
        "expiresAt": expires_at,
    }
    return new_event(
        "delivery-offered", "delivery", offer, partition_key="o-9", timestamp=timestamp
    )


def withdrawn_o9(expires_at: int | None, timestamp: int) -> Envelope:
    """dispatch's ``offer-withdrawn`` of dan's offer of o-9 (``expires_at`` None: as
    announced before withdrawals named the offer)."""
    body: dict[str, Any] = {"id": "d-o-9", "driverId": "dan"}
    if expires_at is not None:
        body["expiresAt"] = expires_at
    return new_event("offer-withdrawn", "delivery", body, partition_key="o-9", timestamp=timestamp)


def status_announced(status: str, order_id: str = "o-1") -> Envelope:
    """dispatch's ``delivery-status-changed`` of dan's delivery of the order, with no
    ``revision`` (as announced before revisions existed)."""
    body = {
        "id": f"d-{order_id}",
        "orderId": order_id,
        "status": status,
        "driver": {"id": "dan", "name": "Dan"},
        "location": None,
        "changedAt": START,
    }
    return new_event("delivery-status-changed", "delivery", body, partition_key=order_id)


def offer_then_accept(delivery: Delivery, order_id: str, driver: str) -> None:
    """The order is accepted and ``driver``, the only one near, takes it."""
    delivery.order(order_id, "accepted")
    assert delivery.delivery(order_id)["offer"]["driverId"] == driver
    assert delivery.answer(f"d-{order_id}", "accept", driver).status_code == 200


def hold_change(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, trigger: str, before: str, after: str
) -> Callable[[], None]:
    """Keep the next change of a document from status ``before`` to ``after`` from the trigger
    named ``trigger``, as if its delivery had failed (Eventarc's deliveries are unordered, and
    a failed one is retried after later changes ran); calling the function returned delivers
    it then, with whatever it sets off."""
    real = consumer.TriggerRuntime.handle
    held: list[tuple[consumer.TriggerRuntime[Any], DocumentChange]] = []

    def handle(
        self: consumer.TriggerRuntime[Any], change: DocumentChange, attempt: int = 1
    ) -> Outcome:
        if (
            self.name == trigger
            and not held
            and (change.before or {}).get("status") == before
            and (change.after or {}).get("status") == after
        ):
            held.append((self, change))
            return Outcome.ACK
        return real(self, change, attempt)

    monkeypatch.setattr(consumer.TriggerRuntime, "handle", handle)

    def deliver_late() -> None:
        [(runtime, change)] = held
        assert real(runtime, change) == Outcome.ACK
        delivery.system.run_until_quiet()

    return deliver_late


def accepted_then_cancelled_unannounced(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """dan accepts o-1's offer, and the order is cancelled before dispatch's assignment is
    announced (its change held back); the function returned announces it late."""
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    deliver_late = hold_change(delivery, monkeypatch, "rules", "offered", "assigned")
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    delivery.order("o-1", "cancelled", reason="rejected", changedAt=START + 1)
    return deliver_late


def delivered_before_the_pickup_is_announced(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """dan, assigned o-1, picks it up and delivers it, and dispatch's announcement of the
    pickup is held back; the function returned announces it late."""
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    deliver_late = hold_change(delivery, monkeypatch, "rules", "assigned", "picked-up")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    return deliver_late


def reassigned_before_the_hand_back_is_announced(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """dan hands o-1 back and eve takes it before dispatch's announcement of the hand-back,
    held back, goes out; the function returned announces it late."""
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR, online=False)
    offer_then_accept(delivery, "o-1", "dan")
    deliver_late = hold_change(delivery, monkeypatch, "rules", "assigned", "searching")
    delivery.call("POST", "/deliveries/d-o-1/release", "dan", {})
    delivery.call("PUT", "/me/status", "eve", {"online": True})  # eve is offered the delivery
    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200
    return deliver_late


@contextmanager
def external_topic_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Within the block order-esg's egress cannot publish (each publication raises
    :class:`PublishError`, as when the external topic is unavailable); every other function
    publishes as ever."""
    real = consumer.ConsumerRuntime._publish

    def external_down(
        self: consumer.ConsumerRuntime[Any], emitted: Sequence[tuple[Topic, Envelope]]
    ) -> None:
        if self.qualified == "delivery/order-esg/egress":
            raise PublishError("the external topic is unavailable")
        real(self, emitted)

    monkeypatch.setattr(consumer.ConsumerRuntime, "_publish", external_down)
    try:
        yield
    finally:
        monkeypatch.setattr(consumer.ConsumerRuntime, "_publish", real)


def picked_up_unpublished(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, *locations: dict[str, float]
) -> None:
    """dan takes o-1 (that is published), then picks it up and reports ``locations`` (each
    after the time he is followed at) while order-esg's egress cannot publish."""
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    with external_topic_down(monkeypatch):
        delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
        for location in locations:
            delivery.clock.advance(FOLLOW_EVERY_MS)
            delivery.call("PUT", "/me/location", "dan", location)
