"""dispatch-control hearing a driver's ``driver-updated`` late (delayed or redelivered): one
back online is offered a delivery they declined once its cool-down has passed by dispatch's
clock, not by the time the event says they came back; one gone offline let their offer go
when they did, not when dispatch heard it, so an offer they let go in time is no miss."""

from __future__ import annotations

import pytest

from delivery.dispatch_control.records import DECLINE_COOL_DOWN_MS as COOL_DOWN
from delivery.dispatch_control.records import OFFER_TIMEOUT_MS
from tests.delivery.conftest import MINUTE, NEAR, START, Delivery
from tests.delivery.held import hold_event


def test_a_driver_heard_back_online_after_the_cool_down_is_offered_what_they_declined(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan, the only driver, declines o-1 at START and goes offline; he comes back a
    # minute before his cool-down ends, and dispatch hears of it only two minutes later,
    # before any sweep ran
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200
    back = hold_event(delivery, monkeypatch, "collector", "driver-updated", lambda b: b["online"])
    delivery.clock.advance(COOL_DOWN - MINUTE)
    assert delivery.call("PUT", "/me/status", "dan", {"online": True}).status_code == 200
    delivery.clock.advance(2 * MINUTE)
    assert (delivery.delivery("o-1")["status"], len(delivery.bus("delivery-offered"))) == (
        "searching",
        1,
    )

    # WHEN dispatch hears it
    back()

    # THEN the delivery goes to him at once: his cool-down has passed by dispatch's clock
    heard_at = START + COOL_DOWN + MINUTE
    assert delivery.delivery("o-1")["offer"] == {
        "driverId": "dan",
        "expiresAt": heard_at + OFFER_TIMEOUT_MS,
    }


def test_a_driver_heard_offline_after_their_offer_ran_out_let_it_go_and_missed_nothing(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan, offered o-1 at START, goes offline a minute later, and dispatch hears of it
    # only once the offer's expiry has passed, before any sweep took it back
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    gone = hold_event(
        delivery, monkeypatch, "collector", "driver-updated", lambda b: not b["online"]
    )
    delivery.clock.advance(MINUTE)
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200
    delivery.clock.advance(OFFER_TIMEOUT_MS)

    # WHEN dispatch hears it
    gone()

    # THEN the offer is let go as of when he went offline: before it ran out, no miss
    assert delivery.bus("driver-missed-offers") == []
    assert (delivery.delivery("o-1")["status"], delivery.delivery("o-1")["changedAt"]) == (
        "searching",
        START + MINUTE,
    )
