"""order-esg: the order's status comes in as ``order-updated``; the delivery's goes out as v1."""

from __future__ import annotations

from shared.envelope import new_event
from shared.topology import Topic
from tests.delivery.conftest import HOME, RESTAURANT, START, Delivery, offer_then_accept


def test_an_order_status_change_becomes_order_updated_with_only_what_delivery_needs(
    delivery: Delivery,
) -> None:
    delivery.order("o-1", "accepted")

    [event] = [e for e in delivery.events[Topic.BUS] if e.type == "order-updated"]
    assert event.partition_key == "o-1"
    assert event.body == {
        "id": "o-1",
        "status": "accepted",
        "reason": None,
        "customerRef": "ref-o-1",
        "restaurant": {"id": "r-1", "name": "Trattoria Roma", "address": RESTAURANT},
        "deliveryAddress": HOME,
        "notifyCustomer": True,
        "readyBy": None,
        "changedAt": START,
    }


def test_an_order_event_that_breaks_the_contract_becomes_a_fault(delivery: Delivery) -> None:
    delivery.order("o-1", "accepted", customerRef=None)

    [fault] = delivery.faults()
    assert fault["function"] == "delivery/order-esg/ingress"
    assert fault["error"]["type"] == "InvalidEventError"
    assert "customerRef" in fault["error"]["message"]
    assert delivery.bus("order-updated") == []


def test_delivery_status_changes_are_published_as_the_v1_contract(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    [event] = delivery.events[Topic.EXTERNAL]
    assert event.type == "delivery.delivery-status-changed"
    assert event.partition_key == "o-1"
    assert event.tags["schemaVersion"] == "1"
    assert event.body == {
        "id": "d-o-1",
        "orderId": "o-1",
        "status": "assigned",
        "driver": {"id": "dan", "name": "Dan"},
        "location": None,  # followed from the pickup on
        "changedAt": START,
    }


def test_an_internal_status_the_contract_does_not_know_becomes_a_fault(
    delivery: Delivery,
) -> None:
    body = {
        "id": "d-o-1",
        "orderId": "o-1",
        "status": "searching",
        "driver": {"id": "dan", "name": "Dan"},
        "location": None,
        "changedAt": START,
    }
    event = new_event("delivery-status-changed", "delivery", body, partition_key="o-1")

    delivery.inject(event)

    assert delivery.events[Topic.EXTERNAL] == []
    [fault] = [f for f in delivery.faults() if f["function"] == "delivery/order-esg/egress"]
    assert fault["reason"] == "poison"
    assert "status" in fault["error"]["message"]


def test_a_cancellation_in_v2_reaches_the_bus_with_its_reason(delivery: Delivery) -> None:
    delivery.order("o-1", "cancelled", reason="no-driver", deliveryAddress=None)

    [event] = [e for e in delivery.events[Topic.BUS] if e.type == "order-updated"]
    assert (event.body["status"], event.body["reason"]) == ("cancelled", "no-driver")
    assert "cancellation" not in event.body


def test_v1_is_left_to_the_consumers_still_on_it(delivery: Delivery) -> None:
    v1 = new_event(
        "order.order-status-changed",
        "order",
        {"id": "o-1", "status": "accepted", "total": 950, "currency": "EUR"},
        partition_key="o-1",
        tags={"subsystem": "order", "schemaVersion": "1"},
    )
    delivery.inject(v1, producer="order")

    assert (delivery.bus("order-updated"), delivery.faults()) == ([], [])
