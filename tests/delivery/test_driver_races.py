"""driver-bff: what a driver's app does while dispatch's decisions are on their way."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.driver_bff.offers import ACCEPT_LANDS_WITHIN_MS
from shared.stores import Where
from tests.delivery.conftest import FAR, MINUTE, NEAR, START, Delivery, offered_o9, withdrawn_o9
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


def offline_as_an_accept_lands(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, after_expiry_ms: int
) -> tuple[int, int]:
    """dan begins accepting o-1's offer just before it expires; before his answer is written,
    the clock passes the expiry by ``after_expiry_ms`` and his app asks to go offline. The
    status codes of the accept and of the offline."""
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    expires_at = delivery.delivery("o-1")["offer"]["expiresAt"]
    delivery.clock.advance_to(expires_at - 1)
    update, offline = delivery.store.update, []

    def go_offline_meanwhile(collection: str, key: str, updater: Any) -> Any:
        if collection == "driver-offers" and not offline:
            delivery.clock.advance_to(expires_at + after_expiry_ms)
            headers = delivery.headers("dan")
            offline.append(
                delivery.client.put("/me/status", json={"online": False}, headers=headers)
            )
        return update(collection, key, updater)

    monkeypatch.setattr(delivery.store, "update", go_offline_meanwhile)
    accepted = delivery.client.post(
        f"/offers/{delivery.offer_id('d-o-1')}/accept", headers=delivery.headers("dan")
    )
    monkeypatch.undo()
    delivery.system.run_until_quiet()
    return accepted.status_code, offline[0].status_code


def test_going_offline_as_an_accept_begun_before_the_expiry_lands_is_refused(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan's accept, begun in time, is written just after the offer expired, and he asks
    # to go offline in between
    accepted, offline = offline_as_an_accept_lands(delivery, monkeypatch, 1_000)

    # THEN the accept stands and the offline is refused: never assigned while offline
    assert (accepted, offline) == (200, 409)
    assert delivery.call("GET", "/me", "dan").get_json()["online"] is True
    found = delivery.delivery("o-1")
    assert (found["status"], found["driver"]["id"]) == ("assigned", "dan")


def test_an_accept_that_would_land_too_long_after_the_expiry_is_refused(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan's accept, begun in time, would be written ACCEPT_LANDS_WITHIN_MS after the
    # offer expired, once his request to go offline no longer waited for it
    accepted, offline = offline_as_an_accept_lands(delivery, monkeypatch, ACCEPT_LANDS_WITHIN_MS)

    # THEN he is offline and the accept is refused: dispatch never hears of it
    assert (accepted, offline) == (409, 200)
    assert delivery.call("GET", "/me", "dan").get_json()["online"] is False
    assert delivery.bus("offer-accepted") == []
    assert delivery.delivery("o-1")["status"] != "assigned"


def test_an_offer_heard_after_the_next_drivers_offer_of_its_millisecond_stays_closed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN o-1 is offered to dan, who goes offline, so it goes to eve, all in one millisecond
    # (one expiry for both offers), and dan's offer reaches the driver app last
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    deliver_late = hold_event(
        delivery, monkeypatch, "listener", "delivery-offered", lambda b: b["driverId"] == "dan"
    )
    delivery.order("o-1", "accepted")
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"

    deliver_late()

    # THEN eve's offer stays hers, and she takes the delivery
    [offer] = delivery.offers("eve")
    assert delivery.call("POST", f"/offers/{offer['offerId']}/accept", "eve").status_code == 200
    assert delivery.delivery("o-1")["driver"] == {"id": "eve", "name": "Eve"}
    assert delivery.call("GET", "/deliveries/d-o-1", "eve").get_json()["status"] == "assigned"


def test_a_withdrawal_heard_after_the_same_drivers_next_offer_of_its_millisecond_leaves_it_open(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan goes offline holding o-1's offer and online again, and is offered it again,
    # all in one millisecond (one expiry for both offers); the withdrawal reaches his app last
    delivery.driver("dan")
    deliver_late = hold_event(delivery, monkeypatch, "listener", "offer-withdrawn")
    delivery.order("o-1", "accepted")
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200
    assert delivery.call("PUT", "/me/status", "dan", {"online": True}).status_code == 200
    assert len(delivery.bus("delivery-offered")) == 2

    deliver_late()

    # THEN the offer open to him is the second one, and he takes the delivery
    [offer] = delivery.offers("dan")
    assert delivery.call("POST", f"/offers/{offer['offerId']}/accept", "dan").status_code == 200
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "assigned"
