"""dispatch-control: the sweep that frees a driver held by a stale reservation decides from a
delivery it read before; an offer try that reserved the same driver again and made its offer
meanwhile (another instance at work) must keep its reservation."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from delivery.dispatch_control.timeouts import STALE_RESERVATION_MS
from tests.delivery.conftest import MINUTE, Delivery


def test_an_offer_made_while_the_sweep_frees_its_drivers_stale_reservation_keeps_it(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN every try to offer o-1 died after reserving dan and before the offer, so his
    # reservation grew stale while o-1 kept searching
    delivery.driver("dan")
    update = delivery.store.update

    def offer_dies(collection: str, key: str, updater: Any) -> Any:
        if collection == "deliveries" and updater.__qualname__.startswith("_offer."):
            raise ConnectionError("the instance died between the two writes")
        return update(collection, key, updater)

    monkeypatch.setattr(delivery.store, "update", offer_dies)
    delivery.order("o-1", "accepted")
    monkeypatch.undo()
    delivery.system.advance(STALE_RESERVATION_MS - MINUTE)
    assert delivery.delivery("o-1")["status"] == "searching"

    # ... and, once the sweep has read dan and o-1, another instance's try offers o-1 to dan
    # (reserving him anew), before the sweep settles him
    def offer_meanwhile() -> None:
        delivery.store.update("deliveries", "d-o-1", lambda d: {**d, "nudgedBy": "elsewhere"})
        delivery.system.run_until_quiet()

    update, ran = delivery.store.update, []

    def interleaved(collection: str, key: str, updater: Any) -> Any:
        sweeping = any(f.function == "settle_stale_reservations" for f in inspect.stack())
        if collection == "dispatch-drivers" and sweeping and not ran:
            ran.append(key)
            offer_meanwhile()
        return update(collection, key, updater)

    monkeypatch.setattr(delivery.store, "update", interleaved)

    # WHEN the sweep runs
    delivery.system.advance(MINUTE)
    monkeypatch.undo()

    # THEN o-1 is offered to dan, and dan is reserved for it, so nothing else is offered to
    # him while he considers it
    assert ran == ["dan"]
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"
    dan = delivery.store.get("dispatch-drivers", "dan") or {}
    assert dan["offeredDeliveryId"] == "d-o-1"
    delivery.order("o-2", "accepted")
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]
