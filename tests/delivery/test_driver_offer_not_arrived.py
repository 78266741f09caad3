"""driver-bff: an accept of a pushed offer its listener has not heard yet is a 404 that says
the offer may not have arrived, with ``Retry-After``; the same request succeeds once it has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.driver_bff.offers import NOT_ARRIVED
from tests.delivery.held import hold_event
from tests.problems import refusal

if TYPE_CHECKING:
    import pytest

    from tests.delivery.conftest import Delivery


def test_an_accept_that_overtakes_its_offer_is_told_to_retry_and_then_taken(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan is pushed an offer driver-bff's listener has not heard yet
    offer_arrives = hold_event(delivery, monkeypatch, "listener", "delivery-offered")
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    [pushed] = [m["data"] for m in delivery.push.to("driver", "dan") if "offerId" in m["data"]]

    # WHEN he taps accept at once
    early = delivery.call("POST", f"/offers/{pushed['offerId']}/accept", "dan")

    # THEN he is told it may not have arrived yet, and when to try again; nothing is noted
    assert early.status_code == 404
    assert refusal(early) == {"error": NOT_ARRIVED}
    assert early.headers["Retry-After"] == "1"
    dan = delivery.store.get("drivers", "dan")
    assert dan is not None and "acceptingOfferId" not in dan
    assert delivery.bus("offer-accepted") == []

    # AND the same request, sent again once the offer arrived, is taken
    offer_arrives()
    again = delivery.call("POST", f"/offers/{pushed['offerId']}/accept", "dan")
    assert again.status_code == 200
    assert again.get_json()["status"] == "accepted"


def test_a_malformed_offer_id_is_a_404_without_retry_after(delivery: Delivery) -> None:
    delivery.driver("dan")

    refused = delivery.call("POST", "/offers/d-nope/accept", "dan")

    assert refused.status_code == 404
    assert "Retry-After" not in refused.headers


def test_the_openapi_documents_the_retry_after_of_an_offer_not_arrived(
    delivery: Delivery,
) -> None:
    document = delivery.call("GET", "/openapi.json", "dan").get_json()

    for verdict in ("accept", "decline"):
        operation = document["paths"][f"/offers/{{offer_id}}/{verdict}"]["post"]
        described = operation["responses"]["404"]["description"]
        assert "may not have arrived yet" in described
        assert "`Retry-After: 1`" in described
