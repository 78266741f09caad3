"""tracking-bff: where the customer's orders stand, whatever order the news arrives in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from shared.topology import Topic
from tests.customer.conftest import DECLINED_CARD, MINUTE, START, Customer

if TYPE_CHECKING:
    from werkzeug.test import TestResponse


def track(customer: Customer, order_id: str, subject: str | None = "alice") -> TestResponse:
    return customer.call("tracking-bff", "GET", f"/orders/{order_id}", subject=subject)


def history(view: dict[str, Any]) -> list[tuple[str, int]]:
    return [(step["status"], step["at"]) for step in view["history"]]


def test_an_order_is_tracked_from_checkout_to_the_door(shop: Customer) -> None:
    order_id = shop.place_order()
    for minutes, status in ((5, "accepted"), (15, "ready")):
        shop.clock.advance_to(START + minutes * MINUTE)
        shop.order_status(order_id, status)
    shop.clock.advance_to(START + 20 * MINUTE)
    shop.delivery(order_id, "assigned", location=None)
    shop.clock.advance_to(START + 25 * MINUTE)
    shop.delivery(order_id, "picked-up", location={"lat": 52.53, "lng": 13.40})
    shop.clock.advance_to(START + 40 * MINUTE)
    shop.order_status(order_id, "delivered")

    response = track(shop, order_id)

    assert response.status_code == 200
    view = response.get_json()
    assert view == {
        "id": order_id,
        "customerId": "alice",
        "restaurant": {"id": "r-1", "name": "Trattoria Roma"},
        "items": [
            {"menuItemId": "margherita", "name": "Pizza Margherita", "quantity": 2, "price": 950},
            {"menuItemId": "tiramisu", "name": "Tiramisù", "quantity": 1, "price": 650},
        ],
        "total": 2550,
        "currency": "EUR",
        "status": "delivered",
        "reason": None,
        "detail": None,
        "driver": {"name": "Dan"},
        "location": {"lat": 52.53, "lng": 13.40},
        "payment": "captured",
        "history": view["history"],
        "placedAt": START,
        "updatedAt": START + 40 * MINUTE,
    }
    assert history(view) == [
        ("pending-payment", START),
        ("placed", START),
        ("accepted", START + 5 * MINUTE),
        ("ready", START + 15 * MINUTE),
        ("picked-up", START + 25 * MINUTE),
        ("delivered", START + 40 * MINUTE),
    ]


def test_late_news_never_moves_an_order_back(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.clock.advance(40 * MINUTE)
    shop.delivery(order_id, "delivered", changedAt=START + 40 * MINUTE)
    shop.order_status(order_id, "delivered", changedAt=START + 41 * MINUTE)
    shop.order_status(order_id, "accepted", changedAt=START + 5 * MINUTE)
    shop.delivery(order_id, "picked-up", changedAt=START + 25 * MINUTE, location=None)

    view = track(shop, order_id).get_json()

    assert view["status"] == "delivered"
    assert view["payment"] == "captured"
    assert history(view) == [
        ("pending-payment", START),
        ("placed", START),
        ("accepted", START + 5 * MINUTE),
        ("picked-up", START + 25 * MINUTE),
        ("delivered", START + 40 * MINUTE),
    ]
    assert view["location"] == {"lat": 52.53, "lng": 13.40}


def test_an_older_location_does_not_replace_a_newer_one(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.delivery(order_id, "picked-up", location={"lat": 1.0, "lng": 1.0}, changedAt=START + 2)
    shop.delivery(order_id, "picked-up", location={"lat": 9.0, "lng": 9.0}, changedAt=START + 1)

    assert track(shop, order_id).get_json()["location"] == {"lat": 1.0, "lng": 1.0}


def test_a_redelivered_event_changes_nothing(shop: Customer) -> None:
    order_id = shop.place_order()
    accepted = shop.order_status(order_id, "accepted")
    view = shop.doc("tracking", order_id)

    shop.clock.advance(MINUTE)
    shop.inject("order", accepted)

    assert shop.store.get("tracking", order_id) == view


def test_a_declined_order_says_so(shop: Customer) -> None:
    order_id = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})

    view = track(shop, order_id).get_json()

    assert (view["status"], view["payment"], view["reason"]) == (
        "payment-declined",
        "declined",
        "card_declined",
    )
    assert view["placedAt"] is None


def test_a_cancelled_order_says_why_and_that_the_payment_was_voided(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.order_status(order_id, "cancelled", reason="rejected", detail="out of dough")

    view = track(shop, order_id).get_json()

    assert (view["status"], view["reason"], view["detail"]) == (
        "cancelled",
        "rejected",
        "out of dough",
    )
    assert view["payment"] == "voided"


def test_the_payment_method_never_reaches_tracking(shop: Customer) -> None:
    order_id = shop.place_order()

    assert "pm_card_visa" not in str(shop.store.get("tracking", order_id))
    assert "paymentMethod" not in track(shop, order_id).get_json()


def test_a_customer_lists_only_their_own_orders_newest_first(shop: Customer) -> None:
    first = shop.place_order("alice")
    shop.clock.advance(MINUTE)
    shop.place_order("bob")
    shop.clock.advance(MINUTE)
    shop.fill_cart("alice")
    second = shop.call("checkout-bff", "POST", "/checkout", {}).get_json()["orderId"]

    response = shop.call("tracking-bff", "GET", "/orders")

    assert response.status_code == 200
    assert response.get_json()["orders"] == [
        {
            "id": second,
            "restaurant": {"id": "r-1", "name": "Trattoria Roma"},
            "status": "placed",
            "total": 2550,
            "currency": "EUR",
            "placedAt": START + 2 * MINUTE,
        },
        {
            "id": first,
            "restaurant": {"id": "r-1", "name": "Trattoria Roma"},
            "status": "placed",
            "total": 2550,
            "currency": "EUR",
            "placedAt": START,
        },
    ]


def test_another_customers_order_is_forbidden_and_an_unknown_one_is_not_found(
    shop: Customer,
) -> None:
    order_id = shop.place_order("alice")
    shop.delivery("o-stray", "assigned")

    assert track(shop, order_id, "bob").status_code == 403
    assert track(shop, "o-unknown").status_code == 404
    assert track(shop, "o-stray").status_code == 404
    assert shop.call("tracking-bff", "GET", "/orders", subject="bob").get_json() == {
        "orders": [],
        "next": None,
    }


def test_tracking_is_for_customers_only(shop: Customer) -> None:
    order_id = shop.place_order()

    assert track(shop, order_id, subject=None).status_code == 401
    driver = shop.call("tracking-bff", "GET", f"/orders/{order_id}", subject="dan", actor="driver")
    assert driver.status_code == 403


# -- cancelling -------------------------------------------------------------------------


def cancel(customer: Customer, order_id: str, subject: str | None = "alice") -> TestResponse:
    return customer.call("tracking-bff", "POST", f"/orders/{order_id}/cancel", subject=subject)


def test_a_placed_order_can_be_cancelled_and_the_request_goes_to_order(shop: Customer) -> None:
    order_id = shop.place_order()

    response = cancel(shop, order_id)
    repeated = cancel(shop, order_id)

    assert response.status_code == repeated.status_code == 202
    assert response.get_json() == {"orderId": order_id, "status": "cancellation-requested"}
    [internal] = shop.events("order-cancel-requested")
    assert internal.body == {"id": order_id, "requestedAt": shop.clock.now_ms()}
    [published] = shop.events("customer.order-cancel-requested", topic="external")
    assert published.body == {"id": order_id, "requestedAt": shop.clock.now_ms()}
    assert published.tags["schemaVersion"] == "1"
    # Order decides: until it does, the order stands as it was
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert track(shop, order_id).get_json()["status"] == "placed"
    assert shop.events("order-cancelled") == []


def cancel_while_waiting(customer: Customer, at_ms: int) -> list[TestResponse]:
    """Have the customer cancel their only order at ``at_ms``, while events wait for
    redelivery; the answers are collected in the list returned."""
    answers: list[TestResponse] = []

    def cancel_it() -> None:
        [submitted] = customer.events("order-submitted")
        path = f"/orders/{submitted.partition_key}/cancel"
        answers.append(customer.client("tracking-bff").post(path, headers=customer.headers()))

    customer.meanwhile(at_ms, cancel_it)
    return answers


def test_an_order_awaiting_its_payment_is_cancelled_at_once_without_order(
    shop: Customer,
) -> None:
    # GIVEN the processor is down, so the order waits for its payment
    shop.processor.down_until = START + 5 * MINUTE

    # WHEN the customer cancels it two minutes after checking out
    answers = cancel_while_waiting(shop, START + 2 * MINUTE)
    order_id = shop.place_order()

    # THEN it is cancelled in Customer at once, nothing goes to Order, and the dishes are back
    assert [a.status_code for a in answers] == [202]
    view = track(shop, order_id).get_json()
    assert (view["status"], view["reason"]) == ("cancelled", "customer")
    cancelled_at = shop.doc("orders", order_id)["cancelledAt"]
    assert START + 2 * MINUTE <= cancelled_at < START + 5 * MINUTE
    assert history(view) == [("pending-payment", START), ("cancelled", cancelled_at)]
    assert shop.events("order-cancel-requested") == []
    assert shop.messages[Topic.EXTERNAL] == []
    assert shop.doc("carts", "alice")["total"] == 2550
    # AND the authorization the processor gave once it was back is released
    assert view["payment"] == "voided"
    assert shop.processor.authorizations["auth-1"]["status"] == "voided"
    assert cancel(shop, order_id).status_code == 409


def test_a_decline_after_the_customer_cancelled_changes_nothing(shop: Customer) -> None:
    shop.processor.down_until = START + 5 * MINUTE
    cancel_while_waiting(shop, START + 2 * MINUTE)

    order_id = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})

    view = track(shop, order_id).get_json()
    assert (view["status"], view["reason"], view["payment"]) == (
        "cancelled",
        "customer",
        "cancelled",
    )
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    assert shop.events("payment-declined") and shop.events("order-payment-declined") == []
    assert shop.processor.authorizations == {}


# -- history pages ------------------------------------------------------------------------


def history_page(customer: Customer, query: str = "") -> Any:
    response = customer.call("tracking-bff", "GET", f"/orders{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_history_comes_a_page_at_a_time_newest_first(shop: Customer) -> None:
    placed = []
    for _ in range(5):
        shop.clock.advance(MINUTE)
        placed.append(shop.place_order())
    newest_first = placed[::-1]

    pages, query = [], "?limit=2"
    while True:
        page = history_page(shop, query)
        pages.append([o["id"] for o in page["orders"]])
        if page["next"] is None:
            break
        query = f"?limit=2&before={page['next']}"

    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]


def test_orders_of_the_same_millisecond_are_never_split_across_pages(shop: Customer) -> None:
    placed = [shop.place_order() for _ in range(3)]  # the clock does not move
    page = history_page(shop, "?limit=2")
    assert sorted(o["id"] for o in page["orders"]) == sorted(placed)
    assert page["next"] is None


@pytest.mark.parametrize("query", ["?limit=0", "?limit=101", "?before=-1", "?page=2"])
def test_a_bad_page_request_gets_400(shop: Customer, query: str) -> None:
    response = shop.call("tracking-bff", "GET", f"/orders{query}")
    assert response.status_code == 400
