"""Actors on a live stack: restaurants published, a customer and a driver signed up."""

from __future__ import annotations

import uuid

from devstack.live import LiveStack
from scenario.actors import CustomerApp, DriverApp, StaffApp, tokens
from scenario.seed import RESTAURANTS

TRATTORIA = "trattoria-roma"
ADDRESS = {
    "street": "Bergmannstraße 5",
    "city": "Berlin",
    "postcode": "10961",
    "lat": 52.49,
    "lng": 13.39,
}


class World:
    """Fresh actors (unique names per world), seeded through the BFF APIs."""

    def __init__(self, stack: LiveStack) -> None:
        self.stack = stack
        self.mint = tokens(stack.issuer)
        self.tag = uuid.uuid4().hex[:6]
        self.staff = {
            r.id: StaffApp(stack.session, stack.urls, self.mint("staff", f"sam-{r.id}", r.id), r.id)
            for r in RESTAURANTS
        }
        for r in RESTAURANTS:
            self.staff[r.id].publish(r.profile(), r.menu())
        stack.settle()

    def customer(self, name: str) -> CustomerApp:
        app = CustomerApp(
            self.stack.session, self.stack.urls, self.mint("customer", f"{name}-{self.tag}")
        )
        app.sign_up(name.title(), ADDRESS, "pm_card_visa")
        self.stack.settle()  # checkout reads the account from its own view, fed by events
        return app

    def driver(self, name: str) -> DriverApp:
        app = DriverApp(
            self.stack.session, self.stack.urls, self.mint("driver", f"{name}-{self.tag}")
        )
        app.sign_up(name.title())
        app.go_online(52.52, 13.40)
        self.stack.settle()
        return app
