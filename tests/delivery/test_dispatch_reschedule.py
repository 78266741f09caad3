"""dispatch-control: a new ready time moves only a search still waiting to start."""

from __future__ import annotations

from tests.delivery.conftest import MINUTE, START, Delivery


def test_food_said_to_be_ready_later_leaves_a_delivery_searching_already_as_it_is(
    delivery: Delivery,
) -> None:
    delivery.order("o-1", "accepted", readyBy=START + 10 * MINUTE)  # no driver online yet
    searching = delivery.delivery("o-1")
    assert searching["status"] == "searching"

    delivery.order("o-1", "accepted", readyBy=START + 120 * MINUTE, changedAt=START + 1)

    after = delivery.delivery("o-1")
    assert (after["status"], after["searchFrom"]) == ("searching", searching["searchFrom"])


def test_food_said_to_be_ready_later_leaves_a_delivery_with_its_driver(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted", readyBy=START + 10 * MINUTE)
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    assigned = delivery.delivery("o-1")
    assert (assigned["status"], assigned["driver"]["id"]) == ("assigned", "dan")

    delivery.order("o-1", "accepted", readyBy=START + 120 * MINUTE, changedAt=START + 1)

    after = delivery.delivery("o-1")
    assert (after["status"], after["driver"]["id"], after["searchFrom"]) == (
        "assigned",
        "dan",
        assigned["searchFrom"],
    )
    assert delivery.statuses() == [("assigned", "dan")]
