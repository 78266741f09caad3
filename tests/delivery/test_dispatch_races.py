"""dispatch-control under Google's delivery: statuses of one millisecond heard out of order."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.dispatch_control.timeouts import STALE_RESERVATION_MS
from tests.delivery.conftest import FAR, MINUTE, NEAR, START, Delivery, order_event
from tests.delivery.held import before_update, hold_event


@pytest.mark.parametrize("status", ["accepted", "ready"])
def test_a_status_of_the_cancellations_millisecond_heard_after_it_sends_no_driver(
    delivery: Delivery, status: str
) -> None:
    # Order may stamp two statuses with one time (an answer folded late takes the time of the
    # write before it), and announces them from an unordered trigger
    delivery.driver("dan")
    delivery.order("o-1", "cancelled", reason="rejected", changedAt=START)

    delivery.order("o-1", status, changedAt=START)

    assert delivery.store.get("deliveries", "d-o-1") is None
    assert delivery.offers("dan") == []
    assert delivery.bus("delivery-offered") == []


def test_a_driver_reserved_by_an_offer_that_died_half_way_who_went_offline_is_freed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the offer's second write (the delivery) dies after dan was reserved (the first),
    # and dan goes offline before the trigger runs again, which then offers o-1 to eve
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)

    def go_offline_then_die() -> None:
        going = delivery.client.put(
            "/me/status", json={"online": False}, headers=delivery.headers("dan")
        )
        assert going.status_code == 200
        raise ConnectionError("the instance died between the two writes")

    crashed = before_update(delivery, monkeypatch, "deliveries", "_offer.", go_offline_then_die)
    delivery.order("o-1", "accepted")
    assert crashed == ["d-o-1"]
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"

    # WHEN dan comes back online
    delivery.call("PUT", "/me/status", "dan", {"online": True})

    # THEN he is free, and offered the next order
    dan = delivery.store.get("dispatch-drivers", "dan")
    assert dan is not None and dan["offeredDeliveryId"] is None
    delivery.order("o-2", "accepted")
    assert delivery.delivery("o-2")["offer"]["driverId"] == "dan"


def test_a_driver_whose_decline_is_heard_after_the_offer_ran_out_is_never_offered_it_again(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan declines o-1 in time, and dispatch hears of it only once the offer was taken
    # back as run out and offered to eve
    deliver_late = hold_event(delivery, monkeypatch, "collector", "offer-declined")
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    delivery.system.advance(3 * MINUTE)
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"

    deliver_late()

    # THEN when eve lets it run out too, o-1 is not offered to dan again
    assert delivery.delivery("o-1")["declinedBy"] == ["dan"]
    delivery.system.advance(3 * MINUTE)
    assert [o["driverId"] for o in delivery.bus("delivery-offered")] == ["dan", "eve", "eve"]
    assert delivery.offers("dan") == []


def test_a_driver_who_goes_offline_while_being_offered_a_delivery_lets_it_go_at_once(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan goes offline, and dispatch hears of it, between his reservation for o-1 and
    # the offer's write (two instances at work at once)
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)

    def go_offline() -> None:
        delivery.call("PUT", "/me/status", "dan", {"online": False})

    interleaved = before_update(delivery, monkeypatch, "deliveries", "_offer.", go_offline)
    delivery.order("o-1", "accepted")
    assert interleaved == ["d-o-1"]

    # THEN the offer goes to eve without waiting for dan's to run out
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"
    dan = delivery.store.get("dispatch-drivers", "dan")
    assert dan is not None and (dan["online"], dan["offeredDeliveryId"]) == (False, None)


def test_two_sweeps_at_once_take_back_a_run_out_offer_once_not_the_offer_made_again(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the 3:00 sweep runs twice at once (a slow run, or Cloud Scheduler's retry): one
    # takes dan's run-out offer back and o-1 is offered to him again, before the other's write
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")

    def other_sweep() -> None:
        delivery.system.tick()
        delivery.system.run_until_quiet()

    interleaved = before_update(delivery, monkeypatch, "deliveries", "withdrawal.", other_sweep)
    delivery.system.advance(3 * MINUTE)
    assert interleaved == ["d-o-1"]

    # THEN the new offer stands
    assert delivery.delivery("o-1")["offer"] == {"driverId": "dan", "expiresAt": START + 5 * MINUTE}
    assert [o["expiresAt"] for o in delivery.bus("offer-withdrawn")] == [START + 2 * MINUTE]
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]


def test_a_try_that_chose_a_driver_before_they_declined_does_not_offer_it_to_them(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two tries to offer o-1 at once (its change's and a nudge's) both choose dan; one
    # offers it to him and he declines before the other reserves him
    delivery.driver("dan", at=NEAR)

    def the_other_try() -> None:
        nudged = delivery.store.update(
            "deliveries", "d-o-1", lambda d: {**d, "nudgedBy": "another"} if d else None
        )
        assert nudged is not None
        delivery.system.run_until_quiet()
        assert delivery.answer("d-o-1", "decline", "dan").status_code == 200

    interleaved = before_update(
        delivery, monkeypatch, "dispatch-drivers", "_reservation.", the_other_try
    )
    delivery.order("o-1", "accepted")
    assert interleaved == ["dan"]

    # THEN he is not offered it again
    found = delivery.delivery("o-1")
    assert (found["status"], found["declinedBy"]) == ("searching", ["dan"])
    assert [o["driverId"] for o in delivery.bus("delivery-offered")] == ["dan"]
    dan = delivery.store.get("dispatch-drivers", "dan")
    assert dan is not None and dan["offeredDeliveryId"] is None


@pytest.mark.parametrize("takes_o2", [False, True])
def test_an_offer_written_after_its_driver_was_reserved_for_another_is_taken_back(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, takes_o2: bool
) -> None:
    # GIVEN between dan's reservation for o-1 and the offer's write, dan goes offline (which
    # drops a reservation no offer stands for yet) and back online, and is offered o-2, which
    # has waited longer (heard late), and maybe takes it: another instance's work landing
    # between the two writes
    delivery.driver("dan", at=NEAR)
    delivery.system.advance(MINUTE)
    o2_accepted = order_event("o-2", "accepted", START)

    def offline_online_and_offered_another() -> None:
        delivery.call("PUT", "/me/status", "dan", {"online": False})
        delivery.send("order", o2_accepted)
        delivery.call("PUT", "/me/status", "dan", {"online": True})
        assert delivery.delivery("o-2")["offer"]["driverId"] == "dan"
        if takes_o2:
            assert delivery.answer("d-o-2", "accept", "dan").status_code == 200

    interleaved = before_update(
        delivery, monkeypatch, "deliveries", "_offer.", offline_online_and_offered_another
    )
    delivery.order("o-1", "accepted")
    assert interleaved == ["d-o-1"]

    # THEN o-1 is not offered to dan, who holds o-2, and searches again without counting
    # against him
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ([] if takes_o2 else ["d-o-2"])
    o1 = delivery.delivery("o-1")
    assert (o1["status"], o1["missedBy"], o1["declinedBy"]) == ("searching", [], [])
    dan = delivery.store.get("dispatch-drivers", "dan")
    held = ("d-o-2", None) if takes_o2 else (None, "d-o-2")
    assert dan is not None and (dan["deliveryId"], dan["offeredDeliveryId"]) == held
    assert delivery.bus("driver-missed-offers") == []


def test_a_driver_reserved_by_an_offer_whose_every_try_died_half_way_is_freed_by_the_sweep(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN every try to offer o-1 dies after reserving dan (the first write) and before the
    # offer (the second), until the change is dead-lettered; dan stays online
    delivery.driver("dan")
    update = delivery.store.update

    def offer_dies(collection: str, key: str, updater: Any) -> Any:
        if collection == "deliveries" and updater.__qualname__.startswith("_offer."):
            raise ConnectionError("the instance died between the two writes")
        return update(collection, key, updater)

    monkeypatch.setattr(delivery.store, "update", offer_dies)
    delivery.order("o-1", "accepted")
    monkeypatch.undo()
    assert delivery.faults() != []  # the change was dead-lettered
    dan = delivery.store.get("dispatch-drivers", "dan")
    assert dan is not None and dan["offeredDeliveryId"] == "d-o-1"
    assert delivery.delivery("o-1")["status"] == "searching"

    # WHEN the sweep runs while the reservation is younger than the bound, then once older
    delivery.system.advance(STALE_RESERVATION_MS - MINUTE)
    assert delivery.delivery("o-1")["status"] == "searching"
    delivery.system.advance(MINUTE)

    # THEN dan is freed, and the sweep offers him the delivery that waited
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]
    assert delivery.bus("driver-missed-offers") == []


def test_an_accept_heard_once_its_driver_went_offline_assigns_nothing(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN o-1 offered to dan, who accepts it in time; another instance saves him offline
    # (its own withdrawal of his offer still to come) as dispatch collects the accept
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"

    def saved_offline() -> None:
        delivery.store.update("dispatch-drivers", "dan", lambda d: {**d, "online": False})

    landed = before_update(delivery, monkeypatch, "deliveries", "_offer_accepted.", saved_offline)

    # WHEN the accept is collected
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200

    # THEN dan is not assigned o-1: his offer goes as missed, and eve is offered it
    assert landed == ["d-o-1"]
    assert delivery.bus("delivery-assigned") == []
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"
    assert delivery.delivery("o-1")["missedBy"] == ["dan"]
    assert delivery.store.get("dispatch-drivers", "dan")["deliveryId"] is None
    assert delivery.faults() == []


def test_a_driver_who_went_offline_in_the_millisecond_of_a_location_report_heard_late_stays_offline(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan's app reports a position and goes offline in one millisecond, and the
    # position's driver-updated (still online) reaches dispatch after the offline one
    delivery.driver("dan", at=NEAR)
    moved = {"lat": 52.5301, "lng": 13.4021}
    deliver_late = hold_event(
        delivery, monkeypatch, "collector", "driver-updated", lambda b: b["location"] == moved
    )
    delivery.call("PUT", "/me/location", "dan", moved)
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200

    deliver_late()
    delivery.order("o-1", "accepted")

    dan = delivery.store.get("dispatch-drivers", "dan")
    assert dan is not None and dan["online"] is False
    assert delivery.delivery("o-1")["status"] == "searching"  # nobody to offer it to
    assert delivery.bus("delivery-offered") == []
