"""The restaurant subsystem on its own, with a manual clock and staff tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from restaurant.topology import APP
from shared.auth import Principal
from shared.clock import ManualClock
from shared.envelope import Envelope, new_event
from shared.runtime.standalone import StandaloneSubsystem
from shared.topology import Topic

if TYPE_CHECKING:
    from pathlib import Path

    from flask.testing import FlaskClient

START = 1_767_225_600_000
ANSWER_MS = 10 * 60_000
"""How long Order gives a restaurant to answer a placed order (its ``answerBy``)."""

PROFILE: dict[str, Any] = {
    "name": "Trattoria Roma",
    "cuisine": "italian",
    "address": {
        "street": "Torstraße 1",
        "city": "Berlin",
        "postcode": "10115",
        "lat": 52.5291,
        "lng": 13.401,
    },
    "open": True,
    "ordering": "kitchen",
    "deliveryRadiusM": 5000,
}

MENU_ITEMS: list[dict[str, Any]] = [
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
        "description": "",
        "price": 650,
        "currency": "EUR",
        "available": False,
    },
]


class Restaurant(StandaloneSubsystem):
    """The subsystem running standalone, with what tests need to drive and observe it."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(APP, clock=ManualClock(START), dev_key=tmp_path / "key.pem")

    @property
    def events(self) -> dict[Topic, list[Envelope]]:
        """The events published on the bus and the external topic."""
        return {topic: self.events_on(topic) for topic in (Topic.BUS, Topic.EXTERNAL)}

    def client(self, service: str) -> FlaskClient:
        """A test client of ``service``'s API endpoint."""
        return self.api(service)

    def staff(self, restaurant: str = "r-1") -> dict[str, str]:
        """Headers of a staff member of ``restaurant``."""
        return self.bearer(Principal("staff", f"sam-{restaurant}", restaurant))

    def bus(self, *types: str) -> list[Envelope]:
        """Internal events published so far, of the given types."""
        return self.events_on(Topic.BUS, *types)

    def external(self, *types: str) -> list[Envelope]:
        """External events published so far, of the given types."""
        return self.events_on(Topic.EXTERNAL, *types)

    def open_restaurant(self, restaurant: str = "r-1", **changes: Any) -> None:
        """Save a profile through the API and deliver what follows."""
        response = self.client("profile-bff").put(
            f"/restaurants/{restaurant}",
            json={**PROFILE, **changes},
            headers=self.staff(restaurant),
        )
        assert response.status_code == 200, response.get_json()
        self.system.run_until_quiet()

    def order_status(
        self, order_id: str = "o-1", status: str = "placed", restaurant: str = "r-1", **changes: Any
    ) -> Envelope:
        """An ``order.order-status-changed`` event as the Order subsystem publishes it.

        Without ``ordering`` unless ``changes`` give it, as a producer from before that
        field published it: the kitchen then goes by the ordering it last heard of. A placed
        order may be answered for :data:`ANSWER_MS` from now.
        """
        body = {
            "id": order_id,
            "customerRef": "cref-1",
            "restaurant": {
                "id": restaurant,
                "name": "Trattoria Roma",
                "address": PROFILE["address"],
            },
            "items": [
                {
                    "menuItemId": "margherita",
                    "name": "Pizza Margherita",
                    "quantity": 2,
                    "price": 950,
                }
            ],
            "total": 1900,
            "currency": "EUR",
            "status": status,
            "answerBy": self.clock.now_ms() + ANSWER_MS if status == "placed" else None,
            "changedAt": self.clock.now_ms(),
            **changes,
        }
        return new_event(
            "order.order-status-changed",
            "order",
            body,
            partition_key=order_id,
            tags={
                "source": "status-esg",
                "subsystem": "order",
                "schemaVersion": "1",
                "status": body["status"],
            },
            timestamp=self.clock.now_ms(),
        )

    def receive(self, *events: Envelope) -> None:
        """Deliver events on the Order subsystem's external topic, and what follows."""
        self.send("order", *events)

    def emit_internal(
        self,
        type: str,
        entity: str,
        body: dict[str, Any],
        key: str,
        timestamp: int | None = None,
    ) -> Envelope:
        """Publish an internal event on the subsystem's own bus, and deliver what follows."""
        when = self.clock.now_ms() if timestamp is None else timestamp
        event = new_event(type, entity, body, partition_key=key, timestamp=when)
        self.send("restaurant", event)
        return event


@pytest.fixture
def restaurant(tmp_path: Path) -> Restaurant:
    """The restaurant subsystem, running standalone."""
    return Restaurant(tmp_path)
