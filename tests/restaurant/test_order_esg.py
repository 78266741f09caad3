"""order-esg: the Order subsystem's status changes come in, the kitchen's answers go out."""

from __future__ import annotations

from typing import Any

import pytest

from restaurant.contracts import OrderAccepted, OrderReady, OrderRejected
from shared.contracts import Contract
from tests.restaurant.conftest import START, Restaurant

ORDER_EVENTS = ("order-received", "order-withdrawn", "order-collected")


@pytest.fixture
def restaurant(restaurant: Restaurant) -> Restaurant:
    """The subsystem with restaurant r-1 open, so received orders reach its kitchen."""
    restaurant.open_restaurant("r-1")
    return restaurant


# -- ingress ---------------------------------------------------------------------------


def test_a_placed_order_is_received_with_what_the_kitchen_needs(restaurant: Restaurant) -> None:
    restaurant.receive(restaurant.order_status("o-1", "placed"))
    [received] = restaurant.bus(*ORDER_EVENTS)
    assert received.type == "order-received"
    assert received.entity == "order"
    assert received.partition_key == "o-1"
    assert received.body == {
        "id": "o-1",
        "restaurantId": "r-1",
        "items": [{"menuItemId": "margherita", "name": "Pizza Margherita", "quantity": 2}],
        "total": 1900,
        "currency": "EUR",
    }
    assert restaurant.system.faults("restaurant") == []


@pytest.mark.parametrize(
    ("status", "internal"), [("cancelled", "order-withdrawn"), ("picked-up", "order-collected")]
)
def test_a_cancelled_or_collected_order_closes_the_ticket(
    restaurant: Restaurant, status: str, internal: str
) -> None:
    restaurant.receive(restaurant.order_status("o-1", status, reason="no-driver"))
    [event] = restaurant.bus(*ORDER_EVENTS)
    assert event.type == internal
    assert event.partition_key == "o-1"
    assert event.body == {"id": "o-1", "restaurantId": "r-1"}


@pytest.mark.parametrize("status", ["accepted", "ready", "delivered", "some-future-status"])
def test_other_statuses_are_ignored(restaurant: Restaurant, status: str) -> None:
    restaurant.receive(restaurant.order_status("o-1", status))
    assert restaurant.bus(*ORDER_EVENTS) == []
    assert restaurant.system.faults("restaurant") == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"restaurant": None}, "restaurant"),
        ({"total": "a lot"}, "total"),
        ({"items": [{"name": "Pizza", "quantity": 1}]}, "items.0.menuItemId"),
    ],
)
def test_an_event_that_does_not_fit_becomes_a_fault_and_the_next_one_is_read(
    restaurant: Restaurant, changes: dict[str, Any], field: str
) -> None:
    restaurant.receive(
        restaurant.order_status("o-1", "placed", **changes), restaurant.order_status("o-2")
    )
    [fault] = restaurant.system.faults("restaurant")
    assert fault["function"] == "restaurant/order-esg/ingress"
    assert fault["error"]["type"] == "InvalidEventError"
    assert field in fault["error"]["message"]
    assert [e.partition_key for e in restaurant.bus(*ORDER_EVENTS)] == ["o-2"]


# -- egress ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("internal", "body", "contract"),
    [
        ("order-accepted", {"prepMinutes": 20}, OrderAccepted),
        ("order-rejected", {"reason": "out of mozzarella"}, OrderRejected),
        ("order-ready", {"readyAt": START}, OrderReady),
    ],
)
def test_the_kitchens_answers_are_published_as_their_contracts(
    restaurant: Restaurant, internal: str, body: dict[str, Any], contract: type[Contract]
) -> None:
    answer = {"id": "o-1", "restaurantId": "r-1", **body}
    restaurant.emit_internal(internal, "order", {**answer, "staff": "sam"}, "o-1")
    [published] = restaurant.external(contract.TYPE)
    assert published.entity == "order"
    assert published.partition_key == "o-1"
    assert published.tags["schemaVersion"] == "1"
    assert published.body == answer


def test_an_answer_that_breaks_the_contract_becomes_a_fault(restaurant: Restaurant) -> None:
    body = {"id": "o-1", "restaurantId": "r-1", "prepMinutes": 999}
    restaurant.emit_internal("order-accepted", "order", body, "o-1")
    assert restaurant.external(OrderAccepted.TYPE) == []
    [fault] = restaurant.system.faults("restaurant")
    assert fault["function"] == "restaurant/order-esg/egress"
    assert fault["error"]["type"] == "ValidationError"
