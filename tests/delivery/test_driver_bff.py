"""driver-bff: profile, availability, offers and deliveries, as the driver's app sees them."""

from __future__ import annotations

from typing import Any

import pytest

from shared.envelope import Envelope, new_event
from shared.topology import Topic
from tests.delivery.conftest import (
    FAR,
    FURTHER,
    HOME,
    MINUTE,
    NEAR,
    RESTAURANT,
    START,
    Delivery,
    accepted_then_cancelled_unannounced,
    hold_change,
    offer_then_accept,
    offered_o9,
    order_event,
    withdrawn_o9,
)
from tests.delivery.held import hold_event

AREA = {"city": HOME["city"], "postcode": HOME["postcode"]}
OFFERED_AREA = {**AREA, "distanceM": 1162}
"""What an open offer shows of ``HOME``: its area, and how far it is from ``RESTAURANT``."""
OFFER_AT = START + 2 * MINUTE
"""When o-1's delivery's first offer, made at ``START``, expires."""
OFFER = f"d-o-1@{OFFER_AT}"
"""That offer's id."""

# -- profile -------------------------------------------------------------------------------


def test_a_driver_creates_and_reads_their_profile(delivery: Delivery) -> None:
    assert delivery.call("GET", "/me", "dan").status_code == 404

    created = delivery.call("PUT", "/me", "dan", {"name": "Dan Driver", "vehicle": "scooter"})

    expected = {
        "id": "dan",
        "name": "Dan Driver",
        "vehicle": "scooter",
        "online": False,
        "location": None,
        "offlineReason": None,
    }
    assert created.status_code == 200
    assert created.get_json() == expected
    assert delivery.call("GET", "/me", "dan").get_json() == expected


def test_changing_the_profile_keeps_availability_and_position(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)

    changed = delivery.call("PUT", "/me", "dan", {"name": "Daniel", "vehicle": "car"})

    assert changed.get_json() == {
        "id": "dan",
        "name": "Daniel",
        "vehicle": "car",
        "online": True,
        "location": NEAR,
        "offlineReason": None,
    }


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/me", {"name": "", "vehicle": "bike"}, "name"),
        ("/me", {"name": "x" * 81, "vehicle": "bike"}, "name"),
        ("/me", {"name": "Dan\x1b[2J", "vehicle": "bike"}, "name"),
        ("/me", {"name": "Dan\nSmith", "vehicle": "bike"}, "name"),
        ("/me", {"name": "\u200b", "vehicle": "bike"}, "name"),
        ("/me", {"name": "Dan\u2028Smith", "vehicle": "bike"}, "name"),
        ("/me", {"name": "Dan\u202e", "vehicle": "bike"}, "name"),
        ("/me", {"name": "Dan", "vehicle": "truck"}, "vehicle"),
        ("/me", {"name": "Dan", "vehicle": "bike", "rating": 5}, "rating"),
        ("/me/status", {"online": "yes"}, "online"),
        ("/me/location", {"lat": 91, "lng": 0}, "lat"),
        ("/me/location", {"lat": True, "lng": 0}, "lat"),
        ("/me/location", {"lat": 52.5, "lng": "13.4"}, "lng"),
        ("/me/location", {"lat": 0}, "lng"),
        ("/me/location", {**NEAR, "reportedAt": "1767225600000"}, "reportedAt"),
        ("/me/location", {**NEAR, "reportedAt": -1}, "reportedAt"),
        ("/me/location", {**NEAR, "reportedAt": 2**63}, "reportedAt"),
    ],
)
def test_bad_input_gets_400_naming_the_field(
    delivery: Delivery, path: str, body: dict[str, Any], field: str
) -> None:
    delivery.driver("dan")

    response = delivery.call("PUT", path, "dan", body)

    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert delivery.call("GET", "/me", "dan").get_json()["name"] == "Dan"


def test_without_a_token_the_api_answers_401(delivery: Delivery) -> None:
    response = delivery.client.get("/me")

    assert response.status_code == 401


def test_a_customer_may_not_use_the_driver_api(delivery: Delivery) -> None:
    response = delivery.client.put(
        "/me", json={"name": "Al", "vehicle": "car"}, headers=delivery.headers("al", "customer")
    )

    assert response.status_code == 403
    assert delivery.store.get("drivers", "al") is None


# -- availability ----------------------------------------------------------------------------


def test_status_and_location_need_a_profile(delivery: Delivery) -> None:
    assert delivery.call("PUT", "/me/status", "dan", {"online": True}).status_code == 409
    assert delivery.call("PUT", "/me/location", "dan", NEAR).status_code == 409
    assert delivery.store.get("drivers", "dan") is None


def test_a_driver_reports_where_they_are_and_goes_online(delivery: Delivery) -> None:
    delivery.driver("dan", at=None, online=False)

    located = delivery.call("PUT", "/me/location", "dan", {"lat": 52.5, "lng": 13.4})
    went_online = delivery.clock.now_ms()
    online = delivery.call("PUT", "/me/status", "dan", {"online": True})

    assert located.get_json()["location"] == {"lat": 52.5, "lng": 13.4}
    assert online.get_json()["online"] is True
    here = {"lat": 52.5, "lng": 13.4}
    *_, (located_as, located_at), (online_as, online_at) = [
        (body, body.pop("version")) for body in delivery.bus("driver-updated")
    ]
    assert [located_as, online_as] == [
        {"id": "dan", "name": "Dan", "online": False, "location": here, "onlineAt": None},
        {"id": "dan", "name": "Dan", "online": True, "location": here, "onlineAt": went_online},
    ]
    assert located_at < online_at  # the profile's saves, in write order


def test_a_driver_must_report_where_they_are_before_going_online(delivery: Delivery) -> None:
    delivery.driver("dan", at=None, online=False)
    published = len(delivery.bus("driver-updated"))

    refused = delivery.call("PUT", "/me/status", "dan", {"online": True})

    assert refused.status_code == 409
    assert "report your location first" in refused.get_json()["error"]
    assert delivery.call("GET", "/me", "dan").get_json()["online"] is False
    assert len(delivery.bus("driver-updated")) == published


def test_only_what_dispatch_needs_emits_driver_updated(delivery: Delivery) -> None:
    delivery.driver("dan")
    before = len(delivery.bus("driver-updated"))

    delivery.call("PUT", "/me", "dan", {"name": "Dan", "vehicle": "car"})
    delivery.call("PUT", "/me/status", "dan", {"online": True})

    assert len(delivery.bus("driver-updated")) == before


def test_a_location_taken_before_the_one_kept_is_ignored(delivery: Delivery) -> None:
    # A report sent earlier but delivered later (a retry, a bad network) must not move the
    # driver back to where they were
    delivery.driver("dan", at=None, online=False)
    now = delivery.clock.now_ms()
    delivery.call("PUT", "/me/location", "dan", {**FAR, "reportedAt": now - 1_000})
    published = len(delivery.bus("driver-updated"))

    late = delivery.call("PUT", "/me/location", "dan", {**NEAR, "reportedAt": now - 5_000})
    again = delivery.call("PUT", "/me/location", "dan", {**NEAR, "reportedAt": now - 1_000})

    assert (late.status_code, again.status_code) == (200, 200)
    assert late.get_json()["location"] == again.get_json()["location"] == FAR
    assert len(delivery.bus("driver-updated")) == published
    newer = delivery.call("PUT", "/me/location", "dan", {**NEAR, "reportedAt": now - 500})
    assert newer.get_json()["location"] == NEAR
    assert delivery.bus("driver-updated")[-1]["location"] == NEAR


def test_a_location_saying_no_time_is_taken_as_it_arrives(delivery: Delivery) -> None:
    delivery.driver("dan", at=None, online=False)
    now = delivery.clock.now_ms()
    delivery.call("PUT", "/me/location", "dan", {**FAR, "reportedAt": now + 20_000})

    untimed = delivery.call("PUT", "/me/location", "dan", NEAR)  # an app sending no time
    late = delivery.call("PUT", "/me/location", "dan", {**FAR, "reportedAt": now - 1})

    assert untimed.get_json()["location"] == late.get_json()["location"] == NEAR


@pytest.mark.parametrize(
    ("offset", "problem"), [(30_001, "ahead of the server's clock"), (-3_600_001, "60 minutes")]
)
def test_a_location_time_far_from_the_servers_clock_gets_400(
    delivery: Delivery, offset: int, problem: str
) -> None:
    delivery.driver("dan", at=NEAR)
    report = {**FAR, "reportedAt": delivery.clock.now_ms() + offset}

    refused = delivery.call("PUT", "/me/location", "dan", report)

    assert refused.status_code == 400
    assert problem in refused.get_json()["fields"]["reportedAt"]
    assert delivery.call("GET", "/me", "dan").get_json()["location"] == NEAR


@pytest.mark.parametrize("offset", [30_000, -3_600_000])
def test_a_location_time_just_within_the_bounds_is_taken(delivery: Delivery, offset: int) -> None:
    delivery.driver("dan", at=None, online=False)
    report = {**FAR, "reportedAt": delivery.clock.now_ms() + offset}

    assert delivery.call("PUT", "/me/location", "dan", report).get_json()["location"] == FAR


def test_the_api_documents_the_time_a_location_was_taken(delivery: Delivery) -> None:
    spec = delivery.client.get("/openapi.json").get_json()
    body = spec["paths"]["/me/location"]["put"]["requestBody"]["content"]["application/json"]
    schema = body["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    reported_at = schema["properties"]["reportedAt"]
    assert "reportedAt" not in schema.get("required", [])
    assert "ignored" in reported_at["description"]
    assert "30 s ahead" in reported_at["description"]


def test_a_driver_cannot_go_offline_during_a_delivery(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    refused = delivery.call("PUT", "/me/status", "dan", {"online": False})

    assert refused.status_code == 409
    assert delivery.call("GET", "/me", "dan").get_json()["online"] is True


def test_a_driver_goes_offline_once_the_delivery_is_done(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")

    response = delivery.call("PUT", "/me/status", "dan", {"online": False})

    assert response.status_code == 200
    assert response.get_json()["online"] is False


def test_a_driver_cannot_go_offline_between_accepting_and_being_assigned(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    accepted = delivery.client.post(
        f"/offers/{delivery.offer_id('d-o-1')}/accept", headers=delivery.headers("dan")
    )
    assert accepted.status_code == 200

    # dispatch has not heard of the answer: an offline heard first would withdraw the offer
    offline = delivery.client.put(
        "/me/status", json={"online": False}, headers=delivery.headers("dan")
    )
    delivery.system.run_until_quiet()

    assert offline.status_code == 409
    assert "d-o-1" in offline.get_json()["error"]
    assert delivery.call("GET", "/me", "dan").get_json()["online"] is True
    found = delivery.delivery("o-1")
    assert (found["status"], found["driver"]["id"]) == ("assigned", "dan")
    assert delivery.bus("offer-withdrawn") == []


def test_going_offline_while_an_accept_is_in_flight_is_refused(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the driver's app sends "offline" while their accept is half done: the accept has
    # checked that they are online, and not yet written its answer
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    update, offline = delivery.store.update, []

    def go_offline_meanwhile(collection: str, key: str, updater: Any) -> Any:
        if collection == "driver-offers" and not offline:
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

    # THEN the accept stands and the offline is refused: never offline holding the offer
    assert accepted.status_code == 200
    assert offline[0].status_code == 409
    assert delivery.call("GET", "/me", "dan").get_json()["online"] is True
    found = delivery.delivery("o-1")
    assert (found["status"], found["driver"]["id"]) == ("assigned", "dan")


def test_an_offer_that_could_not_be_accepted_does_not_keep_the_driver_online(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.clock.advance(2 * MINUTE)  # expired, not yet withdrawn
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 409

    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200


def test_a_driver_goes_offline_once_an_accepted_offer_is_withdrawn(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    event = order_event("o-1", "cancelled", START, reason="customer-cancelled")
    delivery.system.inject("order", Topic.EXTERNAL, event)  # dispatch hears it first
    accepted = delivery.client.post(
        f"/offers/{delivery.offer_id('d-o-1')}/accept", headers=delivery.headers("dan")
    )
    assert accepted.status_code == 200
    delivery.system.run_until_quiet()

    response = delivery.call("PUT", "/me/status", "dan", {"online": False})

    assert delivery.bus("offer-withdrawn") == [
        {"id": "d-o-1", "driverId": "dan", "expiresAt": START + 2 * MINUTE}
    ]
    assert response.status_code == 200
    assert response.get_json()["online"] is False


# -- offers --------------------------------------------------------------------------------


def test_an_offer_shows_in_the_drivers_app(delivery: Delivery) -> None:
    delivery.driver("dan")

    delivery.order("o-1", "accepted")

    assert delivery.offers("dan") == [
        {
            "offerId": OFFER,
            "deliveryId": "d-o-1",
            "orderId": "o-1",
            "pickup": {
                "name": "Trattoria Roma",
                "address": RESTAURANT,
                "readyBy": None,
                "ready": False,
            },
            "dropoff": OFFERED_AREA,
            "expiresAt": OFFER_AT,
        }
    ]


def test_accepting_an_offer_is_answered_and_can_be_retried(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")

    first = delivery.call("POST", f"/offers/{OFFER}/accept", "dan")
    again = delivery.call("POST", f"/offers/{OFFER}/accept", "dan")

    assert first.status_code == again.status_code == 200
    assert (
        first.get_json()
        == again.get_json()
        == {"deliveryId": "d-o-1", "offerId": OFFER, "status": "accepted"}
    )
    assert delivery.bus("offer-accepted") == [
        {
            "deliveryId": "d-o-1",
            "driverId": "dan",
            "answeredAt": START,
            "expiresAt": OFFER_AT,
        }
    ]
    assert delivery.offers("dan") == []


def test_an_app_that_names_the_delivery_answers_the_offer_open_now(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    [offer] = delivery.offers("dan")

    accepted = delivery.answer("d-o-1", "accept", "dan")

    assert accepted.get_json() == {
        "deliveryId": "d-o-1",
        "offerId": offer["offerId"],
        "status": "accepted",
    }
    assert delivery.delivery("o-1")["driver"]["id"] == "dan"


def test_a_driver_cannot_accept_another_drivers_offer(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.driver("eve")

    response = delivery.answer("d-o-1", "accept", "eve")

    assert response.status_code == 403
    assert delivery.store.get("driver-offers", "d-o-1")["status"] == "open"  # type: ignore[index]
    assert delivery.delivery("o-1")["status"] == "offered"
    assert delivery.bus("offer-accepted") == []


def test_an_unknown_offer_is_404(delivery: Delivery) -> None:
    delivery.driver("dan")

    assert delivery.answer("d-nope", "accept", "dan").status_code == 404


@pytest.mark.parametrize(
    ("offer_id", "status"),
    [
        ("d-nope@9999999999999", 404),  # no such delivery
        ("d-o-1@9999999999999", 409),  # the delivery's, not an offer made
        ("d-o-2@" + str(START + 2 * MINUTE), 403),  # another driver's offer
        (OFFER, 409),  # expired by the time of the answer
    ],
)
def test_an_accept_refused_changes_nothing_on_the_drivers_profile(
    delivery: Delivery, offer_id: str, status: int
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.driver("eve", at=FAR)
    delivery.order("o-2", "accepted")  # offered to eve: dan has o-1's
    delivery.clock.advance(2 * MINUTE if offer_id == OFFER else 0)
    profile = delivery.store.get("drivers", "dan")

    refused = delivery.call("POST", f"/offers/{offer_id}/accept", "dan")

    assert refused.status_code == status
    assert refused.get_json()["error"]
    assert delivery.store.get("drivers", "dan") == profile
    assert delivery.bus("offer-accepted") == []


def test_an_expired_offer_cannot_be_accepted(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.clock.advance(2 * MINUTE)  # expired, and no tick has withdrawn it yet

    response = delivery.answer("d-o-1", "accept", "dan")

    assert response.status_code == 409
    assert "expired" in response.get_json()["error"]
    assert delivery.offers("dan") == []


def test_an_offer_accepted_just_in_time_is_the_drivers_even_if_collected_after_expiry(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.clock.advance(2 * MINUTE - 1)
    response = delivery.client.post(
        f"/offers/{delivery.offer_id('d-o-1')}/accept", headers=delivery.headers("dan")
    )
    assert response.status_code == 200
    delivery.clock.advance(1)
    delivery.system.tick()  # the offer timeouts run before the answer is collected
    delivery.system.run_until_quiet()

    found = delivery.delivery("o-1")
    assert (found["status"], found["driver"]["id"]) == ("assigned", "dan")
    assert delivery.bus("offer-withdrawn") == []


def test_a_driver_who_went_offline_cannot_accept_the_offer_they_had(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    offline = delivery.client.put(
        "/me/status", json={"online": False}, headers=delivery.headers("dan")
    )
    assert offline.status_code == 200

    # before dispatch has heard of it
    refused = delivery.client.post(
        f"/offers/{delivery.offer_id('d-o-1')}/accept", headers=delivery.headers("dan")
    )
    delivery.system.run_until_quiet()

    assert refused.status_code == 409
    assert "offline" in refused.get_json()["error"]
    assert delivery.bus("offer-accepted") == []
    assert delivery.delivery("o-1")["status"] == "searching"
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 409


def test_a_driver_who_went_offline_no_longer_sees_the_offers_they_had(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    assert len(delivery.offers("dan")) == 1
    offline = delivery.client.put(
        "/me/status", json={"online": False}, headers=delivery.headers("dan")
    )
    assert offline.status_code == 200

    # before dispatch has heard of it and withdrawn the offer: it could not be accepted
    shown = delivery.client.get("/me/offers", headers=delivery.headers("dan"))

    assert shown.status_code == 200
    assert shown.get_json() == {"offers": []}
    assert delivery.store.get("driver-offers", "d-o-1")["status"] == "open"  # type: ignore[index]


def test_a_delivery_offered_back_and_forth_names_each_past_driver_once(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.driver("eve")
    offers = [
        offered_o9(START + n * MINUTE, timestamp=START + n, driver=driver)
        for n, driver in enumerate(["dan", "eve", "dan", "eve", "dan"], start=1)
    ]

    for offered in offers:
        delivery.inject(offered)

    offer = delivery.store.get("driver-offers", "d-o-9")
    assert offer is not None
    assert (offer["driverId"], offer["pastDrivers"]) == ("dan", ["eve"])  # never its driver
    assert delivery.answer("d-o-9", "accept", "eve").status_code == 409  # withdrawn


def test_a_declined_offer_cannot_be_accepted_afterwards(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")

    declined = delivery.call("POST", f"/offers/{OFFER}/decline", "dan")
    accepted = delivery.call("POST", f"/offers/{OFFER}/accept", "dan")

    assert declined.get_json() == {"deliveryId": "d-o-1", "offerId": OFFER, "status": "declined"}
    assert accepted.status_code == 409
    assert delivery.bus("offer-declined") == [
        {
            "deliveryId": "d-o-1",
            "driverId": "dan",
            "answeredAt": START,
            "expiresAt": OFFER_AT,
        }
    ]


def test_a_withdrawn_offer_is_409_for_the_driver_who_had_it(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.driver("eve")
    delivery.system.advance(3 * MINUTE)  # dan's offer expired; eve is offered the delivery

    response = delivery.answer("d-o-1", "accept", "dan")

    assert response.status_code == 409
    assert "withdrawn" in response.get_json()["error"]


def test_a_repeated_offer_event_changes_nothing(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.answer("d-o-1", "decline", "dan")
    [offered] = [e for e in delivery.events["bus"] if e.type == "delivery-offered"]

    delivery.inject(offered)

    assert delivery.store.get("driver-offers", "d-o-1")["status"] == "declined"  # type: ignore[index]
    assert delivery.offers("dan") == []


def test_an_offer_withdrawn_before_it_arrived_stays_withdrawn(delivery: Delivery) -> None:
    offered = offered_o9(START + 2 * MINUTE, timestamp=START)
    withdrawn = withdrawn_o9(None, timestamp=START + 1)
    delivery.driver("dan")

    delivery.inject(withdrawn)
    delivery.inject(offered)

    assert delivery.offers("dan") == []
    assert delivery.answer("d-o-9", "accept", "dan").status_code == 409


def test_the_withdrawal_of_an_offer_does_not_close_the_one_made_again_in_the_same_millisecond(
    delivery: Delivery,
) -> None:
    first, again = START + 2 * MINUTE, START + 4 * MINUTE
    at = START + 2 * MINUTE
    offered = offered_o9(again, timestamp=at)
    # one millisecond: only the expiry tells the two offers apart
    withdrawn = withdrawn_o9(first, timestamp=at)
    delivery.driver("dan")
    delivery.clock.advance_to(at)

    delivery.inject(offered)
    delivery.inject(withdrawn)

    assert [o["offerId"] for o in delivery.offers("dan")] == [f"d-o-9@{again}"]
    record = delivery.store.get("notification-offers", "d-o-9")
    assert record is not None
    assert (record["expiresAt"], record["open"]) == (again, True)


# -- a delivery offered to the same driver again ---------------------------------------------


def missed_and_offered_again(delivery: Delivery) -> tuple[dict[str, Any], dict[str, Any]]:
    """dan, the only driver near, lets o-1's offer run out and is offered it again: (the
    first offer, the second) as his app showed them."""
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    [first] = delivery.offers("dan")
    delivery.system.advance(3 * MINUTE)  # withdrawn after the grace, offered to dan again
    [again] = delivery.offers("dan")
    assert again["expiresAt"] > first["expiresAt"]
    return first, again


@pytest.mark.parametrize("verdict", ["accept", "decline"])
def test_an_answer_sent_late_to_an_offer_that_ran_out_does_not_answer_the_next_one(
    delivery: Delivery, verdict: str
) -> None:
    first, again = missed_and_offered_again(delivery)

    late = delivery.call("POST", f"/offers/{first['offerId']}/{verdict}", "dan")

    assert late.status_code == 409
    assert "withdrawn" in late.get_json()["error"]
    assert delivery.bus("offer-accepted") == delivery.bus("offer-declined") == []
    assert delivery.offers("dan") == [again]
    assert delivery.delivery("o-1")["offer"]["expiresAt"] == again["expiresAt"]
    assert delivery.call("POST", f"/offers/{again['offerId']}/accept", "dan").status_code == 200
    assert delivery.delivery("o-1")["driver"]["id"] == "dan"


def test_an_accept_refused_does_not_keep_the_driver_online_once_offered_the_delivery_again(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.clock.advance(2 * MINUTE)
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 409  # expired
    delivery.system.advance(MINUTE)  # withdrawn, offered to dan again; he does not want it
    assert len(delivery.offers("dan")) == 1

    offline = delivery.call("PUT", "/me/status", "dan", {"online": False})

    assert offline.status_code == 200
    assert delivery.delivery("o-1")["status"] == "searching"


def assigned_on_the_first_answer(delivery: Delivery) -> Envelope:
    """dan's assignment to o-1, as dispatch announces it when it takes his answer to the
    first offer, given in time and heard only once he was offered the delivery again."""
    [offer, *_] = delivery.bus("delivery-offered")
    now = delivery.clock.now_ms()
    body = {
        "id": "d-o-1",
        "orderId": "o-1",
        "driverId": "dan",
        "pickup": offer["pickup"],
        "dropoff": offer["dropoff"],
        "assignedAt": now,
    }
    return new_event("delivery-assigned", "delivery", body, partition_key="o-1", timestamp=now)


def test_the_assignment_closes_the_offer_the_driver_was_made_again(delivery: Delivery) -> None:
    _, again = missed_and_offered_again(delivery)

    delivery.inject(assigned_on_the_first_answer(delivery))

    assert delivery.offers("dan") == []
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "assigned"
    refused = delivery.call("POST", f"/offers/{again['offerId']}/decline", "dan")
    assert refused.status_code == 409
    assert delivery.bus("offer-declined") == []


def test_an_offer_heard_after_the_drivers_assignment_to_the_delivery_never_opens(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = hold_event(
        delivery, monkeypatch, "listener", "delivery-offered", lambda b: b["expiresAt"] > OFFER_AT
    )
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.system.advance(3 * MINUTE)  # offered to dan again, not yet heard by his app
    delivery.inject(assigned_on_the_first_answer(delivery))

    deliver_late()

    assert delivery.offers("dan") == []
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "assigned"


# -- deliveries ------------------------------------------------------------------------------


def test_the_assigned_delivery_shows_in_the_drivers_app(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    expected = {
        "deliveryId": "d-o-1",
        "orderId": "o-1",
        "status": "assigned",
        "pickup": {
            "name": "Trattoria Roma",
            "address": RESTAURANT,
            "readyBy": None,
            "ready": False,
        },
        "dropoff": HOME,
        "assignedAt": START,
        "pickedUpAt": None,
        "deliveredAt": None,
    }
    assert delivery.call("GET", "/me/deliveries", "dan").get_json() == {
        "deliveries": [expected],
        "next": None,
    }
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json() == expected


def test_another_driver_cannot_see_or_advance_the_delivery(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.driver("eve")

    assert delivery.call("GET", "/deliveries/d-o-1", "eve").status_code == 403
    assert delivery.call("POST", "/deliveries/d-o-1/picked-up", "eve").status_code == 403
    assert delivery.call("GET", "/me/deliveries", "eve").get_json() == {
        "deliveries": [],
        "next": None,
    }
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "assigned"
    assert delivery.bus("delivery-picked-up") == []


def test_an_unknown_delivery_is_404(delivery: Delivery) -> None:
    delivery.driver("dan")

    assert delivery.call("GET", "/deliveries/d-nope", "dan").status_code == 404
    assert delivery.call("POST", "/deliveries/d-nope/delivered", "dan").status_code == 404


def test_the_steps_go_in_order_and_repeat_harmlessly(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    too_early = delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    delivery.clock.advance(5 * MINUTE)
    picked = delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    picked_again = delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.clock.advance(10 * MINUTE)
    delivered = delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    picked_late = delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")

    assert too_early.status_code == 409
    assert picked.status_code == picked_again.status_code == delivered.status_code == 200
    assert picked_again.get_json()["pickedUpAt"] == START + 5 * MINUTE
    assert delivered.get_json()["status"] == "delivered"
    assert delivered.get_json()["deliveredAt"] == START + 15 * MINUTE
    assert picked_late.status_code == 409
    assert delivery.bus("delivery-picked-up") == [
        {"deliveryId": "d-o-1", "orderId": "o-1", "driverId": "dan"}
    ]
    assert len(delivery.bus("delivery-delivered")) == 1


def test_a_cancelled_order_cancels_the_drivers_delivery(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    delivery.order("o-1", "cancelled", reason="no-driver", deliveryAddress=None)

    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "cancelled"
    assert delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan").status_code == 409


def test_a_finished_delivery_shows_only_the_area_of_the_address(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivered = delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    offer_then_accept(delivery, "o-2", "dan")
    delivery.order("o-2", "cancelled", reason="driver-no-show", deliveryAddress=None)
    offer_then_accept(delivery, "o-3", "dan")

    history = delivery.call("GET", "/me/deliveries", "dan").get_json()["deliveries"]

    assert [(d["deliveryId"], d["dropoff"]) for d in history] == [
        ("d-o-3", HOME),
        ("d-o-2", AREA),
        ("d-o-1", AREA),
    ]
    assert delivered.get_json()["dropoff"] == AREA
    assert delivery.call("GET", "/deliveries/d-o-2", "dan").get_json()["dropoff"] == AREA
    for key in ("d-o-1", "d-o-2"):
        assert delivery.store.get("driver-deliveries", key)["dropoff"] == AREA  # type: ignore[index]


def test_a_delivery_kept_whole_before_the_rule_is_served_without_the_address(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    stored = delivery.store.get("driver-deliveries", "d-o-1")
    assert stored is not None
    delivery.store.put("driver-deliveries", "d-o-1", {**stored, "status": "delivered"})

    history = delivery.call("GET", "/me/deliveries", "dan").get_json()["deliveries"]

    assert [d["dropoff"] for d in history] == [AREA]


def test_an_offer_no_longer_open_keeps_only_the_area_of_the_address(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.driver("eve")
    for order_id in ("o-1", "o-2", "o-3"):
        delivery.order(order_id, "accepted")
    delivery.answer("d-o-1", "decline", "dan")  # dan is offered o-3 instead
    delivery.answer("d-o-2", "accept", "eve")
    delivery.order("o-3", "cancelled", reason="customer", deliveryAddress=None)

    delivery.order("o-4", "accepted")

    withdrawn = delivery.bus("offer-withdrawn")[-1]
    assert withdrawn == {"id": "d-o-3", "driverId": "dan", "expiresAt": START + 2 * MINUTE}
    dropoffs = {
        key: delivery.store.get("driver-offers", key)["dropoff"]  # type: ignore[index]
        for key in ("d-o-1", "d-o-2", "d-o-3", "d-o-4")
    }
    assert dropoffs == {"d-o-1": AREA, "d-o-2": AREA, "d-o-3": AREA, "d-o-4": OFFERED_AREA}
    assert delivery.offers("dan")[0]["dropoff"] == OFFERED_AREA


def test_an_open_offer_shows_the_customers_street_to_no_one_until_assigned(
    delivery: Delivery,
) -> None:
    # GIVEN a delivery offered to dan
    delivery.driver("dan")
    delivery.order("o-1", "accepted")

    # THEN neither his app nor the offer kept for it holds the customer's street or position
    [offer] = delivery.offers("dan")
    stored = delivery.store.get("driver-offers", "d-o-1")
    for shown in (offer["dropoff"], stored["dropoff"]):  # type: ignore[index]
        assert shown == OFFERED_AREA
    assert HOME["street"] not in delivery.call("GET", "/me/offers", "dan").get_data(as_text=True)

    # WHEN he accepts and dispatch assigns him the delivery
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    delivery.system.run_until_quiet()

    # THEN the whole address is his to see
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["dropoff"] == HOME


def test_an_open_offer_kept_with_the_whole_address_shows_only_its_area(
    delivery: Delivery,
) -> None:
    # GIVEN an open offer stored with the customer's whole address (as it was stored before)
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    stored = delivery.store.get("driver-offers", "d-o-1")
    assert stored is not None
    delivery.store.put("driver-offers", "d-o-1", {**stored, "dropoff": HOME})

    # THEN the app shows only its area and distance
    assert delivery.offers("dan")[0]["dropoff"] == OFFERED_AREA


def test_a_drivers_deliveries_come_a_page_at_a_time_newest_first(delivery: Delivery) -> None:
    delivery.driver("dan")
    for order_id in ("o-1", "o-2", "o-3"):
        delivery.system.advance(MINUTE)
        offer_then_accept(delivery, order_id, "dan")
        delivery.call("POST", f"/deliveries/d-{order_id}/picked-up", "dan")
        delivery.call("POST", f"/deliveries/d-{order_id}/delivered", "dan")

    first = delivery.call("GET", "/me/deliveries?limit=2", "dan").get_json()
    assert [d["deliveryId"] for d in first["deliveries"]] == ["d-o-3", "d-o-2"]
    last = delivery.call("GET", f"/me/deliveries?limit=2&after={first['next']}", "dan")
    assert [d["deliveryId"] for d in last.get_json()["deliveries"]] == ["d-o-1"]
    assert last.get_json()["next"] is None
    assigned_at = first["deliveries"][1]["assignedAt"]
    earlier = delivery.call("GET", f"/me/deliveries?before={assigned_at}", "dan").get_json()
    assert [d["deliveryId"] for d in earlier["deliveries"]] == ["d-o-1"]


def test_deliveries_of_one_millisecond_are_split_exactly_across_pages(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    stored = delivery.store.get("driver-deliveries", "d-o-1")
    assert stored is not None
    for n in (0, 2, 3, 4):  # delivered too, assigned in the same millisecond: stored directly
        copy = {**stored, "deliveryId": f"d-o-{n}", "orderId": f"o-{n}"}
        delivery.store.put("driver-deliveries", f"d-o-{n}", copy)

    pages: list[list[str]] = []
    query = "?limit=2"
    while len(pages) < 10:
        page = delivery.call("GET", f"/me/deliveries{query}", "dan").get_json()
        pages.append([d["deliveryId"] for d in page["deliveries"]])
        if page["next"] is None:
            break
        query = f"?limit=2&after={page['next']}"

    assert pages == [["d-o-4", "d-o-3"], ["d-o-2", "d-o-1"], ["d-o-0"]]


@pytest.mark.parametrize(
    "query",
    [
        "?limit=0",
        "?limit=101",
        "?before=-1",
        "?before=9223372036854775808",
        "?page=2",
        "?after=d-o-1",
        "?after=WzEsIiJd",  # [1,""]: no delivery has an empty id
    ],
)
def test_a_bad_page_of_deliveries_gets_400(delivery: Delivery, query: str) -> None:
    delivery.driver("dan")
    response = delivery.call("GET", f"/me/deliveries{query}", "dan")
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [query[1:].split("=")[0]]


# -- handing a delivery back ---------------------------------------------------------------


def release(delivery: Delivery, driver: str, body: Any = None, key: str | None = None) -> Any:
    """``POST /deliveries/d-o-1/release`` as ``driver`` (with an Idempotency-Key if given)."""
    headers = {**delivery.headers(driver), **({"Idempotency-Key": key} if key else {})}
    response = delivery.client.post(
        "/deliveries/d-o-1/release", json={} if body is None else body, headers=headers
    )
    delivery.system.run_until_quiet()
    return response


def test_a_driver_hands_an_assigned_delivery_back_and_it_searches_again(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    delivery.clock.advance(5 * MINUTE)

    released = release(delivery, "dan", {"reason": "  my bike broke down  "})

    expected = {
        "deliveryId": "d-o-1",
        "orderId": "o-1",
        "status": "released",
        "pickup": {"name": "Trattoria Roma", "address": RESTAURANT, "readyBy": None, "ready": None},
        "dropoff": AREA,
        "assignedAt": START,
        "pickedUpAt": None,
        "deliveredAt": None,
    }
    assert released.status_code == 200
    assert released.get_json() == expected
    assert delivery.bus("driver-released") == [
        {"deliveryId": "d-o-1", "orderId": "o-1", "driverId": "dan", "reason": "my bike broke down"}
    ]
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"
    assert [o["deliveryId"] for o in delivery.offers("eve")] == ["d-o-1"]
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json() == expected
    assert delivery.store.get("driver-deliveries", "d-o-1")["dropoff"] == AREA  # type: ignore[index]
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200


def test_the_driver_keeps_the_delivery_they_handed_back_once_another_driver_has_it(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    release(delivery, "dan", {"reason": "flat tyre"})

    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200

    mine = delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()
    theirs = delivery.call("GET", "/deliveries/d-o-1", "eve").get_json()
    assert (mine["status"], mine["dropoff"]) == ("released", AREA)
    assert (theirs["status"], theirs["dropoff"]) == ("assigned", HOME)
    assert delivery.store.get("driver-deliveries", "d-o-1:dan")["dropoff"] == AREA  # type: ignore[index]
    history = delivery.call("GET", "/me/deliveries", "dan").get_json()["deliveries"]
    assert [(d["deliveryId"], d["status"], d["dropoff"]) for d in history] == [
        ("d-o-1", "released", AREA)
    ]
    assert delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan").status_code == 403
    assert delivery.call("POST", "/deliveries/d-o-1/picked-up", "eve").status_code == 200


def test_a_delivery_picked_up_or_finished_cannot_be_handed_back(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")

    picked_up = release(delivery, "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    delivered = release(delivery, "dan")

    assert picked_up.status_code == delivered.status_code == 409
    assert "picked-up cannot become released" in picked_up.get_json()["error"]
    assert delivery.bus("driver-released") == []
    assert delivery.delivery("o-1")["status"] == "delivered"


def test_a_cancelled_delivery_cannot_be_handed_back(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.order("o-1", "cancelled", reason="rejected", deliveryAddress=None)

    assert release(delivery, "dan").status_code == 409
    assert delivery.bus("driver-released") == []


def test_only_the_assigned_driver_can_hand_a_delivery_back(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")

    theirs = release(delivery, "eve")
    unknown = delivery.call("POST", "/deliveries/d-nope/release", "dan", {})

    assert theirs.status_code == 403
    assert unknown.status_code == 404
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "assigned"
    assert delivery.delivery("o-1")["status"] == "assigned"
    assert delivery.bus("driver-released") == []


def test_handing_a_delivery_back_again_is_harmless(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")

    first = release(delivery, "dan", {"reason": "flat tyre"}, key="release-1")
    retried = release(delivery, "dan", {"reason": "flat tyre"}, key="release-1")
    misused = release(delivery, "dan", {"reason": "another"}, key="release-1")
    again = release(delivery, "dan", {"reason": "still flat"})
    delivery.answer("d-o-1", "accept", "eve")
    after_eve = release(delivery, "dan")

    assert first.status_code == retried.status_code == again.status_code == 200
    assert after_eve.status_code == 200
    assert misused.status_code == 422  # the key names the first request
    assert first.get_json() == retried.get_json() == again.get_json() == after_eve.get_json()
    assert len(delivery.bus("driver-released")) == 1
    assert delivery.store.get("driver-deliveries", "d-o-1:dan")["releaseReason"] == "flat tyre"  # type: ignore[index]
    assert delivery.call("GET", "/deliveries/d-o-1", "eve").get_json()["status"] == "assigned"


def test_an_offer_handed_back_cannot_be_accepted_again(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    release(delivery, "dan")

    response = delivery.answer("d-o-1", "accept", "dan")

    assert response.status_code == 409
    assert delivery.delivery("o-1")["status"] == "searching"  # nobody else is near
    assert delivery.bus("offer-accepted")[1:] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x" * 201}, "reason"),
        ({"reason": 7}, "reason"),
        ({"reason": "flat tyre\x00"}, "reason"),
        ({"reason": "flat\u2029tyre"}, "reason"),
        ({"reason": "flat tyre\u2066"}, "reason"),
        ({"why": "tired"}, "why"),
    ],
)
def test_a_bad_release_gets_400_and_keeps_the_delivery(
    delivery: Delivery, body: dict[str, Any], field: str
) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    response = release(delivery, "dan", body)

    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "assigned"


def test_a_blank_reason_is_no_reason(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    assert release(delivery, "dan", {"reason": "   "}).status_code == 200

    assert delivery.bus("driver-released")[0]["reason"] is None


# -- dispatch's decisions heard again, or late ----------------------------------------------


def test_a_redelivered_assignment_neither_takes_the_delivery_back_nor_hides_the_next_one(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.driver("fay", at=FURTHER)
    offer_then_accept(delivery, "o-1", "dan")  # all in one millisecond: times cannot tell
    [dans] = [e for e in delivery.events[Topic.BUS] if e.type == "delivery-assigned"]
    release(delivery, "dan")
    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200
    release(delivery, "eve")
    assert delivery.delivery("o-1")["offer"]["driverId"] == "fay"

    delivery.inject(dans)  # at-least-once: dan's assignment again, same event
    assert delivery.answer("d-o-1", "accept", "fay").status_code == 200

    fays = delivery.call("GET", "/deliveries/d-o-1", "fay")
    assert fays.status_code == 200
    assert fays.get_json()["status"] == "assigned"
    assert delivery.call("POST", "/deliveries/d-o-1/picked-up", "fay").status_code == 200
    for driver in ("dan", "eve"):
        assert delivery.call("GET", "/deliveries/d-o-1", driver).get_json()["status"] == "released"
        assert delivery.call("PUT", "/me/status", driver, {"online": False}).status_code == 200


def test_an_assignment_older_than_the_delivery_handed_back_changes_nothing(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    [dans] = delivery.bus("delivery-assigned")
    release(delivery, "dan")

    older = {**dans, "driverId": "eve", "assignedAt": dans["assignedAt"] - MINUTE}
    delivery.inject(new_event("delivery-assigned", "delivery", older, partition_key="o-1"))

    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "released"
    assert delivery.call("GET", "/deliveries/d-o-1", "eve").status_code == 403


def test_an_assignment_announced_after_the_cancellation_arrives_cancelled(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = accepted_then_cancelled_unannounced(delivery, monkeypatch)
    assert delivery.delivery("o-1")["status"] == "cancelled"
    assert delivery.call("GET", "/deliveries/d-o-1", "dan").status_code == 404  # not heard yet
    assert delivery.call("GET", "/me/deliveries", "dan").get_json()["deliveries"] == []

    deliver_late()

    mine = delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()
    assert (mine["status"], mine["dropoff"], mine["assignedAt"]) == ("cancelled", AREA, START)
    history = delivery.call("GET", "/me/deliveries", "dan").get_json()["deliveries"]
    assert [(d["deliveryId"], d["status"]) for d in history] == [("d-o-1", "cancelled")]
    assert delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan").status_code == 409
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200


def test_a_cancellation_heard_before_the_next_drivers_assignment_keeps_the_hand_back(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    release(delivery, "dan")
    deliver_late = hold_change(delivery, monkeypatch, "rules", "offered", "assigned")
    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200
    delivery.order("o-1", "cancelled", reason="rejected", changedAt=START + 1)

    deliver_late()

    assert delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["status"] == "released"
    assert delivery.call("GET", "/deliveries/d-o-1", "eve").get_json()["status"] == "cancelled"
    for driver, status in (("dan", "released"), ("eve", "cancelled")):
        history = delivery.call("GET", "/me/deliveries", driver).get_json()["deliveries"]
        assert [d["status"] for d in history] == [status]


# -- when the food is ready ------------------------------------------------------------------

READY_BY = START + 15 * MINUTE


def pickup(delivery: Delivery, driver: str = "dan") -> tuple[int | None, bool | None]:
    """``(readyBy, ready)`` of the pickup in the driver's view of d-o-1."""
    shown = delivery.call("GET", "/deliveries/d-o-1", driver).get_json()["pickup"]
    return shown["readyBy"], shown["ready"]


def test_the_driver_sees_when_the_food_should_be_ready_then_that_it_is(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted", readyBy=READY_BY)
    [offer] = delivery.offers("dan")
    assert (offer["pickup"]["readyBy"], offer["pickup"]["ready"]) == (READY_BY, False)
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    assert pickup(delivery) == (READY_BY, False)

    delivery.clock.advance(10 * MINUTE)
    delivery.order("o-1", "ready", readyBy=START + 10 * MINUTE, changedAt=START + 10 * MINUTE)

    assert pickup(delivery) == (START + 10 * MINUTE, True)
    [listed] = delivery.call("GET", "/me/deliveries", "dan").get_json()["deliveries"]
    assert (listed["pickup"]["readyBy"], listed["pickup"]["ready"]) == (START + 10 * MINUTE, True)


@pytest.mark.parametrize("changed_at", [START, START + 5 * MINUTE], ids=["older", "same-ms"])
def test_an_update_heard_late_does_not_take_back_the_ready_food(
    delivery: Delivery, changed_at: int
) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    ready_at = START + 5 * MINUTE
    delivery.order("o-1", "ready", readyBy=ready_at, changedAt=ready_at)

    delivery.order("o-1", "accepted", readyBy=READY_BY, changedAt=changed_at)

    assert pickup(delivery) == (ready_at, True)


def test_once_picked_up_the_delivery_no_longer_shows_the_food(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted", readyBy=READY_BY)
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200

    moved = delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan").get_json()

    assert (moved["pickup"]["readyBy"], moved["pickup"]["ready"]) == (None, None)
    assert pickup(delivery) == (None, None)


def test_ready_in_the_same_millisecond_as_the_acceptance_is_ready(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    delivery.order("o-1", "ready", readyBy=START)  # changedAt START, as the acceptance

    assert pickup(delivery) == (START, True)
