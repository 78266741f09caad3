"""order-esg: the order's status comes in as ``order-updated``; the delivery's goes out as v1."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.contracts import DeliveryStatusChanged
from delivery.dispatch_control.drivers import FOLLOW_EVERY_MS
from delivery.order_esg.egress import course
from shared.envelope import new_event
from shared.topology import Topic
from tests.delivery.conftest import (
    HOME,
    MINUTE,
    NEAR,
    RESTAURANT,
    START,
    Delivery,
    accepted_then_cancelled_unannounced,
    delivered_before_the_pickup_is_announced,
    hold_change,
    offer_then_accept,
    picked_up_unpublished,
    reassigned_before_the_hand_back_is_announced,
    status_announced,
)


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


@pytest.mark.parametrize(
    "changes",
    [
        {"restaurant": {"id": "r-1", "name": "Roma", "address": {**RESTAURANT, "lat": 1e308}}},
        {"restaurant": {"id": "r-1", "name": "Roma", "address": {**RESTAURANT, "lng": -1e308}}},
        {"deliveryAddress": {**HOME, "lng": 181.0}},
    ],
)
def test_an_address_off_the_globe_still_makes_a_delivery(
    delivery: Delivery, changes: dict[str, Any]
) -> None:
    # Order's contract bounds no coordinate: dispatch must place any pickup in a grid cell (a
    # latitude of 1e308 overflowed it, retried until dead-lettered)
    delivery.driver("dan")

    delivery.order("o-1", "accepted", **changes)

    assert delivery.faults() == []
    assert delivery.store.get("deliveries", "d-o-1") is not None


LATE = 2**63
"""A time Order's contract allows (it bounds none above) that no 64-bit integer holds."""


@pytest.mark.parametrize(
    ("accepted_at", "ready_by"),
    [(LATE, None), (10**20, 10**20), (START, LATE), (0, 0), (253_402_300_799_999, None)],
)
def test_any_time_the_contract_allows_is_read_by_every_consumer(
    delivery: Delivery, accepted_at: int, ready_by: int | None
) -> None:
    # Past 64 bits, the collector, the driver app's listener and the push function each
    # failed to store it: three faults, and the order's later cancellation faulted alike
    delivery.driver("dan")

    delivery.order("o-1", "accepted", changedAt=accepted_at, readyBy=ready_by)
    delivery.order("o-1", "cancelled", reason="customer", changedAt=accepted_at + 1)

    assert delivery.faults() == []
    assert delivery.delivery("o-1")["status"] == "cancelled"
    assert [m["title"] for m in delivery.push.to("customer", "ref-o-1")] == [
        "Order accepted",
        "Order cancelled",
    ]


@pytest.mark.parametrize("field", ["changedAt", "readyBy"])
def test_a_time_before_1970_breaks_the_contract_and_is_a_fault_at_the_ingress(
    delivery: Delivery, field: str
) -> None:
    delivery.order("o-1", "accepted", **{field: -1})

    [fault] = delivery.faults()
    assert fault["function"] == "delivery/order-esg/ingress"
    assert fault["error"]["type"] == "InvalidEventError"
    assert field in fault["error"]["message"]
    assert delivery.bus("order-updated") == []


def test_delivery_status_changes_are_published_as_the_v1_contract(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    [event] = delivery.events[Topic.EXTERNAL]
    [(version, step)] = delivery.revisions("delivery-status-changed")
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
        "revision": f"{version}/{step:03d}/00",  # the first status dispatch's write calls for
    }


def test_an_internal_status_the_contract_does_not_know_becomes_a_fault(
    delivery: Delivery,
) -> None:
    delivery.inject(status_announced("searching"))

    assert delivery.events[Topic.EXTERNAL] == []
    [fault] = [f for f in delivery.faults() if f["function"] == "delivery/order-esg/egress"]
    assert fault["reason"] == "poison"
    assert "status" in fault["error"]["message"]


def test_a_cancellation_in_v2_reaches_the_bus_with_its_reason(delivery: Delivery) -> None:
    delivery.order("o-1", "cancelled", reason="no-driver", deliveryAddress=None)

    [event] = [e for e in delivery.events[Topic.BUS] if e.type == "order-updated"]
    assert (event.body["status"], event.body["reason"]) == ("cancelled", "no-driver")
    assert "cancellation" not in event.body


def test_a_status_order_added_since_is_skipped_not_taken_for_the_latest(
    delivery: Delivery,
) -> None:
    # Passed on, every consumer kept it as the order's latest status: the driver's app said
    # the food was no longer ready
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.order("o-1", "ready", readyBy=START + 1, changedAt=START + 1)

    delivery.order("o-1", "courier-waiting", readyBy=START + 1, changedAt=START + 2)

    assert [order["status"] for order in delivery.bus("order-updated")] == ["accepted", "ready"]
    assert delivery.faults() == []
    shown = delivery.call("GET", "/deliveries/d-o-1", "dan").get_json()["pickup"]
    assert (shown["readyBy"], shown["ready"]) == (START + 1, True)


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


# Dispatch's announcements are unordered (a trigger run retried after the next change's);
# the published course is in order whatever the arrival order.


def test_an_assignment_announced_after_the_cancellation_is_not_published(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = accepted_then_cancelled_unannounced(delivery, monkeypatch)

    deliver_late()

    assert delivery.bus("delivery-status-changed")[-1]["status"] == "assigned"  # came last
    assert delivery.statuses() == []


def test_a_pickup_announced_after_the_delivery_is_published_before_it(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = delivered_before_the_pickup_is_announced(delivery, monkeypatch)

    deliver_late()

    assert [b["status"] for b in delivery.bus("delivery-status-changed")] == [
        "assigned",
        "delivered",
        "picked-up",
    ]
    assert delivery.statuses() == [("assigned", "dan"), ("picked-up", "dan"), ("delivered", "dan")]
    [picked_up, delivered] = delivery.events[Topic.EXTERNAL][1:]
    assert picked_up.body["changedAt"] == delivered.body["changedAt"]  # no later than that


def test_a_hand_back_announced_after_the_next_assignment_is_published_before_it(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = reassigned_before_the_hand_back_is_announced(delivery, monkeypatch)

    deliver_late()

    assert [b["status"] for b in delivery.bus("delivery-status-changed")][-1] == "released"
    assert delivery.statuses() == [("assigned", "dan"), ("released", "dan"), ("assigned", "eve")]
    released = delivery.events[Topic.EXTERNAL][1].body
    assert (released["driver"], released["location"]) == ({"id": "dan", "name": "Dan"}, None)


def test_a_hand_back_of_an_assignment_not_told_is_not_published() -> None:
    released = DeliveryStatusChanged.model_validate(
        {
            "id": "d-o-1",
            "orderId": "o-1",
            "status": "released",
            "driver": {"id": "dan", "name": "Dan"},
            "changedAt": START,
        }
    )
    eve = {"id": "eve", "name": "Eve"}

    assert course(None, released) == []
    assert course({"status": "assigned", "driver": eve}, released) == []
    assert course({"status": "released", "driver": eve}, released) == []
    dan = {"id": "dan", "name": "Dan"}
    assert course({"status": "assigned", "driver": dan}, released) == [("", released)]


def test_a_location_announced_after_a_newer_one_is_not_published(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    deliver_late = hold_change(delivery, monkeypatch, "rules", "picked-up", "picked-up")
    delivery.clock.advance(FOLLOW_EVERY_MS)
    delivery.call("PUT", "/me/location", "dan", {"lat": 52.531, "lng": 13.403})
    delivery.clock.advance(FOLLOW_EVERY_MS)
    delivery.call("PUT", "/me/location", "dan", {"lat": 52.535, "lng": 13.406})

    deliver_late()

    locations = [e.body["location"] for e in delivery.events[Topic.EXTERNAL]]
    assert locations == [None, NEAR, {"lat": 52.535, "lng": 13.406}]


def test_a_status_heard_again_is_published_again_as_the_same_events(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    [assigned, picked_up] = delivery.events[Topic.EXTERNAL]
    [announced] = [
        e
        for e in delivery.events[Topic.BUS]
        if e.type == "delivery-status-changed" and e.body["status"] == "assigned"
    ]

    delivery.inject(announced)  # redelivered after the pickup was published

    assert delivery.events[Topic.EXTERNAL] == [assigned, picked_up]
    [picked_up_announced] = [
        e
        for e in delivery.events[Topic.BUS]
        if e.type == "delivery-status-changed" and e.body["status"] == "picked-up"
    ]
    delivery.inject(picked_up_announced)  # the latest, again: its publication may have failed
    assert [e.id for e in delivery.events[Topic.EXTERNAL]] == [
        assigned.id,
        picked_up.id,
        picked_up.id,
    ]


def test_a_status_announced_before_revisions_existed_is_published_as_it_comes(
    delivery: Delivery,
) -> None:
    delivery.inject(status_announced("assigned"))

    assert delivery.statuses() == [("assigned", "dan")]


def test_a_cancellation_after_the_assignment_is_published_as_cancelled_with_the_driver(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.clock.advance(MINUTE)

    delivery.order("o-1", "cancelled", reason="customer", changedAt=START + MINUTE)

    assert delivery.statuses() == [("assigned", "dan"), ("cancelled", "dan")]
    cancelled = delivery.events[Topic.EXTERNAL][-1].body
    assert (cancelled["location"], cancelled["changedAt"]) == (None, START + MINUTE)


def test_a_cancellation_before_any_driver_was_told_is_not_published(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")  # offered to dan, not accepted

    delivery.order("o-1", "cancelled", reason="customer", changedAt=START + 1)

    assert delivery.bus("delivery-cancelled") != []
    assert delivery.statuses() == []


def test_a_status_whose_publication_failed_for_good_is_not_taken_as_told(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the pickup's publication fails until its delivery is dead-lettered (a fault to
    # resubmit): consumers never heard of the pickup
    picked_up_unpublished(delivery, monkeypatch)
    [fault] = [f for f in delivery.faults() if f["function"] == "order-esg-egress"]
    assert fault["reason"] == "dead-letter"
    assert delivery.statuses() == [("assigned", "dan")]

    # WHEN the delivery is published
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")

    # THEN the pickup it implies goes out before it: Order moves a picked-up order only
    assert delivery.statuses() == [("assigned", "dan"), ("picked-up", "dan"), ("delivered", "dan")]
