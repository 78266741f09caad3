"""status-esg: statuses leave as ``order.order-status-changed``, with the contract's fields only."""

from __future__ import annotations

import dataclasses

import pytest

from shared.envelope import new_event
from shared.topology import Topic
from tests.order.conftest import OrderSystem


def test_the_published_event_carries_the_contract_and_its_version(
    order_system: OrderSystem,
) -> None:
    placed = order_system.order_placed()
    order_system.send("customer", placed)

    [event] = order_system.published()
    assert (event.type, event.entity, event.partition_key) == (
        "order.order-status-changed",
        "order",
        "o-1",
    )
    assert event.tags["schemaVersion"] == "1"
    assert event.body == {
        "id": "o-1",
        "customerRef": "cref-o-1",
        "restaurant": placed.body["restaurant"],
        "items": placed.body["items"],
        "total": 2550,
        "currency": "EUR",
        "status": "placed",
        "reason": None,
        "detail": None,
        "deliveryAddress": None,
        "ordering": "kitchen",  # r-1 is not known yet: its kitchen app gets the order
        "answerBy": order_system.order()["receivedAt"] + 10 * 60_000,
        "changedAt": order_system.order()["changedAt"],
    }


def test_the_delivery_address_leaves_in_v2_only_while_the_order_is_on_its_way(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=5))
    order_system.send(
        "delivery", order_system.delivery("picked-up"), order_system.delivery("delivered")
    )
    v2 = {e.body["status"]: e.body["deliveryAddress"] for e in order_system.published(version=2)}
    assert v2["picked-up"] is not None
    assert v2["delivered"] is None
    v1 = [e.body.get("deliveryAddress") for e in order_system.published(version=1)]
    assert v1 == [None] * 4  # v1's reader, Restaurant, does not need it


def test_a_cancellation_says_why_and_drops_the_address(order_system: OrderSystem) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("rejected", reason="no drivers nearby"))
    cancelled = order_system.published()[-1].body
    assert (cancelled["status"], cancelled["reason"], cancelled["detail"]) == (
        "cancelled",
        "rejected",
        "no drivers nearby",
    )
    assert cancelled["deliveryAddress"] is None


def test_internal_fields_never_leave(order_system: OrderSystem) -> None:
    order_system.send("customer", order_system.order_placed())
    [event] = order_system.published()
    assert not {"history", "acceptedAt", "driverAssigned", "placedAt"} & set(event.body)


def test_a_status_change_that_breaks_the_contract_becomes_a_fault(
    order_system: OrderSystem,
) -> None:
    broken = new_event(
        "order-status-changed",
        "order",
        {"id": "o-9", "status": "lost", "changedAt": 1},
        partition_key="o-9",
    )
    order_system.system.inject("order", Topic.BUS, broken)
    order_system.system.run_until_quiet()
    assert order_system.published("o-9") == []
    [fault] = [f for f in order_system.faults() if f["function"] == "order/status-esg/egress"]
    assert fault["error"]["type"] == "ValidationError"


@pytest.mark.parametrize(("given", "carried"), [({}, True), ({"notifyCustomer": False}, False)])
def test_v2_passes_on_whether_the_customer_wants_notifications(
    order_system: OrderSystem, given: dict[str, bool], carried: bool
) -> None:
    placed = order_system.order_placed()
    body = {**placed.body, **given}
    order_system.send("customer", dataclasses.replace(placed, body=body))
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=25))
    assert [e.body["notifyCustomer"] for e in order_system.published(version=2)] == [carried] * 2
    assert "notifyCustomer" not in order_system.published(version=1)[-1].body


def test_v2_says_when_the_food_will_be_ready_once_the_restaurant_accepted(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=25))
    placed, accepted = order_system.published(version=2)
    assert placed.body["readyBy"] is None
    assert accepted.body["readyBy"] == order_system.order()["acceptedAt"] + 25 * 60_000
    assert "readyBy" not in order_system.published(version=1)[-1].body


def test_v2_is_published_beside_v1_with_money_and_a_cancellation_object(
    order_system: OrderSystem,
) -> None:
    placed = order_system.order_placed()
    order_system.send("customer", placed)
    order_system.send("restaurant", order_system.answer("rejected", reason="out of dough"))

    assert order_system.statuses(version=1) == order_system.statuses(version=2)
    first, cancelled = order_system.published(version=2)
    [v1] = order_system.published(version=1)[:1]
    assert first.id != v1.id
    assert first.body == {
        "id": "o-1",
        "customerRef": "cref-o-1",
        "restaurant": placed.body["restaurant"],
        "items": [
            {**line, "price": {"amount": line["price"], "currency": "EUR"}}
            for line in placed.body["items"]
        ],
        "total": {"amount": 2550, "currency": "EUR"},
        "status": "placed",
        "cancellation": None,
        "deliveryAddress": placed.body["deliveryAddress"],
        "ordering": "kitchen",
        "readyBy": None,
        "notifyCustomer": True,
        "answerBy": order_system.order()["receivedAt"] + 10 * 60_000,
        "changedAt": order_system.order()["changedAt"],
    }
    assert cancelled.body["cancellation"] == {"reason": "rejected", "detail": "out of dough"}
    assert cancelled.body["deliveryAddress"] is None


def test_the_restaurants_time_to_answer_is_published_while_the_order_is_placed(
    order_system: OrderSystem,
) -> None:
    # GIVEN an order Order takes in 3 minutes after Customer placed it (a delivery retried)
    placed = order_system.order_placed()
    order_system.clock.advance(3 * 60_000)
    order_system.send("customer", placed)
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=20))

    answer_by = placed.timestamp + 13 * 60_000  # 10 minutes from when Order took it in
    for version in (1, 2):
        published = {
            e.body["status"]: e.body["answerBy"] for e in order_system.published(version=version)
        }
        assert published == {"placed": answer_by, "accepted": None}


def test_the_status_travels_as_an_attribute_restaurant_selects_on(
    order_system: OrderSystem,
) -> None:
    """Restaurant's ingress is woken only for the statuses its kitchen acts on: it filters on
    the ``status`` attribute Order's contract publishes (in both versions)."""
    from restaurant.order_esg import SERVICE as RESTAURANT_ORDER_ESG
    from shared.hub.message import to_message

    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=5))
    order_system.clock.advance(60_000)
    order_system.send(
        "restaurant", order_system.answer("ready", readyAt=order_system.clock.now_ms())
    )
    order_system.send("delivery", order_system.delivery("picked-up"))
    for version in (1, 2):
        published = order_system.published(version=version)
        assert [e.tags["status"] for e in published] == [e.body["status"] for e in published]
        assert len(published) == 4
    [ingress] = [f for f in RESTAURANT_ORDER_ESG.functions if f.name == "ingress"]
    selected = [
        e.body["status"]
        for e in order_system.published(version=1)
        if ingress.channel.rule.matches(to_message(e).attributes)
    ]
    assert selected == ["placed", "picked-up"]
    assert order_system.faults() == []


def test_a_placed_order_announced_with_its_acceptance_says_no_ready_time_yet(
    order_system: OrderSystem,
) -> None:
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=25))
    order_system.send("customer", order_system.order_placed())  # one write: placed, accepted
    placed, accepted = order_system.published(version=2)
    assert (placed.body["status"], placed.body["readyBy"]) == ("placed", None)
    assert accepted.body["readyBy"] == order_system.order()["acceptedAt"] + 25 * 60_000


def test_an_acceptance_announced_with_the_readiness_says_the_restaurants_estimate(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.advance(1)
    accepted = order_system.answer("accepted", prepMinutes=25)  # sent now, heard late
    order_system.advance(1)
    order_system.send("restaurant", order_system.answer("ready", readyAt=1))  # waits
    order_system.send("restaurant", accepted)  # one write: accepted, ready

    _, accepted_v2, ready_v2 = order_system.published(version=2)
    assert accepted_v2.body["status"] == "accepted"
    assert accepted_v2.body["readyBy"] == accepted.timestamp + 25 * 60_000
    assert ready_v2.body["status"] == "ready"
    assert ready_v2.body["readyBy"] == order_system.order()["readyBy"] == ready_v2.body["changedAt"]
