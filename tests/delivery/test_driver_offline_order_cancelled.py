"""driver-bff: a driver who accepted an offer whose order it has since heard cancelled may go
offline at once, without waiting for dispatch's answer (the assignment or the withdrawal): the
delivery is over for them, whichever dispatch hears first, the accept or the cancellation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from delivery.driver_bff.offers import ORDER_CANCELLED
from tests.delivery.held import before_update, hold_event

if TYPE_CHECKING:
    from tests.delivery.conftest import Delivery


CANCELLATION = ("order-updated", lambda order: order["status"] == "cancelled")
HEARD_FIRST = {
    # dispatch assigns o-1 to dan, and hears the cancellation after he went offline
    "the accept": [("collector", *CANCELLATION), ("listener", "delivery-assigned", None)],
    # dispatch cancels o-1 still offered, and hears dan's accept after he went offline
    "the cancellation": [
        ("collector", "offer-accepted", None),
        ("listener", "offer-withdrawn", None),
    ],
}


@pytest.mark.parametrize("dispatch_hears_first", HEARD_FIRST)
def test_a_driver_whose_accepted_offer_was_cancelled_may_go_offline_before_dispatch_answers(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, dispatch_hears_first: str
) -> None:
    # GIVEN dan accepts o-1's offer and the order is cancelled; driver-bff heard the
    # cancellation, and dispatch's answer to the accept has not reached it
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    held = [
        hold_event(delivery, monkeypatch, function, event_type, *([when] if when else []))
        for function, event_type, when in HEARD_FIRST[dispatch_hears_first]
    ]
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    delivery.order("o-1", "cancelled", reason="customer", deliveryAddress=None)

    # WHEN dan goes offline
    went_offline = delivery.call("PUT", "/me/status", "dan", {"online": False})

    # THEN he may
    assert went_offline.status_code == 200, went_offline.get_json()
    assert went_offline.get_json()["online"] is False

    # AND once the events held arrive, the delivery is cancelled and dan holds nothing
    for arrives in held:
        arrives()
    assert delivery.delivery("o-1")["status"] == "cancelled"
    dan = delivery.store.get("dispatch-drivers", "dan")
    assert dan is not None
    assert (dan["online"], dan["deliveryId"], dan["offeredDeliveryId"]) == (False, None, None)
    kept = delivery.store.get("driver-deliveries", "d-o-1")
    assert kept is None or kept["status"] == "cancelled"
    assert delivery.faults() == []


def test_a_driver_whose_accept_the_cancellation_refused_may_go_offline_before_the_withdrawal(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan begins to accept o-1's offer, and driver-bff hears the order cancelled just
    # before the accept is written, which refuses it; the withdrawal has not arrived
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    withdrawal_arrives = hold_event(delivery, monkeypatch, "listener", "offer-withdrawn")

    def cancelled() -> None:
        delivery.order("o-1", "cancelled", reason="customer", deliveryAddress=None)

    accept = "register.<locals>.reply.<locals>.updater"
    before_update(delivery, monkeypatch, "driver-offers", accept, cancelled)
    refused = delivery.answer("d-o-1", "accept", "dan")
    assert (refused.status_code, refused.get_json()["error"]) == (409, ORDER_CANCELLED)

    # WHEN dan goes offline, THEN he may: no accept of it can be written any more
    went_offline = delivery.call("PUT", "/me/status", "dan", {"online": False})
    assert went_offline.status_code == 200, went_offline.get_json()

    withdrawal_arrives()
    offer = delivery.store.get("driver-offers", "d-o-1")
    assert offer is not None and offer["status"] == "withdrawn"
    assert delivery.bus("offer-accepted") == []
