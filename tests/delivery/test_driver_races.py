"""driver-bff: what a driver's app does while dispatch's decisions are on their way."""

from __future__ import annotations

from typing import Any

import pytest

from shared.stores import Where
from tests.delivery.conftest import MINUTE, START, Delivery, offered_o9, withdrawn_o9
from tests.delivery.held import hold_event


def test_going_offline_as_the_assignment_arrives_is_refused(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan accepted o-1's offer, and its assignment reaches his app while his request to
    # go offline is being checked
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    deliver_assignment = hold_event(delivery, monkeypatch, "listener", "delivery-assigned")
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    query = delivery.store.query

    def assigned_meanwhile(collection: str, where: Any = (), **options: Any) -> Any:
        if collection == "driver-offers" and Where("status", "==", "accepted") in where:
            deliver_assignment()
        return query(collection, where, **options)

    monkeypatch.setattr(delivery.store, "query", assigned_meanwhile)
    offline = delivery.call("PUT", "/me/status", "dan", {"online": False})
    monkeypatch.undo()

    # THEN he stays online: he has a delivery to pick up
    assert offline.status_code == 409
    assert delivery.call("GET", "/me", "dan").get_json()["online"] is True
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "assigned"


def test_an_offer_withdrawn_in_the_millisecond_it_was_made_stays_withdrawn(
    delivery: Delivery,
) -> None:
    expires_at = START + 2 * MINUTE
    offered = offered_o9(expires_at, timestamp=START)
    # the order was cancelled as the offer was written
    withdrawn = withdrawn_o9(expires_at, timestamp=START)
    delivery.driver("dan")

    delivery.inject(withdrawn)
    delivery.inject(offered)

    assert delivery.offers("dan") == []
    assert delivery.answer("d-o-9", "accept", "dan").status_code == 409
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200
