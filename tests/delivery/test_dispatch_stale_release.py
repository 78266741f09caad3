"""Dispatch's collector handling a driver's going offline twice at once (a redelivery at the
first handling's ack deadline): the stalled handling, resuming with the driver it read offline,
leaves standing the offer made to them once they came back online."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.dispatch_control import drivers
from delivery.dispatch_control.records import release
from delivery.events import offer_id_of
from shared.topology import Topic
from tests.delivery.conftest import Delivery


def test_a_stale_release_leaves_the_offer_made_once_the_driver_was_back_online(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan, the only driver near, is offered o-1
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    first = delivery.delivery("o-1")["offer"]
    assert first["driverId"] == "dan"

    # WHEN dan goes offline: handling A of his driver-updated reads him (offline, reserved for
    # d-o-1) and stalls just before it releases him ...
    read_by_a: list[dict[str, Any]] = []

    def a_reads_the_driver(store: Any, driver: dict[str, Any], now_ms: int) -> None:
        if not read_by_a and not driver["online"]:
            assert driver["id"] == "dan" and driver["offeredDeliveryId"] == "d-o-1"
            read_by_a.append(driver)
        release(store, driver, now_ms)

    monkeypatch.setattr(drivers, "release", a_reads_the_driver)
    delivery.clock.advance(1_000)
    delivery.call("PUT", "/me/status", "dan", {"online": False})
    updates = delivery.events_on(Topic.BUS, "driver-updated")
    offline = [update for update in updates if not update.body["online"]][-1]
    # ... A' (the redelivery, which ran to its end here) released him: the offer went as missed
    assert delivery.delivery("o-1")["status"] == "searching"

    # ... and dan came back online, and was offered o-1 again (nobody else is near)
    delivery.clock.advance(1_000)
    delivery.call("PUT", "/me/status", "dan", {"online": True})
    again = delivery.delivery("o-1")["offer"]
    assert again["driverId"] == "dan" and again["expiresAt"] > first["expiresAt"]

    # THEN A, resuming with the driver it read, leaves that new offer standing
    [stale] = read_by_a
    release(delivery.store, stale, offline.timestamp)  # the rest of A: keep_driver's release
    delivery.system.run_until_quiet()

    withdrawn = delivery.bus("offer-withdrawn")
    assert [w for w in withdrawn if w["expiresAt"] == again["expiresAt"]] == []
    assert delivery.delivery("o-1")["status"] == "offered"
    assert delivery.delivery("o-1")["offer"] == again
    # dan's app still shows the offer he was made, which he may be accepting right now
    standing = offer_id_of("d-o-1", again["expiresAt"])
    assert [offer["offerId"] for offer in delivery.offers("dan")] == [standing]
