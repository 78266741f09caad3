"""The emulator benchmark's drivers take an offer their app does not show yet once it does."""

from __future__ import annotations

import concurrent.futures
import sys
import threading
import time
from typing import Any

import pytest

from scenario.actors import ApiError
from shared.paths import PROJECT_ROOT


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "benchmarks"))
    import orders_emulators

    yield orders_emulators
    sys.modules.pop("orders_emulators", None)


class Driver:
    """A driver app whose offers view learns of the offer after ``unknown_for`` tries."""

    def __init__(self, unknown_for: int) -> None:
        self.unknown_for, self.calls = unknown_for, []  # type: ignore[var-annotated]
        self.status = "offered"

    def accept(self, offer_id: str) -> None:
        self.calls.append(("accept", offer_id))
        if self.unknown_for:
            self.unknown_for -= 1
            raise ApiError("POST", f"/offers/{offer_id}/accept", 404, {"error": "no such offer"})
        self.status = "assigned"

    def deliveries(self) -> list[dict[str, Any]]:
        return [{"deliveryId": "d-1", "status": self.status}]

    def picked_up(self, delivery_id: str) -> None:
        self.status = "picked-up"

    def delivered(self, delivery_id: str) -> None:
        self.calls.append(("delivered", delivery_id))


def test_an_offer_the_app_does_not_know_yet_is_taken_once_it_does(bench: Any) -> None:
    driver = Driver(unknown_for=2)
    bench._deliver(driver, {"offerId": "o-1", "deliveryId": "d-1"}, every_s=0.01)
    assert driver.calls == [("accept", "o-1")] * 3 + [("delivered", "d-1")]


def test_an_offer_that_never_shows_is_given_up(bench: Any) -> None:
    driver = Driver(unknown_for=1000)
    with pytest.raises(ApiError):
        bench._deliver(driver, {"offerId": "o-1", "deliveryId": "d-1"}, 0.01, 0.1)


class Customer:
    """A customer app recording when its checkout request went out."""

    def __init__(self, status: str = "delivered") -> None:
        self.requested_at: float | None = None
        self.status = status

    def order(self, restaurant_id: str, lines: list[tuple[str, int]]) -> str:
        self.fill_cart(restaurant_id, lines)
        return self.checkout("key")

    def fill_cart(self, restaurant_id: str, lines: list[tuple[str, int]]) -> None:
        time.sleep(0.05)  # filling the cart is not part of the checkout

    def checkout(self, idempotency_key: str) -> str:
        self.requested_at = time.perf_counter()
        time.sleep(0.05)  # the answer takes a while
        return "o-1"

    def track(self, order_id: str) -> dict[str, Any]:
        return {"status": self.status}


def _bench(bench: Any, customers: list[Any]) -> Any:
    made = object.__new__(bench.Bench)
    made.customers, made.customer_of = customers, {}
    made.checkout_sent, made.delivered_seen = {}, {}
    made.pool = concurrent.futures.ThreadPoolExecutor(2)
    made.done = threading.Event()
    return made


def test_the_latency_clock_starts_when_the_checkout_request_is_sent(bench: Any) -> None:
    customer = Customer()
    made = _bench(bench, [customer])

    made.checkout(0)

    assert customer.requested_at is not None
    assert customer.requested_at - 0.01 < made.checkout_sent["o-1"] <= customer.requested_at
    assert made.customer_of == {"o-1": customer}


def test_the_latency_clock_stops_when_the_tracking_view_first_shows_the_delivery(
    bench: Any,
) -> None:
    customer = Customer(status="picked-up")
    made = _bench(bench, [customer])
    made.customer_of = {"o-1": customer}

    assert made.statuses() == {"o-1": "picked-up"}
    assert made.delivered_seen == {}
    customer.status = "delivered"
    before = time.perf_counter()
    assert made.statuses() == {"o-1": "delivered"}
    seen = made.delivered_seen["o-1"]
    assert before <= seen <= time.perf_counter()
    made.statuses()
    assert made.delivered_seen == {"o-1": seen}  # the first sighting, not the latest


def test_drivers_act_on_their_offers_in_daemon_threads(bench: Any) -> None:
    made = _bench(bench, [])
    daemons: list[bool] = []

    class Phone:
        def accept(self, offer_id: str) -> None:
            daemons.append(threading.current_thread().daemon)
            made.done.set()
            raise ApiError("POST", f"/offers/{offer_id}/accept", 409, {"error": "taken"})

    class Stack:
        def driver_messages(self) -> list[dict[str, Any]]:
            offer = {"expiresAt": 1, "offerId": "o-1", "deliveryId": "d-1"}
            return [{"id": "m-1", "to": {"id": "drv"}, "data": offer}]

    made.stack, made.driver_by_id = Stack(), {"drv": Phone()}
    made.dispatch()
    for _ in range(100):
        if daemons:
            break
        time.sleep(0.05)

    assert daemons == [True]  # an interrupted run does not wait for the drivers
