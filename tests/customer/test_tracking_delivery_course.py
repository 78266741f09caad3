"""tracking-bff: who brings the order, as Delivery's statuses come, repeated or out of order.

Delivery hands an order from one driver to the next by publishing the first one's
``released`` and the next one's ``assigned`` with one ``changedAt``, and may publish a
status again after a later one; its ``revision`` says which comes later. These tests
put the internal ``delivery-status-changed`` on the bus as delivery-esg does, with the
``revision`` Delivery published.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.envelope import new_event
from tests.customer.conftest import START, Customer

DAN = {"name": "Dan"}
EVA = {"name": "Eva"}


def delivery(
    customer: Customer, order_id: str, status: str, driver: dict[str, str], at: int, **more: Any
) -> None:
    """delivery-esg puts a delivery status on the bus (a new event each time)."""
    body = {
        "id": f"d-{order_id}",
        "orderId": order_id,
        "status": status,
        "driver": driver,
        "location": None,
        "changedAt": at,
        **more,
    }
    event = new_event("delivery-status-changed", "delivery", body, partition_key=order_id)
    customer.send("customer", event)


def driver(customer: Customer, order_id: str) -> Any:
    response = customer.call("tracking-bff", "GET", f"/orders/{order_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["driver"]


def test_a_release_repeated_after_the_next_drivers_assignment_does_not_hide_them(
    shop: Customer,
) -> None:
    # GIVEN Dan took the order, then handed it over to Eva in one millisecond
    order_id = shop.place_order()
    delivery(shop, order_id, "assigned", DAN, START + 1, revision="0001/01")
    delivery(shop, order_id, "released", DAN, START + 2, revision="0002/01")
    delivery(shop, order_id, "assigned", EVA, START + 2, revision="0002/02")
    assert driver(shop, order_id) == EVA

    # WHEN Dan's release is published again, after Eva's assignment (another event id)
    delivery(shop, order_id, "released", DAN, START + 2, revision="0002/01")

    # THEN Eva still shows as bringing the order
    assert driver(shop, order_id) == EVA
    assert shop.faults() == []


def test_a_later_revision_is_taken_whatever_order_the_hand_over_arrives_in(
    shop: Customer,
) -> None:
    order_id = shop.place_order()
    delivery(shop, order_id, "assigned", DAN, START + 1, revision="0001/01")
    delivery(shop, order_id, "assigned", EVA, START + 2, revision="0002/02")

    delivery(shop, order_id, "released", DAN, START + 2, revision="0002/01")

    assert driver(shop, order_id) == EVA


@pytest.mark.parametrize("revision", [None, "0002/01"], ids=["none", "first-with-one"])
def test_without_revisions_to_compare_the_later_time_is_taken(
    shop: Customer, revision: str | None
) -> None:
    """Statuses published before Delivery added ``revision`` are ordered by time."""
    order_id = shop.place_order()
    delivery(shop, order_id, "assigned", DAN, START + 1)
    delivery(shop, order_id, "released", DAN, START + 2, revision=revision)
    delivery(shop, order_id, "assigned", EVA, START + 3)

    delivery(shop, order_id, "released", DAN, START + 2, revision=revision)

    assert driver(shop, order_id) == EVA


def test_delivery_esg_passes_on_the_revision_tracking_orders_the_hand_over_by(
    shop: Customer,
) -> None:
    """The same, as Delivery publishes it: through delivery-esg's ingress."""
    order_id = shop.place_order()
    dan, eva = {"id": "driver-7", "name": "Dan"}, {"id": "driver-8", "name": "Eva"}
    handed_over = {"location": None, "changedAt": START + 2}
    shop.delivery(order_id, "assigned", driver=dan, location=None, revision="0001/01")
    shop.delivery(order_id, "released", driver=dan, revision="0002/01", **handed_over)
    shop.delivery(order_id, "assigned", driver=eva, revision="0002/02", **handed_over)

    shop.delivery(order_id, "released", driver=dan, revision="0002/01", **handed_over)

    assert driver(shop, order_id) == EVA


def test_a_status_without_a_revision_keeps_the_greatest_revision_heard(shop: Customer) -> None:
    """An older producer's status (no ``revision``) taken by its time after the hand-over
    does not make tracking forget where the hand-over put Eva."""
    # GIVEN Dan handed the order over to Eva in one millisecond
    order_id = shop.place_order()
    delivery(shop, order_id, "assigned", DAN, START + 1, revision="0001/01")
    delivery(shop, order_id, "released", DAN, START + 2, revision="0002/01")
    delivery(shop, order_id, "assigned", EVA, START + 2, revision="0002/02")
    # AND an older producer published Eva's assignment again, without a revision
    delivery(shop, order_id, "assigned", EVA, START + 2)
    assert driver(shop, order_id) == EVA

    # WHEN Dan's release is published again
    delivery(shop, order_id, "released", DAN, START + 2, revision="0002/01")

    # THEN Eva still shows as bringing the order
    assert driver(shop, order_id) == EVA
    assert shop.doc("tracking", order_id)["deliveryRevision"] == "0002/02"


def test_statuses_without_a_revision_after_ones_with_it_are_ordered_by_time(
    shop: Customer,
) -> None:
    order_id = shop.place_order()
    delivery(shop, order_id, "assigned", DAN, START + 1, revision="0001/01")
    delivery(shop, order_id, "released", DAN, START + 2, revision="0002/01")

    delivery(shop, order_id, "assigned", DAN, START + 1)  # older: set aside
    assert driver(shop, order_id) is None
    delivery(shop, order_id, "assigned", EVA, START + 3)  # later: taken
    assert driver(shop, order_id) == EVA
    delivery(shop, order_id, "released", DAN, START + 2, revision="0002/01")  # again
    assert driver(shop, order_id) == EVA
