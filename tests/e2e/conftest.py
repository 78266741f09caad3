"""The whole system embedded, every HTTP surface served on 127.0.0.1.

Every answer a BFF gives in these tests is checked against the OpenAPI document it
serves (:mod:`tests.e2e.conformance`): a test during which one broke it fails at its
teardown, listing each undocumented status and each body its schema does not admit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scenario.actors import CustomerApp, DriverApp, PosTerminal, StaffApp, tokens
from scenario.seed import RESTAURANTS
from scenario.stack import EmbeddedStack
from shared.runtime.embedded import EmbeddedSystem
from tests.e2e.conformance import Conformance, report


@pytest.fixture(scope="session", autouse=True)
def conformance() -> Iterator[Conformance]:
    """Watches every app the embedded systems serve, all session long."""
    watcher = Conformance()
    serve = EmbeddedSystem.serve

    def watched(self: EmbeddedSystem, subsystem: str, target: str) -> Any:
        return watcher.watch(serve(self, subsystem, target))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EmbeddedSystem, "serve", watched)
        yield watcher


@pytest.fixture(autouse=True)
def conforming_answers(conformance: Conformance) -> Iterator[None]:
    """Fails the test if a BFF answered it (or a fixture it uses) against its document."""
    yield
    problems = conformance.take_problems()
    if problems:
        pytest.fail(report(problems), pytrace=False)


@pytest.fixture
def stack(tmp_path) -> Iterator[EmbeddedStack]:
    stack = EmbeddedStack(dev_key=tmp_path / "dev-key.pem", served=True)
    try:
        yield stack
    finally:
        stack.close()


class World:
    """Restaurants published, a customer signed up; apps for every actor."""

    def __init__(self, stack: EmbeddedStack) -> None:
        self.stack = stack
        self.mint = tokens(stack.issuer)
        self.staff = {
            r.id: StaffApp(stack.session, stack.urls, self.mint("staff", f"sam-{r.id}", r.id), r.id)
            for r in RESTAURANTS
        }
        for r in RESTAURANTS:
            self.staff[r.id].publish(r.profile(), r.menu())
        self.pos = PosTerminal(stack.session, stack.urls)
        self.alice = self.customer("alice")
        stack.settle()

    def customer(self, name: str, payment_token: str = "pm_card_visa") -> CustomerApp:
        app = CustomerApp(self.stack.session, self.stack.urls, self.mint("customer", name))
        address = {
            "street": "Bergmannstraße 5",
            "city": "Berlin",
            "postcode": "10961",
            "lat": 52.49,
            "lng": 13.39,
        }
        app.sign_up(name.title(), address, payment_token)
        self.stack.settle()
        return app

    def driver(self, name: str, online: bool = True) -> DriverApp:
        app = DriverApp(self.stack.session, self.stack.urls, self.mint("driver", name))
        app.sign_up(name.title())
        if online:
            app.go_online(52.52, 13.40)
        self.stack.settle()
        return app


@pytest.fixture
def world(stack: EmbeddedStack) -> World:
    return World(stack)
