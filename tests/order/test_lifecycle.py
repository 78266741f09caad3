"""The lifecycle fold alone: pure, deterministic, tolerant of duplicates and late arrivals."""

from __future__ import annotations

from typing import Any

import pytest

from order.lifecycle_control.deadlines import DEADLINE_OF
from order.lifecycle_control.lifecycle import fold
from order.lifecycle_control.transitions import Recorded

PLACED_BODY: dict[str, Any] = {
    "id": "o-1",
    "customerRef": "cref-1",
    "restaurant": {"id": "r-1", "name": "Trattoria", "address": {}},
    "items": [{"menuItemId": "m-1", "name": "Margherita", "quantity": 1, "price": 950}],
    "total": 950,
    "currency": "EUR",
    "deliveryAddress": {"street": "Main St 1"},
    "placedAt": 1_000,
}


def ev(type: str, at: int, id: str | None = None, **body: Any) -> Recorded:
    """A recorded event; restaurant answers come from r-1 unless told otherwise."""
    if type == "order-placed":
        body = {**PLACED_BODY, **body}
    elif type.startswith("restaurant-"):
        body = {"id": "o-1", "restaurantId": "r-1", **body}
    return Recorded(id=id or f"{type}@{at}", type=type, timestamp=at, body=body)


HAPPY = [
    ev("order-placed", 1_000),
    ev("restaurant-accepted", 2_000, prepMinutes=15),
    ev("driver-assigned", 3_000),
    ev("restaurant-ready", 4_000),
    ev("order-picked-up", 5_000),
    ev("order-delivered", 6_000),
]


def history(order: dict[str, Any] | None) -> list[tuple[str, int]]:
    assert order is not None
    return [(h["status"], h["at"]) for h in order["history"]]


def test_the_happy_path_ends_delivered_with_every_step_in_the_history() -> None:
    folded = fold(HAPPY)
    order = folded.order
    assert order is not None
    assert history(order) == [
        ("placed", 1_000),
        ("accepted", 2_000),
        ("ready", 4_000),
        ("picked-up", 5_000),
        ("delivered", 6_000),
    ]
    assert order["status"] == "delivered"
    assert (order["acceptedAt"], order["driverAssigned"], order["assignedAt"]) == (
        2_000,
        True,
        3_000,
    )
    assert (order["changedAt"], order["updatedAt"]) == (6_000, 6_000)
    assert (order["reason"], order["detail"]) == (None, None)
    assert order["customerRef"] == "cref-1" and order["total"] == 950
    assert folded.left_aside == ()


def test_nothing_exists_until_the_order_is_placed() -> None:
    folded = fold([ev("restaurant-accepted", 2_000)])
    assert folded.order is None
    assert [e.type for e in folded.left_aside] == ["restaurant-accepted"]


def test_a_rejection_cancels_with_the_restaurants_words() -> None:
    order = fold(
        [ev("order-placed", 1_000), ev("restaurant-rejected", 2_000, reason="closed")]
    ).order
    assert order is not None
    assert (order["status"], order["reason"], order["detail"]) == (
        "cancelled",
        "rejected",
        "closed",
    )


def test_no_answer_in_time_cancels_for_restaurant_timeout() -> None:
    order = fold([ev("order-placed", 1_000), ev("restaurant-timed-out", 601_000)]).order
    assert order is not None
    assert (order["status"], order["reason"], order["detail"]) == (
        "cancelled",
        "restaurant-timeout",
        None,
    )


def test_the_restaurant_deadline_runs_from_when_order_received_the_order() -> None:
    placed = ev("order-placed", 1_000, receivedAt=721_000)  # 12 minutes on its way
    too_soon = fold([placed, ev("restaurant-timed-out", 601_000)])
    assert too_soon.order is not None and too_soon.order["status"] == "placed"
    assert [e.type for e in too_soon.left_aside] == ["restaurant-timed-out"]
    order = fold([placed, ev("restaurant-timed-out", 1_321_000)]).order
    assert order is not None and order["reason"] == "restaurant-timeout"


def test_an_answer_before_the_deadline_beats_a_timeout_folded_with_it() -> None:
    events = [ev("order-placed", 1_000), ev("restaurant-timed-out", 601_000)]
    folded = fold([*events, ev("restaurant-accepted", 600_999)])
    assert folded.order is not None and folded.order["status"] == "accepted"
    assert [e.type for e in folded.left_aside] == ["restaurant-timed-out"]


def test_an_answer_on_the_deadline_itself_wins_the_tie() -> None:
    events = [ev("order-placed", 1_000), ev("restaurant-timed-out", 601_000)]
    order = fold([*events, ev("restaurant-accepted", 601_000)]).order
    assert order is not None and order["status"] == "accepted"


def test_no_driver_in_time_cancels_an_accepted_or_ready_order() -> None:
    # 30 minutes from the acceptance, or from the food being ready if that is later
    for before, deadline in (([], 1_802_000), ([ev("restaurant-ready", 3_000)], 1_803_000)):
        events = [ev("order-placed", 1_000), ev("restaurant-accepted", 2_000), *before]
        order = fold([*events, ev("driver-timed-out", deadline)]).order
        assert order is not None
        assert (order["status"], order["reason"]) == ("cancelled", "no-driver")


def test_the_no_driver_deadline_waits_for_the_food_to_be_ready() -> None:
    events = [ev("order-placed", 1_000), ev("restaurant-accepted", 2_000, prepMinutes=60)]
    early = fold([*events, ev("driver-timed-out", 1_802_000)]).order
    assert early is not None and early["status"] == "accepted"
    ready_by = 2_000 + 60 * 60_000
    late = fold([*events, ev("driver-timed-out", ready_by + 1_800_000)]).order
    assert late is not None and (late["status"], late["reason"]) == ("cancelled", "no-driver")


def test_a_driver_assigned_before_the_deadline_keeps_the_order_alive() -> None:
    events = [ev("order-placed", 1_000), ev("restaurant-accepted", 2_000)]
    folded = fold([*events, ev("driver-timed-out", 1_802_000), ev("driver-assigned", 1_801_000)])
    assert folded.order is not None and folded.order["status"] == "accepted"
    assert folded.order["driverAssigned"] is True


def test_duplicates_and_repeated_statuses_change_nothing() -> None:
    repeats = [
        ev("restaurant-accepted", 2_000, id="restaurant-accepted@2000"),
        ev("driver-assigned", 3_500),
        ev("order-picked-up", 5_500),
        ev("order-picked-up", 5_700),
    ]
    folded = fold([*HAPPY, *repeats])
    assert folded.order == fold(HAPPY).order
    assert sorted(e.id for e in folded.left_aside) == [
        "driver-assigned@3500",
        "order-picked-up@5500",
        "order-picked-up@5700",
        "restaurant-accepted@2000",
    ]


def test_an_answer_recorded_before_the_order_is_applied_once_it_is_placed() -> None:
    order = fold([ev("restaurant-accepted", 500), ev("order-placed", 1_000)]).order
    assert history(order) == [("placed", 1_000), ("accepted", 1_000)]


def test_delivered_before_picked_up_waits_for_the_pickup() -> None:
    events = [ev("order-placed", 1_000), ev("restaurant-accepted", 2_000)]
    folded = fold([*events, ev("order-delivered", 5_000), ev("order-picked-up", 6_000)])
    assert history(folded.order) == [
        ("placed", 1_000),
        ("accepted", 2_000),
        ("picked-up", 6_000),
        ("delivered", 6_000),
    ]
    assert folded.left_aside == ()


def test_events_after_a_final_state_change_nothing() -> None:
    cancelled = [ev("order-placed", 1_000), ev("restaurant-rejected", 2_000, reason="closed")]
    late = [ev("restaurant-accepted", 3_000), ev("order-picked-up", 4_000)]
    folded = fold([*cancelled, *late])
    assert folded.order == fold(cancelled).order
    assert [e.type for e in folded.left_aside] == ["restaurant-accepted", "order-picked-up"]
    delivered = fold([*HAPPY, ev("driver-timed-out", 9_000), ev("restaurant-ready", 9_500)])
    assert delivered.order == fold(HAPPY).order


def test_an_answer_from_another_restaurant_is_left_aside() -> None:
    folded = fold([ev("order-placed", 1_000), ev("restaurant-accepted", 2_000, restaurantId="r-2")])
    assert folded.order is not None and folded.order["status"] == "placed"
    assert [e.type for e in folded.left_aside] == ["restaurant-accepted"]


def test_the_arrival_order_of_the_events_does_not_matter() -> None:
    assert fold(reversed(HAPPY)).order == fold(HAPPY).order


ACCEPTED = [ev("order-placed", 1_000), ev("restaurant-accepted", 2_000, prepMinutes=0)]
DRIVER_DEADLINE, PICKUP_DEADLINE = 30 * 60_000, 90 * 60_000


def test_a_driver_who_hands_the_order_back_leaves_it_waiting_for_the_next() -> None:
    released = fold([*ACCEPTED, ev("driver-assigned", 3_000), ev("driver-released", 4_000)])
    order = released.order
    assert order is not None
    assert (order["status"], order["driverAssigned"], order["assignedAt"]) == (
        "accepted",
        False,
        None,
    )
    assert order["releasedAt"] == 4_000
    assert history(order) == [("placed", 1_000), ("accepted", 2_000)]
    assert released.left_aside == ()

    again = fold(
        [
            *ACCEPTED,
            ev("driver-assigned", 3_000),
            ev("driver-released", 4_000),
            ev("driver-assigned", 5_000),
        ]
    )
    assert again.order is not None
    assert (again.order["driverAssigned"], again.order["assignedAt"]) == (True, 5_000)
    assert again.left_aside == ()


def test_an_order_handed_back_and_taken_by_another_driver_is_delivered() -> None:
    events = [
        *ACCEPTED,
        ev("driver-assigned", 3_000),
        ev("driver-released", 4_000),
        ev("driver-assigned", 5_000),
        ev("order-picked-up", 6_000),
        ev("order-delivered", 7_000),
    ]
    folded = fold(reversed(events))
    assert folded.order is not None and folded.order["status"] == "delivered"
    assert folded.left_aside == ()


def test_a_release_without_a_driver_or_after_the_pickup_is_left_aside() -> None:
    unassigned = fold([*ACCEPTED, ev("driver-released", 3_000)])
    assert unassigned.order is not None and unassigned.order["releasedAt"] is None
    assert [e.type for e in unassigned.left_aside] == ["driver-released"]
    picked_up = fold([*HAPPY[:5], ev("driver-released", 5_500)])
    assert picked_up.order == fold(HAPPY[:5]).order
    assert [e.type for e in picked_up.left_aside] == ["driver-released"]


def test_the_no_driver_deadline_runs_from_the_release() -> None:
    released_at = 5_000_000
    events = [
        *ACCEPTED,
        ev("driver-assigned", 1_801_000),  # just in time
        ev("driver-timed-out", 2_000 + DRIVER_DEADLINE),  # proposed while it crossed over
        ev("driver-released", released_at),
        ev("driver-timed-out", released_at + DRIVER_DEADLINE - 1),
    ]
    waiting = fold(events)
    assert waiting.order is not None and waiting.order["status"] == "accepted"
    assert [e.type for e in waiting.left_aside] == ["driver-timed-out"] * 2

    order = fold([*events, ev("driver-timed-out", released_at + DRIVER_DEADLINE)]).order
    assert order is not None
    assert (order["status"], order["reason"]) == ("cancelled", "no-driver")
    assert order["changedAt"] == released_at + DRIVER_DEADLINE


def test_the_pickup_deadline_runs_from_the_new_assignment() -> None:
    events = [
        *ACCEPTED,
        ev("driver-assigned", 3_000),
        ev("driver-released", 4_000),
        ev("driver-assigned", 10_000),
        ev("pickup-timed-out", 3_000 + PICKUP_DEADLINE),  # the first driver's deadline
    ]
    waiting = fold(events)
    assert waiting.order is not None and waiting.order["status"] == "accepted"
    assert [e.type for e in waiting.left_aside] == ["pickup-timed-out"]

    order = fold([*events, ev("pickup-timed-out", 10_000 + PICKUP_DEADLINE)]).order
    assert order is not None
    assert (order["status"], order["reason"]) == ("cancelled", "driver-no-show")


def test_a_release_on_the_pickup_deadline_itself_wins_the_tie() -> None:
    deadline = 3_000 + PICKUP_DEADLINE
    events = [*ACCEPTED, ev("driver-assigned", 3_000), ev("pickup-timed-out", deadline)]
    folded = fold([*events, ev("driver-released", deadline)])
    assert folded.order is not None
    assert (folded.order["status"], folded.order["driverAssigned"]) == ("accepted", False)
    assert [e.type for e in folded.left_aside] == ["pickup-timed-out"]


ASSIGNED = [*ACCEPTED, ev("driver-assigned", 3_000)]
PICKED_UP = [*ASSIGNED, ev("order-picked-up", 4_000)]
REASON = {
    "restaurant-timed-out": "restaurant-timeout",
    "driver-timed-out": "no-driver",
    "pickup-timed-out": "driver-no-show",
    "delivery-timed-out": "not-delivered",
}
TOO_LATE = {
    # the order waiting on a deadline, the deadline, the event that comes 1 ms after it
    "restaurant accepts": (ACCEPTED[:1], 601_000, "restaurant-accepted", "restaurant-timed-out"),
    "restaurant rejects": (ACCEPTED[:1], 601_000, "restaurant-rejected", "restaurant-timed-out"),
    "customer cancels": (ACCEPTED[:1], 601_000, "cancel-requested", "restaurant-timed-out"),
    "food ready": (ACCEPTED, 1_802_000, "restaurant-ready", "driver-timed-out"),
    "driver hands back": (ASSIGNED, 5_403_000, "driver-released", "pickup-timed-out"),
    "rejected after all": (ASSIGNED, 5_403_000, "restaurant-rejected", "pickup-timed-out"),
}
FACTS_TOO_LATE = {
    "driver assigned": (ACCEPTED, 1_802_000, "driver-assigned", "driver-timed-out"),
    "picked up": (ASSIGNED, 5_403_000, "order-picked-up", "pickup-timed-out"),
    "delivered": (PICKED_UP, 7_204_000, "order-delivered", "delivery-timed-out"),
}


@pytest.mark.parametrize("case", TOO_LATE, ids=str)
def test_an_event_after_a_passed_deadline_waits_and_loses_to_the_timeout(case: str) -> None:
    events, deadline, late_type, timeout = TOO_LATE[case]
    on_time = fold(events).order
    assert on_time is not None and DEADLINE_OF[timeout].due_at(on_time) == deadline

    late = ev(late_type, deadline + 1)
    folded = fold([*events, late])
    # The order stays as it stood at the deadline, so the schedule reads that deadline...
    assert (folded.order, folded.left_aside) == (on_time, (late,))
    # ...and its timeout wins.
    order = fold([*events, late, ev(timeout, deadline)]).order
    assert order is not None
    assert (order["status"], order["reason"], order["changedAt"]) == (
        "cancelled",
        REASON[timeout],
        deadline,
    )


@pytest.mark.parametrize("case", FACTS_TOO_LATE, ids=str)
def test_a_fact_after_a_passed_deadline_is_taken_until_the_timeout_is(case: str) -> None:
    events, deadline, late_type, timeout = FACTS_TOO_LATE[case]
    late = ev(late_type, deadline + 1)

    taken = fold([*events, late]).order
    assert taken is not None and taken != fold(events).order
    assert (
        fold([*events, late, ev(timeout, deadline)]).order
        == fold([*events, ev(timeout, deadline)]).order
    )  # the timeout, once folded, comes first: the fact is too late then


def test_a_ready_heard_late_does_not_undo_an_assignment_already_taken() -> None:
    # Ready 1 s after the acceptance, heard only after the driver was assigned 35 min later:
    # the driver deadline (30 min from ready) passed before the assignment, which stands.
    events = [*ACCEPTED, ev("driver-assigned", 2_000 + 35 * 60_000), ev("restaurant-ready", 3_000)]
    order = fold(events).order
    assert order is not None
    assert (order["status"], order["driverAssigned"]) == ("ready", True)
