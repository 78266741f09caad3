"""dispatch-control: a delivery everyone near declined goes round again. Once nobody else can
take it, it is offered again to a driver who declined it at least ``DECLINE_COOL_DOWN_MS``
ago (the one who declined it longest ago first), never to one who is offline, busy, or handed
it back; the offer is an ordinary one, and Order's no-driver deadline still ends the search."""

from __future__ import annotations

import pytest

from delivery.dispatch_control.records import DECLINE_COOL_DOWN_MS as COOL_DOWN
from order.lifecycle_control.deadlines import DRIVER_DEADLINE_MS as NO_DRIVER_DEADLINE
from tests.delivery.conftest import FAR, FURTHER, MINUTE, NEAR, START, Delivery, offer_then_accept
from tests.delivery.held import hold_event

OFFER_MS = 2 * MINUTE


def offered_to(delivery: Delivery) -> list[str]:
    """The driver of each ``delivery-offered``, in order."""
    return [offer["driverId"] for offer in delivery.bus("delivery-offered")]


def dan_declined_alone(delivery: Delivery) -> None:
    """dan, the only driver, declines o-1 at ``START``."""
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200


def test_a_delivery_everyone_declined_is_offered_again_once_the_cool_down_has_passed(
    delivery: Delivery,
) -> None:
    # GIVEN dan (near) and eve (far) both declined o-1 at START
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    assert delivery.answer("d-o-1", "decline", "eve").status_code == 200

    # WHEN the sweeps run until just before the cool-down ends, THEN nobody is offered it
    delivery.system.advance(COOL_DOWN - 1)
    assert (delivery.delivery("o-1")["status"], offered_to(delivery)) == (
        "searching",
        ["dan", "eve"],
    )

    # WHEN the sweep runs as it ends, THEN it goes to the nearer of the two, as any offer
    delivery.system.advance(1)
    expires_at = START + COOL_DOWN + OFFER_MS
    assert delivery.delivery("o-1")["offer"] == {"driverId": "dan", "expiresAt": expires_at}
    assert [(o["deliveryId"], o["expiresAt"]) for o in delivery.offers("dan")] == [
        ("d-o-1", expires_at)
    ]
    assert delivery.offers("eve") == []
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    assert delivery.statuses() == [("assigned", "dan")]
    assert delivery.faults() == []


def test_a_driver_who_declined_is_offered_it_again_only_when_nobody_else_can_take_it(
    delivery: Delivery,
) -> None:
    # GIVEN dan declined o-1 at START, and eve, further away, comes online at 9 min
    dan_declined_alone(delivery)
    delivery.system.advance(9 * MINUTE)
    delivery.driver("eve", at=FAR)
    assert offered_to(delivery) == ["dan", "eve"]

    # WHEN eve lets her offer run out, after dan's cool-down has passed
    delivery.system.advance(3 * MINUTE)

    # THEN she is offered it again first: she never said no
    assert offered_to(delivery) == ["dan", "eve", "eve"]

    # AND once she declines it, nobody else can take it: dan has it again at once
    assert delivery.answer("d-o-1", "decline", "eve").status_code == 200
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"
    assert offered_to(delivery) == ["dan", "eve", "eve", "dan"]


def test_a_driver_who_declined_twice_waits_the_cool_down_again(delivery: Delivery) -> None:
    dan_declined_alone(delivery)
    delivery.system.advance(COOL_DOWN)
    assert offered_to(delivery) == ["dan", "dan"]

    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    delivery.system.advance(COOL_DOWN - 1)
    assert (delivery.delivery("o-1")["status"], offered_to(delivery)) == (
        "searching",
        ["dan", "dan"],
    )

    delivery.system.advance(1)
    assert delivery.delivery("o-1")["offer"] == {
        "driverId": "dan",
        "expiresAt": START + 2 * COOL_DOWN + OFFER_MS,
    }


def test_the_driver_who_declined_longest_ago_is_offered_it_again_first_never_one_who_handed_it_back(
    delivery: Delivery,
) -> None:
    # GIVEN dan (far) declines o-1 at START, eve (near) at 1 min; fay takes it, and hands it
    # back once both cool-downs have passed
    delivery.driver("dan", at=FAR)
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    delivery.clock.advance(MINUTE)
    delivery.driver("eve", at=NEAR)
    assert delivery.answer("d-o-1", "decline", "eve").status_code == 200
    delivery.driver("fay", at=FURTHER)
    assert delivery.answer("d-o-1", "accept", "fay").status_code == 200
    delivery.system.advance(COOL_DOWN + MINUTE)

    # WHEN she hands it back
    assert delivery.call("POST", "/deliveries/d-o-1/release", "fay", {}).status_code == 200

    # THEN dan, who declined it first, has it, though eve is nearer
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"

    # AND when dan and eve say no again, it waits: fay, free, is never offered it again
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"
    assert delivery.answer("d-o-1", "decline", "eve").status_code == 200
    delivery.system.advance(COOL_DOWN - 1)
    assert offered_to(delivery) == ["dan", "eve", "fay", "dan", "eve"]
    assert delivery.offers("fay") == []


def test_a_driver_offline_or_busy_when_the_cool_down_ends_is_offered_it_once_free(
    delivery: Delivery,
) -> None:
    # GIVEN dan declined o-1, went offline, and is back after the cool-down, busy with o-2
    dan_declined_alone(delivery)
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200
    delivery.system.advance(COOL_DOWN + MINUTE)
    assert offered_to(delivery) == ["dan"]
    assert delivery.call("PUT", "/me/status", "dan", {"online": True}).status_code == 200
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"  # offered as he came back
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    offer_then_accept(delivery, "o-2", "dan")
    delivery.system.advance(COOL_DOWN + MINUTE)
    assert offered_to(delivery) == ["dan", "dan", "dan"]  # o-1, o-1 again, o-2

    # WHEN he delivers o-2
    delivery.call("POST", "/deliveries/d-o-2/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-2/delivered", "dan")

    # THEN he is offered o-1 again at once
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"


def test_a_decline_heard_once_the_driver_was_offered_it_again_leaves_that_offer_standing(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan declines o-1 in time, and dispatch hears of it only once his offer was taken
    # back as run out and made to him again (nobody else is near)
    deliver_late = hold_event(delivery, monkeypatch, "collector", "offer-declined")
    dan_declined_alone(delivery)
    delivery.system.advance(3 * MINUTE)
    offer = delivery.delivery("o-1")["offer"]
    assert offer == {"driverId": "dan", "expiresAt": START + 3 * MINUTE + OFFER_MS}

    # WHEN the decline arrives
    deliver_late()

    # THEN it takes back only the offer it answered: the new one stands, and he may take it
    assert delivery.delivery("o-1")["offer"] == offer
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    assert delivery.statuses() == [("assigned", "dan")]


def test_an_offer_made_again_that_runs_out_is_a_miss(delivery: Delivery) -> None:
    dan_declined_alone(delivery)
    delivery.system.advance(COOL_DOWN + OFFER_MS + MINUTE)  # made again, run out, taken back

    [missed] = delivery.bus("driver-missed-offers")
    assert (missed["driverId"], missed["expiresAt"]) == ("dan", START + COOL_DOWN + OFFER_MS)
    assert delivery.delivery("o-1")["missedBy"] == ["dan"]


def test_a_driver_who_accepts_it_again_then_hands_it_back_is_never_offered_it_again(
    delivery: Delivery,
) -> None:
    dan_declined_alone(delivery)
    delivery.system.advance(COOL_DOWN)
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200

    assert delivery.call("POST", "/deliveries/d-o-1/release", "dan", {}).status_code == 200
    delivery.system.advance(2 * COOL_DOWN)

    assert (delivery.delivery("o-1")["status"], offered_to(delivery)) == (
        "searching",
        ["dan", "dan"],
    )
    assert delivery.offers("dan") == []


def test_orders_no_driver_deadline_ends_a_search_whose_offers_everyone_keeps_declining(
    delivery: Delivery,
) -> None:
    # GIVEN dan declines o-1 each time it comes back to him, the cool-down apart, until
    # Order's deadline, when he is offered it once more
    dan_declined_alone(delivery)
    for _ in range((NO_DRIVER_DEADLINE + COOL_DOWN) // MINUTE):
        delivery.system.advance(MINUTE)
        offered = delivery.delivery("o-1")["offer"]
        if offered is not None and delivery.clock.now_ms() >= START + NO_DRIVER_DEADLINE:
            break
        if offered is not None:
            assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    assert offered_to(delivery) == ["dan"] * (1 + NO_DRIVER_DEADLINE // COOL_DOWN)

    # WHEN Order cancels the order, no driver having taken it
    delivery.order("o-1", "cancelled", reason="no-driver", changedAt=delivery.clock.now_ms())

    # THEN the offer is withdrawn, the delivery cancelled, and nothing is offered any more
    assert delivery.delivery("o-1")["status"] == "cancelled"
    assert delivery.bus("offer-withdrawn")[-1]["expiresAt"] == offered["expiresAt"]
    assert [c["driverId"] for c in delivery.bus("delivery-cancelled")] == [None]
    assert delivery.offers("dan") == []
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 409
    announced = len(delivery.bus("delivery-offered"))
    delivery.system.advance(2 * COOL_DOWN)
    assert len(delivery.bus("delivery-offered")) == announced
    assert delivery.faults() == []
