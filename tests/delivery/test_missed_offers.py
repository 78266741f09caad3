"""A driver who lets offers in a row run out (their app died) is taken offline, and told."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.driver_bff import offers
from shared.envelope import new_event
from shared.topology import Topic
from tests.delivery.conftest import MINUTE, NEAR, START, Delivery, offer_then_accept
from tests.delivery.held import hold_event

MISSED = "driver-missed-offers"
FIRST, SECOND = START + 2 * MINUTE, START + 5 * MINUTE
"""When o-1's first offer to dan expires (made at 0:00), and its second (made at 3:00, once
the first was taken back)."""


def misses_two_offers(delivery: Delivery) -> None:
    """dan, the only driver, lets o-1's offer run out twice: taken back at 3:00 and 6:00."""
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    delivery.system.advance(6 * MINUTE)


def profile(delivery: Delivery, driver: str) -> dict[str, Any]:
    found: dict[str, Any] = delivery.call("GET", "/me", driver).get_json()
    return found


def told_offline(delivery: Delivery, driver: str) -> list[dict[str, Any]]:
    """The pushes telling ``driver`` they were taken offline."""
    return [m for m in delivery.push.to("driver", driver) if m["title"] == "You are offline"]


def offered_to(delivery: Delivery, driver: str) -> list[int]:
    """The expiries of the offers announced to ``driver``."""
    return [o["expiresAt"] for o in delivery.bus("delivery-offered") if o["driverId"] == driver]


def test_two_offers_in_a_row_run_out_and_the_driver_is_taken_offline_and_told_once(
    delivery: Delivery,
) -> None:
    misses_two_offers(delivery)

    assert delivery.bus(MISSED) == [
        {"driverId": "dan", "deliveryId": "d-o-1", "expiresAt": e, "count": n, "missed": run}
        for e, n, run in ((FIRST, 1, [FIRST]), (SECOND, 2, [FIRST, SECOND]))
    ]
    me = profile(delivery, "dan")
    assert (me["online"], me["offlineReason"]) == (False, "missed-offers")
    [push] = told_offline(delivery, "dan")
    assert push["data"] == {"reason": "missed-offers", "action": "go-online"}
    assert "Tap to go online again" in push["body"]
    seen = dispatch_driver(delivery, "dan")
    assert (seen["online"], seen["offeredDeliveryId"]) == (False, None)
    assert delivery.offers("dan") == []


def dispatch_driver(delivery: Delivery, driver: str) -> dict[str, Any]:
    found = delivery.store.get("dispatch-drivers", driver)
    assert found is not None
    return found


def test_a_driver_taken_offline_is_offered_nothing_until_they_go_online_again(
    delivery: Delivery,
) -> None:
    misses_two_offers(delivery)
    offers_before = offered_to(delivery, "dan")

    delivery.order("o-2", "accepted")
    delivery.system.advance(10 * MINUTE)

    assert offered_to(delivery, "dan") == offers_before
    assert delivery.delivery("o-2")["status"] == "searching"

    back = delivery.call("PUT", "/me/status", "dan", {"online": True})

    assert (back.get_json()["online"], back.get_json()["offlineReason"]) == (True, None)
    assert [o["deliveryId"] for o in delivery.offers("dan")] in (["d-o-1"], ["d-o-2"])


def test_redelivered_misses_take_the_driver_offline_once(delivery: Delivery) -> None:
    misses_two_offers(delivery)
    state = delivery.store.query("drivers")
    pushes = dict(delivery.push.messages)
    delivery.clock.advance(10_000)

    for event in list(delivery.events[Topic.BUS]):
        if event.type in (MISSED, "driver-taken-offline"):
            delivery.inject(event)

    assert delivery.store.query("drivers") == state
    assert delivery.push.messages == pushes
    assert len(told_offline(delivery, "dan")) == 1


def test_misses_heard_again_after_the_driver_went_online_again_change_nothing(
    delivery: Delivery,
) -> None:
    misses_two_offers(delivery)
    delivery.clock.advance(MINUTE)
    delivery.call("PUT", "/me/status", "dan", {"online": True})

    for event in [e for e in delivery.events[Topic.BUS] if e.type == MISSED]:
        delivery.inject(event)

    assert profile(delivery, "dan")["online"] is True
    assert len(told_offline(delivery, "dan")) == 1


def test_misses_heard_after_the_driver_asked_to_go_online_leave_them_online(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the second miss reaches driver-bff late, after dan (alive after all) asked to go
    # online, while still online
    deliver_late = hold_event(delivery, monkeypatch, "listener", MISSED, lambda b: b["count"] == 2)
    misses_two_offers(delivery)
    delivery.clock.advance(10_000)
    assert delivery.call("PUT", "/me/status", "dan", {"online": True}).status_code == 200

    deliver_late()

    assert profile(delivery, "dan")["online"] is True
    assert told_offline(delivery, "dan") == []


def test_misses_heard_while_the_driver_accepts_an_offer_leave_them_online(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the second miss reaches driver-bff while dan accepts the offer made after it,
    # before his answer is noted on his profile
    deliver_late = hold_event(delivery, monkeypatch, "listener", MISSED, lambda b: b["count"] == 2)
    misses_two_offers(delivery)  # o-1 is offered to dan a third time at 6:00
    noted = offers.answered

    def heard_midway(store: Any, driver_id: str, expires_at: int) -> None:
        deliver_late()
        noted(store, driver_id, expires_at)

    monkeypatch.setattr(offers, "answered", heard_midway)

    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200

    assert profile(delivery, "dan")["online"] is True
    assert delivery.statuses() == [("assigned", "dan")]


def test_an_offer_answered_between_two_misses_starts_the_count_again(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    delivery.system.advance(3 * MINUTE)  # dan lets o-1's offer run out, and is offered it again
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    delivery.clock.advance(10_000)
    delivery.order("o-2", "accepted")  # offered to dan at 3:10

    delivery.system.advance(3 * MINUTE)  # ... which runs out at 5:10, taken back at 6:10

    o2_expiry = START + 5 * MINUTE + 10_000
    assert delivery.bus(MISSED)[-1] == {
        "driverId": "dan",
        "deliveryId": "d-o-2",
        "expiresAt": o2_expiry,
        "count": 1,
        "missed": [o2_expiry],
    }
    assert profile(delivery, "dan")["online"] is True
    assert told_offline(delivery, "dan") == []


def test_an_answer_given_in_time_but_heard_late_is_no_miss(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan declines o-1's second offer in time, and dispatch hears of it only after the
    # offer was taken back as run out
    deliver_late = hold_event(delivery, monkeypatch, "collector", "offer-declined")
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    delivery.system.advance(3 * MINUTE)
    delivery.clock.advance(MINUTE)
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200

    delivery.system.advance(2 * MINUTE)  # dispatch takes the declined offer back at 6:00
    deliver_late()

    assert delivery.bus(MISSED)[-1]["count"] == 2
    assert profile(delivery, "dan")["online"] is True
    assert told_offline(delivery, "dan") == []


def test_coming_online_again_starts_the_count_again(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    delivery.system.advance(3 * MINUTE)  # the first offer ran out; dan holds the second
    delivery.clock.advance(10_000)
    delivery.call("PUT", "/me/status", "dan", {"online": False})  # not a miss: he chose to
    delivery.call("PUT", "/me/status", "dan", {"online": True})  # offered o-1 again at 3:10

    delivery.system.advance(3 * MINUTE)

    third = START + 5 * MINUTE + 10_000
    assert [(m["expiresAt"], m["count"]) for m in delivery.bus(MISSED)] == [(FIRST, 1), (third, 1)]
    assert profile(delivery, "dan")["online"] is True


@pytest.mark.parametrize(
    "late", [10_000, 90_000], ids=["before-it-was-taken-back", "after-it-was-taken-back"]
)
def test_an_offer_that_reached_the_app_after_it_expired_is_no_miss(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, late: int
) -> None:
    # GIVEN o-1's second offer to dan (made at 3:00, expiring at 5:00) reaches his app only
    # ``late`` after it expired: he never had a chance to answer it
    second_offer = hold_event(
        delivery, monkeypatch, "listener", "delivery-offered", lambda b: b["expiresAt"] == SECOND
    )
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    delivery.system.advance(5 * MINUTE + late)
    second_offer()

    delivery.system.advance(6 * MINUTE + 30_000 - (5 * MINUTE + late))  # taken back at 6:00

    # THEN dispatch counts it, but driver-bff leaves dan online: one miss is his
    assert [(m["expiresAt"], m["count"]) for m in delivery.bus(MISSED)] == [(FIRST, 1), (SECOND, 2)]
    me = profile(delivery, "dan")
    assert (me["online"], me["offlineReason"]) == (True, None)
    assert told_offline(delivery, "dan") == []


def test_a_driver_carrying_food_is_never_taken_offline_for_misses(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    offer_then_accept(delivery, "o-1", "dan")
    late = [START + 10 * MINUTE, START + 13 * MINUTE]  # after his answer: they would count

    delivery.inject(
        new_event(
            MISSED,
            "driver",
            {
                "driverId": "dan",
                "deliveryId": "d-o-9",
                "expiresAt": late[1],
                "count": 2,
                "missed": late,
            },
            partition_key="dan",
            timestamp=delivery.clock.now_ms(),
        )
    )

    assert profile(delivery, "dan")["online"] is True
    assert told_offline(delivery, "dan") == []
