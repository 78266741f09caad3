"""driver-bff: an offer whose order it heard cancelled is over, before dispatch's withdrawal
arrives (the two come on separate events): it is not listed, and an answer to it is refused
as withdrawn."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.driver_bff.offers import ORDER_CANCELLED
from tests.delivery.held import hold_event

if TYPE_CHECKING:
    import pytest

    from tests.delivery.conftest import Delivery


def test_an_offer_of_an_order_heard_cancelled_is_neither_listed_nor_taken(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan's offer of o-1, whose order is cancelled; the withdrawal has not arrived yet
    delivery.driver("dan")
    withdrawal_arrives = hold_event(delivery, monkeypatch, "listener", "offer-withdrawn")
    delivery.order("o-1", "accepted")
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]
    delivery.order("o-1", "cancelled", reason="customer", deliveryAddress=None)
    offer = delivery.store.get("driver-offers", "d-o-1")
    assert offer is not None and offer["status"] == "open"

    # THEN the app no longer lists it, and taking it is refused as withdrawn
    assert delivery.offers("dan") == []
    for verdict in ("accept", "decline"):
        refused = delivery.answer("d-o-1", verdict, "dan")
        assert refused.status_code == 409
        assert refused.get_json()["error"] == ORDER_CANCELLED
    assert delivery.bus("offer-accepted") == delivery.bus("offer-declined") == []
    dan = delivery.store.get("drivers", "dan")
    assert dan is not None and dan.get("acceptingOfferId") is None

    # AND dan may go offline, and the withdrawal, once in, closes the offer
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200
    withdrawal_arrives()
    offer = delivery.store.get("driver-offers", "d-o-1")
    assert offer is not None and offer["status"] == "withdrawn"
