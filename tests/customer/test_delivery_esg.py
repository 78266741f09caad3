"""delivery-esg: Delivery's status changes come in, keyed by the order."""

from __future__ import annotations

import logging

import pytest

from delivery.contracts import DeliveryStatusChanged
from shared.clock import LATEST_MS
from shared.envelope import new_event
from tests.customer.conftest import Customer


def test_a_delivery_status_comes_in_keyed_by_its_order_with_the_drivers_name_only(
    customer: Customer,
) -> None:
    customer.delivery("o-1", "picked-up", location={"lat": 52.5, "lng": 13.4})

    [event] = customer.events("delivery-status-changed")
    assert event.partition_key == "o-1"
    assert event.entity == "delivery"
    assert event.body == {
        "id": "d-o-1",
        "orderId": "o-1",
        "status": "picked-up",
        "driver": {"name": "Dan"},
        "location": {"lat": 52.5, "lng": 13.4},
        "changedAt": customer.clock.now_ms(),
        "revision": None,
    }


def test_a_delivery_without_a_location_comes_in_with_none(customer: Customer) -> None:
    customer.delivery("o-1", "assigned", location=None)

    [event] = customer.events("delivery-status-changed")
    assert event.body["location"] is None


PICKED_UP = {
    "id": "d-o-1",
    "orderId": "o-1",
    "status": "picked-up",
    "driver": {"id": "dan", "name": "Dan"},
    "location": {"lat": 52.5, "lng": 13.4},
    "changedAt": 1,
}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"id": "d-1", "orderId": "o-1", "status": "assigned", "changedAt": 1}, "driver"),
        # a location off the Earth, never shown to the customer
        ({**PICKED_UP, "location": {"lat": 91, "lng": 13.4}}, "location"),
        ({**PICKED_UP, "location": {"lat": 52.5, "lng": -180.5}}, "location"),
        # no order to key it by, and a time before 1970: the contract's own bounds
        ({**PICKED_UP, "orderId": ""}, "orderId"),
        ({**PICKED_UP, "changedAt": -1}, "changedAt"),
    ],
)
def test_a_delivery_status_that_breaks_the_contract_becomes_a_fault(
    customer: Customer, body: dict[str, object], named: str
) -> None:
    broken = new_event(
        DeliveryStatusChanged.TYPE,
        "delivery",
        body,
        partition_key="o-1",
        tags={"subsystem": "delivery", "schemaVersion": "1"},
    )
    customer.send("delivery", broken)

    assert customer.events("delivery-status-changed") == []
    [fault] = customer.faults()
    assert fault["function"] == "customer/delivery-esg/ingress"
    assert named in fault["error"]["message"]


def test_a_driver_handing_the_order_back_comes_in_and_unknown_statuses_are_skipped(
    customer: Customer, caplog: pytest.LogCaptureFixture
) -> None:
    customer.delivery("o-1", "released", location=None)
    unknown = new_event(
        DeliveryStatusChanged.TYPE,
        "delivery",
        {
            "id": "d-o-1",
            "orderId": "o-1",
            "status": "rerouted",
            "driver": {"id": "driver-7", "name": "Dan"},
            "changedAt": 1,
        },
        partition_key="o-1",
        tags={"subsystem": "delivery", "schemaVersion": "1"},
    )
    customer.send("delivery", unknown)

    [event] = customer.events("delivery-status-changed")
    assert (event.body["status"], event.body["location"]) == ("released", None)
    assert customer.faults() == []
    [skipped] = [r for r in caplog.records if "'rerouted' is unknown here" in r.getMessage()]
    assert skipped.levelno == logging.WARNING, "a consumer behind its producer is a warning"


def test_a_cancelled_delivery_is_left_aside_quietly(
    customer: Customer, caplog: pytest.LogCaptureFixture
) -> None:
    customer.delivery("o-1", "cancelled", location=None)

    assert customer.events("delivery-status-changed") == []
    assert customer.faults() == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("changed_at", [2**63, 10**20, LATEST_MS])
def test_any_time_the_contract_allows_comes_in_as_one_the_customer_can_keep(
    shop: Customer, changed_at: int
) -> None:
    # Delivery's contract bounds no time above: past 64 bits, tracking-bff's listener could not
    # store the driver, a fault each time
    order_id = shop.place_order()

    shop.delivery(order_id, "picked-up", changedAt=changed_at)

    assert shop.faults() == []
    [event] = shop.events("delivery-status-changed")
    assert event.body["changedAt"] == LATEST_MS
    view = shop.call("tracking-bff", "GET", f"/orders/{order_id}").get_json()
    assert view["driver"] == {"name": "Dan"}


def test_a_hand_back_published_again_after_the_next_assignment_leaves_the_next_driver(
    shop: Customer,
) -> None:
    # Delivery hands the order from Dan to Eva: Dan's ``released`` and Eva's ``assigned`` share
    # a time, their revisions order them, and Dan's is published again after Eva's
    order_id = shop.place_order()
    dan, eva = {"id": "dan", "name": "Dan"}, {"id": "eva", "name": "Eva"}
    shop.delivery(order_id, "assigned", driver=dan, location=None, revision="r/001/00")
    shop.clock.advance(60_000)
    handed_back = {"driver": dan, "location": None, "revision": "r/002/00"}
    shop.delivery(order_id, "released", **handed_back)
    shop.delivery(order_id, "assigned", driver=eva, location=None, revision="r/002/01")

    shop.delivery(order_id, "released", **handed_back)  # again, under another id

    assert len(shop.events("delivery-status-changed")) == 4
    view = shop.call("tracking-bff", "GET", f"/orders/{order_id}").get_json()
    assert view["driver"] == {"name": "Eva"}
    assert shop.faults() == []
