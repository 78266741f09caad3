"""order-esg: customer.order-placed goes out with the contract's fields only; statuses come in."""

from __future__ import annotations

import pytest

from customer.contracts import OrderPlaced
from order.contracts import OrderStatusChangedV2
from shared.clock import LATEST_MS
from shared.envelope import new_event
from shared.topology import Topic
from tests.customer.conftest import ADDRESS, HOME, MINUTE, START, Customer


def test_a_placed_order_is_published_with_exactly_the_contracts_fields(shop: Customer) -> None:
    order_id = shop.place_order()

    [published] = shop.events(OrderPlaced.TYPE, Topic.EXTERNAL)
    order = shop.doc("orders", order_id)
    assert published.partition_key == order_id
    assert published.tags["schemaVersion"] == "1"
    assert published.body == {
        "id": order_id,
        "customerRef": order["customerRef"],
        "restaurant": {"id": "r-1", "name": "Trattoria Roma", "address": ADDRESS},
        "items": [
            {"menuItemId": "margherita", "name": "Pizza Margherita", "quantity": 2, "price": 950},
            {"menuItemId": "tiramisu", "name": "Tiramisù", "quantity": 1, "price": 650},
        ],
        "total": 2550,
        "currency": "EUR",
        "deliveryAddress": HOME,
        "placedAt": order["placedAt"],
        "notifyCustomer": True,
    }
    assert OrderPlaced.model_validate(published.body).customer_ref == order["customerRef"]


def test_nothing_private_ever_reaches_the_external_topic(shop: Customer) -> None:
    shop.place_order("alice")
    shop.place_order("bob")

    external = b"".join(m.data for m in shop.messages[Topic.EXTERNAL])
    assert len(shop.messages[Topic.EXTERNAL]) == 2
    for secret in ("paymentMethod", "pm_card", "customerId", "@example.com", "+49", "alice", "bob"):
        assert secret.encode() not in external, secret


def test_a_declined_order_is_not_published(shop: Customer) -> None:
    shop.place_order(card={"token": "pm_card_declined", "brand": "visa", "last4": "0002"})

    assert shop.messages[Topic.EXTERNAL] == []


def test_an_order_status_comes_in_with_what_the_customer_needs(customer: Customer) -> None:
    customer.clock.advance(1_000)
    customer.order_status("o-1", "cancelled", reason="rejected", detail="out of dough")

    [event] = customer.events("order-status-changed")
    assert event.partition_key == "o-1"
    assert event.body == {
        "id": "o-1",
        "status": "cancelled",
        "reason": "rejected",
        "detail": "out of dough",
        "readyBy": None,
        "changedAt": customer.clock.now_ms(),
    }


def test_a_cancellation_on_a_status_other_than_cancelled_is_not_passed_on(
    customer: Customer,
) -> None:
    # The schema allows one on any status; the contract says it is null unless cancelled.
    customer.order_status("o-1", "accepted", reason="rejected", detail="out of dough")

    [event] = customer.events("order-status-changed")
    assert (event.body["status"], event.body["reason"], event.body["detail"]) == (
        "accepted",
        None,
        None,
    )


def test_an_order_status_comes_in_with_when_the_food_is_ready(customer: Customer) -> None:
    customer.order_status("o-1", "accepted", readyBy=START + 25 * MINUTE)

    [event] = customer.events("order-status-changed")
    assert (event.body["status"], event.body["readyBy"]) == ("accepted", START + 25 * MINUTE)


def test_an_order_status_published_before_ready_by_was_added_still_comes_in(
    customer: Customer,
) -> None:
    older = new_event(
        OrderStatusChangedV2.TYPE,
        "order",
        {"id": "o-1", "status": "accepted", "changedAt": START},
        partition_key="o-1",
        tags={"subsystem": "order", "schemaVersion": "2"},
    )
    customer.send("order", older)

    assert customer.faults() == []
    [event] = customer.events("order-status-changed")
    assert (event.body["status"], event.body["readyBy"]) == ("accepted", None)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"id": "o-1", "changedAt": "yesterday"}, "changedAt"),
        ({"id": "", "status": "accepted", "changedAt": 1}, "id"),
        ({"id": "o-1", "status": "accepted", "changedAt": -1}, "changedAt"),
        ({"id": "o-1", "status": "accepted", "readyBy": -1, "changedAt": 1}, "readyBy"),
    ],
)
def test_an_order_status_that_breaks_the_contract_is_a_fault_naming_the_field(
    customer: Customer, body: dict[str, object], named: str
) -> None:
    broken = new_event(
        OrderStatusChangedV2.TYPE,
        "order",
        body,
        partition_key="o-1",
        tags={"subsystem": "order", "schemaVersion": "2"},
    )
    customer.send("order", broken)

    assert customer.events("order-status-changed") == []
    [fault] = customer.faults()
    assert fault["function"] == "customer/order-esg/ingress"
    assert fault["error"]["type"] == "InvalidEventError"
    assert f"{named}:" in fault["error"]["message"]


def test_a_status_order_added_since_is_skipped_not_a_fault(customer: Customer) -> None:
    newer = new_event(
        OrderStatusChangedV2.TYPE,
        "order",
        {"id": "o-1", "status": "teleported", "changedAt": 1},
        partition_key="o-1",
        tags={"subsystem": "order", "schemaVersion": "2"},
    )
    customer.send("order", newer)

    assert customer.events("order-status-changed") == []
    assert customer.faults() == []


def test_the_customer_reads_v2_and_leaves_v1_to_those_still_on_it(customer: Customer) -> None:
    v1 = new_event(
        OrderStatusChangedV2.TYPE,
        "order",
        {"id": "o-1", "status": "cancelled", "reason": "rejected", "changedAt": 1},
        partition_key="o-1",
        tags={"subsystem": "order", "schemaVersion": "1"},
    )
    customer.send("order", v1)
    assert (customer.events("order-status-changed"), customer.faults()) == ([], [])

    customer.order_status("o-1", "cancelled", reason="rejected")
    [event] = customer.events("order-status-changed")
    assert (event.body["reason"], event.body["detail"]) == ("rejected", None)


def test_statuses_are_tagged_so_payment_esg_hears_only_those_it_settles(
    customer: Customer,
) -> None:
    heard: list[str] = []
    customer.system.hub.delivery_observers.append(lambda name, _s: heard.append(name))
    for status in ("placed", "accepted", "ready", "picked-up", "delivered"):
        customer.order_status("o-1", status)

    assert [e.tags["status"] for e in customer.events("order-status-changed")] == [
        "placed",
        "accepted",
        "ready",
        "picked-up",
        "delivered",
    ]
    assert heard.count("customer/payment-esg-processor") == 1


LATE = 2**63
"""A time Order's contract allows (it bounds none above) that no 64-bit integer holds."""


@pytest.mark.parametrize(
    ("changed_at", "ready_by"),
    [(LATE, None), (START, LATE), (10**20, 10**20), (LATEST_MS, LATEST_MS)],
)
def test_any_time_the_contract_allows_comes_in_as_one_the_customer_can_keep(
    shop: Customer, changed_at: int, ready_by: int | None
) -> None:
    # Past 64 bits, tracking-bff's listener could not store it: a fault, the status never shown
    order_id = shop.place_order()

    shop.order_status(order_id, "accepted", changedAt=changed_at, readyBy=ready_by)

    assert shop.faults() == []
    [event] = shop.events("order-status-changed")
    assert event.body["changedAt"] == min(changed_at, LATEST_MS)
    assert event.body["readyBy"] == (None if ready_by is None else min(ready_by, LATEST_MS))
    view = shop.call("tracking-bff", "GET", f"/orders/{order_id}").get_json()
    assert (view["status"], view["readyBy"]) == ("accepted", event.body["readyBy"])


def test_statuses_stamped_past_the_latest_time_keep_their_course(shop: Customer) -> None:
    order_id = shop.place_order()

    shop.order_status(order_id, "delivered", changedAt=LATE + 1)
    shop.order_status(order_id, "accepted", changedAt=LATE)

    assert shop.faults() == []
    view = shop.call("tracking-bff", "GET", f"/orders/{order_id}").get_json()
    assert view["status"] == "delivered"
