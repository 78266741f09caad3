"""The emulator benchmark's drivers take an offer their app does not show yet once it does."""

from __future__ import annotations

import sys
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
