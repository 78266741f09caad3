"""Which paths a function's target answers, as Cloud Functions serves it.

Cloud Functions hands a function every path below its URL. Pub/Sub, Eventarc and Cloud
Scheduler post to the URL itself, so an event function answers any path alike; an HTTP
endpoint (a BFF, a webhook) routes the path in its own app, and one it has no route for is
the kit's JSON 404, never the framework's HTML page nor another route's answer.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from functions_framework import create_app
from werkzeug.test import Client

from shared.runtime import functions as function_hosts
from tests.unit.test_faults_command import MAIN, SETTINGS, Order


@pytest.fixture
def order_target(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Client]:
    """A client of one of Order's function targets, on an in-memory store and bus."""
    system = Order()
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        function_hosts, "adapters", lambda *_: (system.store, system.hub.publisher("order"))
    )
    return lambda target: Client(create_app(target=target, source=MAIN, signature_type="http"))


@pytest.mark.parametrize("path", ["/no/such/route", "/pos/callbacks/x", "/"])
def test_an_endpoint_answers_a_path_it_has_no_route_for_with_the_kits_json_404(
    order_target: Callable[[str], Client], path: str
) -> None:
    answer = order_target("pos_esg_webhook").post(path, json={})

    assert answer.status_code == 404
    assert answer.is_json  # application/json or application/problem+json, not HTML
    assert "no route for POST" in answer.get_data(as_text=True)


def test_an_event_function_answers_any_path_as_its_url(
    order_target: Callable[[str], Client],
) -> None:
    client = order_target("intake_esg_from_restaurant")

    at_root, below = client.post("/", json={}), client.post("/any/path", json={})

    assert at_root.status_code == below.status_code == 400  # no push request, either way
    assert at_root.get_data() == below.get_data()
