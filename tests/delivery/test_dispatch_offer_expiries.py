"""dispatch-control: each offer of a delivery expires later than the one before, even when
made in the same millisecond (a decline, its withdrawal and the next offer), so an offer's id
(its delivery and expiry) names it alone: driver-bff tells the next driver's offer, not heard
yet, from the one it holds, and has them retry rather than refusing them as someone else's."""

from __future__ import annotations

import pytest

from delivery.driver_bff.offers import NOT_ARRIVED
from tests.delivery.conftest import FAR, MINUTE, NEAR, START, Delivery
from tests.delivery.held import hold_event


def test_the_next_offer_made_in_the_millisecond_of_a_decline_is_told_to_retry_until_it_arrives(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan declines o-1 and dispatch offers it to eve in the same millisecond;
    # driver-bff has not heard eve's offer yet, which the push announced
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    arrives = hold_event(
        delivery, monkeypatch, "listener", "delivery-offered", lambda b: b["driverId"] == "eve"
    )
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    expiries = [o["expiresAt"] for o in delivery.bus("delivery-offered")]
    assert expiries[0] == START + 2 * MINUTE
    assert expiries[1] > expiries[0]
    [*_, pushed] = [m["data"]["offerId"] for m in delivery.push.to("driver", "eve")]

    # WHEN eve taps accept on it at once
    early = delivery.call("POST", f"/offers/{pushed}/accept", "eve")

    # THEN she is told it may not have arrived yet, not that it is not hers
    assert (early.status_code, early.get_json()["error"]) == (404, NOT_ARRIVED)
    assert early.headers["Retry-After"] == "1"

    # AND the same request, once the offer arrived, takes the delivery
    arrives()
    assert delivery.call("POST", f"/offers/{pushed}/accept", "eve").status_code == 200
    assert delivery.statuses() == [("assigned", "eve")]
