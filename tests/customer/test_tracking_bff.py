"""tracking-bff: where the customer's orders stand, whatever order the news arrives in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.customer.conftest import DECLINED_CARD, START, Customer

if TYPE_CHECKING:
    from werkzeug.test import TestResponse

MINUTE = 60_000


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


def test_an_order_the_restaurant_took_cannot_be_cancelled(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.order_status(order_id, "accepted")

    response = cancel(shop, order_id)

    assert response.status_code == 409
    assert "accepted" in response.get_json()["error"]
    assert shop.events("order-cancel-requested") == []


def test_only_the_customer_can_cancel_their_order(shop: Customer) -> None:
    order_id = shop.place_order()

    assert cancel(shop, order_id, subject="bob").status_code == 403
    assert cancel(shop, "no-such-order").status_code == 404
    assert cancel(shop, order_id, subject=None).status_code == 401
    assert shop.events("order-cancel-requested") == []


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
