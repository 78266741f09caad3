"""driver-bff: an answer to an offer later than the one it holds of the delivery (the next
offer is on its way, and the push announcing it came first) is told to retry, as one to a
delivery none of whose offers arrived yet; past its expiry, or expiring later than any offer
made by now, it is no offer to wait for."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from delivery.driver_bff.offers import EXPIRED_UNHEARD, NOT_ARRIVED, NOT_MADE
from tests.delivery.conftest import MINUTE, START, Delivery, offered_o9
from tests.delivery.held import hold_event

if TYPE_CHECKING:
    from werkzeug.test import TestResponse


def accept(delivery: Delivery, expires_at: int, driver: str = "dan") -> TestResponse:
    return delivery.call("POST", f"/offers/d-o-9@{expires_at}/accept", driver)


def assert_told_to_retry(response: TestResponse) -> None:
    assert response.status_code == 404
    assert response.get_json()["error"] == NOT_ARRIVED
    assert response.headers["Retry-After"] == "1"


def test_an_accept_of_the_offer_made_again_before_it_arrives_is_told_to_retry(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan let o-1's offer run out, and dispatch offers it to him again; driver-bff heard
    # the withdrawal, not yet the new offer, which the push announced
    delivery.driver("dan")
    again = START + 5 * MINUTE
    arrives = hold_event(
        delivery, monkeypatch, "listener", "delivery-offered", lambda b: b["expiresAt"] == again
    )
    delivery.order("o-1", "accepted")
    delivery.system.advance(3 * MINUTE)  # taken back after the grace, and offered again
    assert delivery.delivery("o-1")["offer"] == {"driverId": "dan", "expiresAt": again}
    pushed = [m["data"]["offerId"] for m in delivery.push.to("driver", "dan")]
    assert pushed[-1] == f"d-o-1@{again}"
    profile = delivery.store.get("drivers", "dan")

    # WHEN he taps accept on it at once
    early = delivery.call("POST", f"/offers/{pushed[-1]}/accept", "dan")

    # THEN he is told it may not have arrived yet, not that it was withdrawn; nothing noted
    assert_told_to_retry(early)
    assert delivery.store.get("drivers", "dan") == profile
    assert delivery.bus("offer-accepted") == []

    # AND the same request, once the offer arrived, takes the delivery
    arrives()
    assert delivery.call("POST", f"/offers/{pushed[-1]}/accept", "dan").status_code == 200
    assert delivery.statuses() == [("assigned", "dan")]


@pytest.mark.parametrize(
    "held",
    [
        ["dan"],  # his own earlier offer, its end not heard yet
        ["eve"],  # another driver's, once refused as "not made to you"
        ["dan", "eve"],  # another driver's, dan's before it: once refused as withdrawn
    ],
)
def test_an_offer_later_than_the_one_held_is_waited_for_whoever_held_it(
    delivery: Delivery, held: list[str]
) -> None:
    # GIVEN driver-bff holds the delivery's offers to ``held``, the last still open
    delivery.driver("dan")
    delivery.driver("eve")
    for n, driver in enumerate(held, start=1):
        delivery.inject(offered_o9(START + n * MINUTE, timestamp=START + n, driver=driver))
    later = START + (len(held) + 1) * MINUTE
    delivery.clock.advance_to(later - 2 * MINUTE)  # when dispatch made the later offer
    profile = delivery.store.get("drivers", "dan")

    # WHEN dan accepts the later offer, made to him, before it arrives
    early = accept(delivery, later)

    # THEN he is told to retry, and nothing is noted
    assert_told_to_retry(early)
    assert delivery.store.get("drivers", "dan") == profile
    assert delivery.bus("offer-accepted") == []

    # AND once it arrives, the same request is taken
    delivery.inject(offered_o9(later, timestamp=START + len(held) + 1, driver="dan"))
    taken = accept(delivery, later)
    assert taken.status_code == 200
    assert taken.get_json()["status"] == "accepted"


@pytest.mark.parametrize("held", [False, True], ids=["none-held", "earlier-held"])
def test_an_offer_not_arrived_by_its_expiry_is_not_waited_for(
    delivery: Delivery, held: bool
) -> None:
    delivery.driver("dan")
    if held:
        delivery.inject(offered_o9(START + MINUTE, timestamp=START))
    later = START + 3 * MINUTE
    delivery.clock.advance_to(later)  # the later offer ran out before it arrived

    refused = accept(delivery, later)

    assert refused.status_code == 404
    assert refused.get_json()["error"] == EXPIRED_UNHEARD
    assert "Retry-After" not in refused.headers
    assert delivery.bus("offer-accepted") == []


def test_an_offer_expiring_later_than_any_made_by_now_is_no_offer_to_wait_for(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")

    refused = accept(delivery, START + 10 * MINUTE)

    assert refused.status_code == 404
    assert refused.get_json()["error"] == NOT_MADE
    assert "Retry-After" not in refused.headers


def test_an_offer_earlier_than_the_one_held_is_still_withdrawn(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.inject(offered_o9(START + MINUTE, timestamp=START))
    delivery.inject(offered_o9(START + 2 * MINUTE, timestamp=START + 1))

    refused = accept(delivery, START + MINUTE)

    assert refused.status_code == 409
    assert "Retry-After" not in refused.headers
