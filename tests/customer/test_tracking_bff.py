"""tracking-bff: where the customer's orders stand, whatever order the news arrives in."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from customer.tracking_bff.cancellation import record_request, settle
from customer.tracking_bff.progress import advance, blank
from order.contracts import OrderStatusChangedV2
from shared.api import MAX_ECHO_CHARS
from shared.envelope import new_event
from shared.exceptions import StoreError
from shared.topology import Topic
from tests.customer.conftest import ADDRESS, DECLINED_CARD, MINUTE, START, Customer

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
        "pushTopic": shop.doc("orders", order_id)["customerRef"],
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
        "location": None,  # the driver's whereabouts are not followed once it is delivered
        "payment": "captured",
        "history": view["history"],
        "readyBy": None,  # none of Order's statuses above carries one
        "cancellation": None,
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
    assert (view["driver"], view["location"]) == ({"name": "Dan"}, None)


def test_an_older_location_does_not_replace_a_newer_one(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.delivery(order_id, "picked-up", location={"lat": 1.0, "lng": 1.0}, changedAt=START + 2)
    shop.delivery(order_id, "picked-up", location={"lat": 9.0, "lng": 9.0}, changedAt=START + 1)

    assert track(shop, order_id).get_json()["location"] == {"lat": 1.0, "lng": 1.0}


@pytest.mark.parametrize("told_by", ["order", "delivery"])
def test_the_drivers_location_is_shown_on_the_way_and_never_after_the_delivery(
    shop: Customer, told_by: str
) -> None:
    # GIVEN an order on its way, its driver's location shown
    order_id = shop.place_order()
    shop.order_status(order_id, "accepted", changedAt=START + 5 * MINUTE)
    shop.delivery(order_id, "assigned", location=None, changedAt=START + 10 * MINUTE)
    on_the_way = {"lat": 52.53, "lng": 13.40}
    shop.delivery(order_id, "picked-up", location=on_the_way, changedAt=START + 20 * MINUTE)
    assert track(shop, order_id).get_json()["location"] == on_the_way

    # WHEN it is delivered (at the customer's door), as Order or the driver says first
    if told_by == "order":
        shop.order_status(order_id, "delivered", changedAt=START + 40 * MINUTE)
    else:
        door = {"lat": 52.538, "lng": 13.409}
        shop.delivery(order_id, "delivered", location=door, changedAt=START + 40 * MINUTE)

    # THEN where the driver is no longer shows, nor does a position the driver sent on the
    # way that arrives late; who brought it still does
    view = track(shop, order_id).get_json()
    shown = (view["status"], view["driver"], view["location"])
    assert shown == ("delivered", {"name": "Dan"}, None)
    late = {"lat": 52.535, "lng": 13.405}
    shop.delivery(order_id, "picked-up", location=late, changedAt=START + 30 * MINUTE)
    assert track(shop, order_id).get_json()["location"] is None


def test_a_driver_who_hands_the_order_back_is_no_longer_shown_until_the_next_one(
    shop: Customer,
) -> None:
    order_id = shop.place_order()
    shop.clock.advance_to(START + 5 * MINUTE)
    shop.order_status(order_id, "accepted")
    shop.clock.advance_to(START + 6 * MINUTE)
    shop.delivery(order_id, "assigned", location=None)
    before = track(shop, order_id).get_json()
    shop.clock.advance_to(START + 9 * MINUTE)

    shop.delivery(order_id, "released", location=None)

    view = track(shop, order_id).get_json()
    assert (view["status"], view["driver"], view["location"]) == ("accepted", None, None)
    assert view["history"] == before["history"]
    assert view["updatedAt"] == START + 9 * MINUTE
    shop.clock.advance_to(START + 12 * MINUTE)
    shop.delivery(order_id, "assigned", location=None, driver={"id": "driver-8", "name": "Eva"})
    assert track(shop, order_id).get_json()["driver"] == {"name": "Eva"}


def test_a_late_release_does_not_hide_the_driver_who_came_after_it(shop: Customer) -> None:
    order_id = shop.place_order()
    eva = {"id": "driver-8", "name": "Eva"}
    shop.delivery(order_id, "assigned", location=None, changedAt=START + 3, driver=eva)
    shop.delivery(order_id, "released", location=None, changedAt=START + 2)
    shop.delivery(order_id, "assigned", location=None, changedAt=START + 1)

    assert track(shop, order_id).get_json()["driver"] == {"name": "Eva"}


@pytest.mark.parametrize("assigned_first", [True, False], ids=["then-cancelled", "late"])
def test_a_cancelled_order_shows_no_driver(shop: Customer, assigned_first: bool) -> None:
    # Delivery's announcements may go out of order: an assignment can arrive after the
    # cancellation that withdrew it
    order_id = shop.place_order()
    shop.order_status(order_id, "accepted", changedAt=START + 1)
    if assigned_first:
        shop.delivery(order_id, "assigned", location=None, changedAt=START + 2)
    shop.order_status(order_id, "cancelled", reason="rejected", changedAt=START + 3)
    if not assigned_first:
        shop.delivery(order_id, "assigned", location=None, changedAt=START + 2)

    view = track(shop, order_id).get_json()
    assert (view["status"], view["driver"], view["location"]) == ("cancelled", None, None)


News = tuple[str, str, int, str | None]
"""Who says the order reached which status, when, and why (for a cancellation)."""


def hear(customer: Customer, order_id: str, news: News) -> None:
    producer, status, at, reason = news
    if producer == "order":
        customer.order_status(order_id, status, reason=reason, changedAt=at)
    else:
        customer.delivery(order_id, status, changedAt=at)


@pytest.mark.parametrize("driver_first", [True, False], ids=["driver-first", "order-first"])
def test_a_step_both_the_driver_and_order_report_is_stamped_the_same_whoever_comes_first(
    shop: Customer, driver_first: bool
) -> None:
    # GIVEN the driver reports the pickup at 25 minutes, and Order (which hears it from
    # Delivery) at 26; then both report the delivery, the driver at 40 and Order at 41
    order_id = shop.place_order()
    shop.order_status(order_id, "accepted", changedAt=START + 5 * MINUTE)
    by_driver: list[News] = [
        ("delivery", "picked-up", START + 25 * MINUTE, None),
        ("delivery", "delivered", START + 40 * MINUTE, None),
    ]
    by_order: list[News] = [
        ("order", "picked-up", START + 26 * MINUTE, None),
        ("order", "delivered", START + 41 * MINUTE, None),
    ]

    # WHEN their news arrives in either order
    for news in [*by_driver, *by_order] if driver_first else [*by_order, *by_driver]:
        hear(shop, order_id, news)

    # THEN the history says when each step was first reported, whoever said it first
    assert history(track(shop, order_id).get_json())[-2:] == [
        ("picked-up", START + 25 * MINUTE),
        ("delivered", START + 40 * MINUTE),
    ]


@pytest.mark.parametrize("delivered_first", [True, False], ids=["delivered-first", "late"])
@pytest.mark.parametrize(
    "delivered_at", [START + 150 * MINUTE, START + 130 * MINUTE], ids=["after", "before"]
)
def test_an_order_cancelled_after_its_pickup_is_cancelled_whatever_the_driver_says(
    shop: Customer, delivered_at: int, delivered_first: bool
) -> None:
    # GIVEN Order's not-delivered deadline cancelled an order on its way (and its payment is
    # voided), and the driver reports it delivered after all, or before the deadline but too
    # late for Order: Order's news and the driver's arrive in either order
    order_id = shop.place_order()
    shop.order_status(order_id, "accepted", changedAt=START + 5 * MINUTE)
    shop.delivery(order_id, "picked-up", changedAt=START + 20 * MINUTE)
    delivered: News = ("delivery", "delivered", delivered_at, None)
    cancelled: News = ("order", "cancelled", START + 140 * MINUTE, "not-delivered")
    for news in (delivered, cancelled) if delivered_first else (cancelled, delivered):
        hear(shop, order_id, news)

    # THEN the customer sees what Order and the payment say: cancelled, nobody bringing it
    view = track(shop, order_id).get_json()
    assert (view["status"], view["reason"], view["payment"]) == (
        "cancelled",
        "not-delivered",
        "voided",
    )
    assert (view["driver"], view["location"]) == (None, None)
    assert history(view)[-2:] == [
        ("picked-up", START + 20 * MINUTE),
        ("cancelled", START + 140 * MINUTE),
    ]


@pytest.mark.parametrize("further_first", [True, False], ids=["further-first", "late"])
@pytest.mark.parametrize(
    ("further", "stale"),
    [
        # Order announced ready, then folded in a pickup stamped before it: ready never was
        (
            ("order", "picked-up", START + 7 * MINUTE, None),
            ("order", "ready", START + 10 * MINUTE, None),
        ),
        # the driver's pickup, reported after the driver-no-show deadline cancelled the order
        (
            ("order", "cancelled", START + 90 * MINUTE, "driver-no-show"),
            ("delivery", "picked-up", START + 95 * MINUTE, None),
        ),
    ],
    ids=["rewritten-by-order", "after-the-end"],
)
def test_a_step_stamped_after_a_further_one_is_not_in_the_history(
    shop: Customer, further: News, stale: News, further_first: bool
) -> None:
    order_id = shop.place_order()
    shop.order_status(order_id, "accepted", changedAt=START + 5 * MINUTE)
    shop.delivery(order_id, "assigned", location=None, changedAt=START + 6 * MINUTE)

    for news in (further, stale) if further_first else (stale, further):
        hear(shop, order_id, news)

    view = track(shop, order_id).get_json()
    _, status, at, _ = further
    assert view["status"] == status
    assert history(view)[-2:] == [("accepted", START + 5 * MINUTE), (status, at)]


def test_a_redelivered_event_changes_nothing(shop: Customer) -> None:
    order_id = shop.place_order()
    accepted = shop.order_status(order_id, "accepted")
    view = shop.doc("tracking", order_id)

    shop.clock.advance(MINUTE)
    shop.send("order", accepted)

    assert shop.store.get("tracking", order_id) == view


@pytest.mark.parametrize("foreign", ["a/b", "__x__", "..", "."])
def test_news_of_an_order_id_no_document_can_have_is_read_and_not_tracked(
    shop: Customer, foreign: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Order's and Delivery's contracts allow any id; checkout's ids are document ids, so
    such an order is none of the customer's: left aside with a warning, not a fault."""
    order_id = shop.place_order()

    shop.order_status(foreign, "accepted")
    shop.delivery(foreign, "picked-up")
    shop.order_status(order_id, "accepted")

    assert shop.faults() == []
    assert [view.key for view in shop.store.query("tracking")] == [order_id]
    assert track(shop, order_id).get_json()["status"] == "accepted"
    warned = [r for r in caplog.records if "is none of the customer's" in r.getMessage()]
    assert len(warned) == 2


def test_a_delivery_id_no_document_can_have_still_tracks_its_order(shop: Customer) -> None:
    """Only the order id keys what tracking keeps; the delivery's own id is just carried."""
    order_id = shop.place_order()

    shop.delivery(order_id, "picked-up", id="__d/1__")

    assert shop.faults() == []
    assert track(shop, order_id).get_json()["status"] == "picked-up"


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
            "reason": None,
            "readyBy": None,
            "cancellation": None,
            "placedAt": START + 2 * MINUTE,
            "createdAt": START + 2 * MINUTE,
        },
        {
            "id": first,
            "restaurant": {"id": "r-1", "name": "Trattoria Roma"},
            "status": "placed",
            "total": 2550,
            "currency": "EUR",
            "reason": None,
            "readyBy": None,
            "cancellation": None,
            "placedAt": START,
            "createdAt": START,
        },
    ]


def test_the_history_says_when_each_order_was_checked_out_placed_or_not(shop: Customer) -> None:
    declined = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})
    shop.clock.advance(MINUTE)
    placed = shop.place_order()

    listed = shop.call("tracking-bff", "GET", "/orders").get_json()["orders"]

    shown = [(o["id"], o["placedAt"], o["createdAt"]) for o in listed]
    assert shown == [(placed, START + MINUTE, START + MINUTE), (declined, None, START)]


def test_the_history_says_why_an_order_was_cancelled_or_declined(shop: Customer) -> None:
    rejected = shop.place_order()
    shop.order_status(rejected, "cancelled", reason="rejected", detail="out of dough")
    shop.clock.advance(MINUTE)
    declined = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})
    shop.clock.advance(MINUTE)
    placed = shop.place_order()

    listed = shop.call("tracking-bff", "GET", "/orders").get_json()["orders"]

    shown = [(o["id"], o["status"], o["reason"]) for o in listed]
    assert shown == [
        (placed, "placed", None),
        (declined, "payment-declined", "card_declined"),
        (rejected, "cancelled", "rejected"),
    ]
    assert [o["reason"] for o in listed] == [
        track(shop, o["id"]).get_json()["reason"] for o in listed
    ]


def test_another_customers_order_is_as_unknown_as_one_that_does_not_exist(
    shop: Customer,
) -> None:
    order_id = shop.place_order("alice")
    shop.delivery("o-stray", "assigned")

    theirs = track(shop, order_id, "bob")
    unknown = track(shop, "o-unknown", "bob")
    assert (theirs.status_code, unknown.status_code) == (404, 404)
    # the same words, so the answer never tells that the order exists
    assert theirs.get_json()["error"] == unknown.get_json()["error"].replace("o-unknown", order_id)
    assert cancel(shop, order_id, "bob").status_code == 404
    assert track(shop, order_id).get_json()["status"] == "placed"  # bob's asking changed nothing
    assert shop.store.get("cancel-requests", order_id) is None
    assert track(shop, "o-stray").status_code == 404
    assert shop.call("tracking-bff", "GET", "/orders", subject="bob").get_json() == {
        "orders": [],
        "next": None,
    }


def test_a_refusal_repeats_a_long_order_id_cut_short(shop: Customer) -> None:
    long_id = "o" * 1400  # an id a document can have (under 1500 bytes), so the store looks
    cut = f"{'o' * MAX_ECHO_CHARS}... ({1400 - MAX_ECHO_CHARS} more characters)"

    for refused in (track(shop, long_id), cancel(shop, long_id)):
        assert refused.status_code == 404
        error = refused.get_json()["error"]
        assert cut in error
        assert "o" * (MAX_ECHO_CHARS + 1) not in error


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
    assert view["cancellation"] == {
        "status": "granted",
        "requestedAt": cancelled_at,  # checkout cancels it as of the request
        "decidedAt": cancelled_at,
        "reason": None,
    }


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


# -- what became of a request ---------------------------------------------------------------

MOVED_ON = "the restaurant had already accepted the order"
REASON_OF = {"cancelled": "restaurant-timeout", "payment-declined": "card_declined"}
"""The view's ``reason`` when it ends so."""


def test_a_request_is_recorded_in_the_view_and_asking_again_changes_nothing(
    shop: Customer,
) -> None:
    order_id = shop.place_order()
    shop.clock.advance(MINUTE)
    cancel(shop, order_id)
    shop.clock.advance(MINUTE)

    assert cancel(shop, order_id).status_code == 202

    requested = {
        "status": "requested",
        "requestedAt": START + MINUTE,
        "decidedAt": None,
        "reason": None,
    }
    view = track(shop, order_id).get_json()
    assert (view["status"], view["cancellation"]) == ("placed", requested)
    assert view["updatedAt"] == START + MINUTE
    [listed] = shop.call("tracking-bff", "GET", "/orders").get_json()["orders"]
    assert listed["cancellation"] == requested
    assert len(shop.events("cancellation-requested")) == 1


def test_a_request_the_restaurant_beat_is_refused_when_the_acceptance_arrives(
    shop: Customer,
) -> None:
    # GIVEN the restaurant accepted a minute after checkout, but Order's news is slow
    order_id = shop.place_order()
    shop.clock.advance(2 * MINUTE)
    cancel(shop, order_id)

    # WHEN the acceptance reaches tracking after the customer asked to cancel
    shop.order_status(order_id, "accepted", changedAt=START + MINUTE)

    # THEN the view says the request lost, and why
    view = track(shop, order_id).get_json()
    assert view["status"] == "accepted"
    assert view["cancellation"] == {
        "status": "refused",
        "requestedAt": START + 2 * MINUTE,
        "decidedAt": START + MINUTE,
        "reason": MOVED_ON,
    }
    # AND news of later steps changes nothing
    shop.order_status(order_id, "ready")
    assert track(shop, order_id).get_json()["cancellation"] == view["cancellation"]


@pytest.mark.parametrize(
    "arrivals",
    [
        [("order", "accepted", START + MINUTE, None), ("order", "ready", START + 3 * MINUTE, None)],
        [("order", "ready", START + 3 * MINUTE, None), ("order", "accepted", START + MINUTE, None)],
        [
            ("order", "cancelled", START + 4 * MINUTE, "no-driver"),
            ("order", "accepted", START + MINUTE, None),
        ],
    ],
    ids=["in-order", "ready-first", "cancelled-first"],
)
def test_a_refused_request_says_the_same_whatever_order_the_news_arrives_in(
    shop: Customer, arrivals: list[News]
) -> None:
    # GIVEN the customer asked to cancel at 2 minutes, after the restaurant accepted at 1
    order_id = shop.place_order()
    shop.clock.advance(2 * MINUTE)
    cancel(shop, order_id)

    # WHEN Order's news of the acceptance and of a later step arrives, in any order
    for news in arrivals:
        hear(shop, order_id, news)

    # THEN the request lost to the acceptance, whichever news came first
    assert track(shop, order_id).get_json()["cancellation"] == {
        "status": "refused",
        "requestedAt": START + 2 * MINUTE,
        "decidedAt": START + MINUTE,
        "reason": MOVED_ON,
    }


def test_a_request_is_granted_when_order_cancels_for_the_customer(shop: Customer) -> None:
    order_id = shop.place_order()
    cancel(shop, order_id)
    shop.clock.advance(MINUTE)

    shop.order_status(order_id, "cancelled", reason="customer")

    view = track(shop, order_id).get_json()
    assert (view["status"], view["reason"]) == ("cancelled", "customer")
    assert view["cancellation"] == {
        "status": "granted",
        "requestedAt": START,
        "decidedAt": START + MINUTE,
        "reason": None,
    }


def test_a_request_the_api_stored_but_did_not_show_is_still_shown_and_decided(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the store fails the API's write of the view, after the request was stored
    order_id = shop.place_order()
    update = shop.store.update
    failures = [StoreError("Firestore is unavailable")]

    def update_failing_once(collection: str, key: str, updater: Any) -> Any:
        if collection == "tracking" and failures:
            raise failures.pop()
        return update(collection, key, updater)

    monkeypatch.setattr(shop.store, "update", update_failing_once)

    # WHEN the customer asks to cancel, and gives up on the 503
    assert cancel(shop, order_id).status_code == 503

    # THEN the request stands in the view all the same, as of when it was made
    assert track(shop, order_id).get_json()["cancellation"]["status"] == "requested"
    shop.clock.advance(MINUTE)
    assert cancel(shop, order_id).status_code == 202
    # AND it is decided when Order cancels the order for the customer
    shop.order_status(order_id, "cancelled", reason="customer")
    assert track(shop, order_id).get_json()["cancellation"] == {
        "status": "granted",
        "requestedAt": START,
        "decidedAt": START + MINUTE,
        "reason": None,
    }
    [request] = shop.events("order-cancel-requested")
    assert request.body == {"id": order_id, "requestedAt": START}


def test_a_request_overtaken_by_another_cancellation_is_refused_saying_so(
    shop: Customer,
) -> None:
    order_id = shop.place_order()
    cancel(shop, order_id)

    shop.order_status(order_id, "cancelled", reason="rejected", detail="out of dough")

    cancellation = track(shop, order_id).get_json()["cancellation"]
    assert (cancellation["status"], cancellation["reason"]) == (
        "refused",
        "the order had already been cancelled (rejected)",
    )


def test_an_order_the_restaurant_took_still_cannot_be_cancelled(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.order_status(order_id, "accepted")

    response = cancel(shop, order_id)

    assert response.status_code == 409
    assert response.get_json()["error"] == f"order {order_id} is accepted: it cannot be cancelled"
    assert track(shop, order_id).get_json()["cancellation"] is None
    assert shop.store.get("cancel-requests", order_id) is None
    assert shop.events("cancellation-requested") == []


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("accepted", MOVED_ON),
        ("picked-up", MOVED_ON),
        ("delivered", MOVED_ON),
        ("cancelled", "the order had already been cancelled (restaurant-timeout)"),
        ("payment-declined", "the payment had already been declined"),
    ],
)
def test_a_request_recorded_as_the_order_moves_on_is_refused_at_once(status: str, why: str) -> None:
    view = advance({**placed_view(), "reason": REASON_OF.get(status)}, status, START + MINUTE)

    recorded = record_request(view, START + 2 * MINUTE)

    assert recorded is not None
    assert recorded["cancellation"] == {
        "status": "refused",
        "requestedAt": START + 2 * MINUTE,
        "decidedAt": START + MINUTE,
        "reason": why,
    }


def test_a_request_waits_while_the_order_awaits_its_payment_or_the_restaurant() -> None:
    awaiting = advance(blank("o-1"), "pending-payment", START)
    for view in ({**awaiting, "customerId": "alice", "updatedAt": START}, placed_view()):
        recorded = record_request(view, START + MINUTE)
        assert recorded is not None
        assert settle(recorded)["cancellation"]["status"] == "requested"


def test_an_order_cancelled_for_the_customer_never_shows_the_request_refused() -> None:
    refused = record_request(advance(placed_view(), "accepted", START), START + MINUTE)
    assert refused is not None

    cancelled = advance({**refused, "reason": "customer"}, "cancelled", START + 2 * MINUTE)

    assert settle(cancelled)["cancellation"]["status"] == "granted"


def placed_view() -> dict[str, Any]:
    """A view of an order placed at ``START``."""
    view = advance(blank("o-1"), "pending-payment", START)
    return {**advance(view, "placed", START), "customerId": "alice", "updatedAt": START}


# -- before tracking knows the order --------------------------------------------------------


def test_an_order_just_checked_out_is_not_known_yet_and_the_404_says_to_retry(
    shop: Customer,
) -> None:
    shop.sign_up()
    shop.fill_cart()
    # checkout answers before its events reach tracking
    placed = shop.client("checkout-bff").post("/checkout", json={}, headers=shop.headers())
    order_id = placed.get_json()["orderId"]

    tracked = shop.client("tracking-bff").get(f"/orders/{order_id}", headers=shop.headers())
    cancelled = shop.client("tracking-bff").post(
        f"/orders/{order_id}/cancel", headers=shop.headers()
    )

    for response in (tracked, cancelled):
        assert response.status_code == 404
        assert response.get_json()["error"] == (
            f"no order {order_id}: if it was placed a moment ago, tracking does not know "
            "of it yet; retry in a second or two"
        )
    shop.system.run_until_quiet()
    assert track(shop, order_id).get_json()["status"] == "placed"


def placed(customer: Customer) -> str:
    return customer.place_order()


def declined(customer: Customer) -> str:
    return customer.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})


def cancelled_awaiting_payment(customer: Customer) -> str:
    customer.processor.down_until = START + 5 * MINUTE
    cancel_while_waiting(customer, START + 2 * MINUTE)
    return customer.place_order()


@pytest.mark.parametrize(
    ("order", "event_type", "status"),
    [
        (placed, "order-placed", "placed"),
        (declined, "order-payment-declined", "payment-declined"),
        (cancelled_awaiting_payment, "order-cancelled", "cancelled"),
    ],
)
def test_an_order_is_known_from_whichever_of_checkouts_events_arrives_first(
    shop: Customer, order: Callable[[Customer], str], event_type: str, status: str
) -> None:
    order_id = order(shop)
    [event] = shop.events(event_type)
    shop.store.delete("tracking", order_id)  # as if order-submitted were still on its way

    shop.send("customer", event)

    view = track(shop, order_id).get_json()
    assert (view["customerId"], view["status"], view["total"]) == ("alice", status, 2550)
    assert [step for step, _ in history(view)] == [status]
    assert [o["id"] for o in history_page(shop)["orders"]] == [order_id]


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
        query = f"?limit=2&after={page['next']}"

    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]


def test_orders_of_the_same_millisecond_are_split_exactly_across_pages(shop: Customer) -> None:
    shop.clock.advance(MINUTE)
    placed = [shop.place_order() for _ in range(5)]  # the clock does not move
    shop.clock.advance(MINUTE)
    latest = shop.place_order()

    pages, query = [], "?limit=2"
    while len(pages) < 10:
        page = history_page(shop, query)
        pages.append([o["id"] for o in page["orders"]])
        if page["next"] is None:
            break
        query = f"?limit=2&after={page['next']}"

    # no page holds more than asked, each order comes once: by id, descending, within the
    # millisecond
    same_ms = sorted(placed, reverse=True)
    assert pages == [[latest, same_ms[0]], same_ms[1:3], same_ms[3:5]]


def test_the_history_still_takes_a_checkout_time_as_before(shop: Customer) -> None:
    placed = []
    for _ in range(3):
        shop.clock.advance(MINUTE)
        placed.append(shop.place_order())
    newest = history_page(shop, "?limit=1")["orders"][0]
    assert newest["id"] == placed[2]

    earlier = history_page(shop, f"?before={newest['createdAt']}")

    assert [o["id"] for o in earlier["orders"]] == placed[1::-1]
    assert earlier["next"] is None


def test_orders_changing_or_placed_while_paging_neither_repeat_nor_skip(shop: Customer) -> None:
    placed = []
    for _ in range(4):
        shop.clock.advance(MINUTE)
        placed.append(shop.place_order())
    first = history_page(shop, "?limit=2")

    shop.order_status(placed[0], "accepted")  # the oldest moves on, and a newer one
    shop.order_status(placed[3], "cancelled", reason="rejected")
    shop.clock.advance(MINUTE)
    newer = shop.place_order()  # checked out meanwhile: on the first page, when asked again
    second = history_page(shop, f"?limit=2&after={first['next']}")

    listed = [o["id"] for o in first["orders"] + second["orders"]]
    assert listed == placed[::-1]
    assert second["next"] is None
    assert [o["id"] for o in history_page(shop, "?limit=1")["orders"]] == [newer]


@pytest.mark.parametrize(
    "query", ["?limit=0", "?limit=101", "?before=-1", "?page=2", "?after=1767225600000"]
)
def test_a_bad_page_request_gets_400(shop: Customer, query: str) -> None:
    response = shop.call("tracking-bff", "GET", f"/orders{query}")
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [query[1:].split("=")[0]]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?limit=2.0", "limit"), ("?limit=1_0", "limit"), ("?before=1e12", "before")],
)
def test_a_page_number_not_written_in_digits_gets_400_not_a_guess(
    shop: Customer, query: str, field: str
) -> None:
    response = shop.call("tracking-bff", "GET", f"/orders{query}")
    assert response.status_code == 400
    assert response.get_json()["fields"] == {field: "Input should be a whole number in digits"}


# -- when the food will be ready ------------------------------------------------------------


def ready_by(customer: Customer, order_id: str) -> tuple[Any, Any]:
    """``readyBy`` as the order's tracking and the customer's history show it."""
    [listed] = [o for o in history_page(customer)["orders"] if o["id"] == order_id]
    return track(customer, order_id).get_json()["readyBy"], listed["readyBy"]


def test_the_view_shows_the_restaurants_estimate_then_when_the_food_was_ready(
    shop: Customer,
) -> None:
    order_id = shop.place_order()
    assert ready_by(shop, order_id) == (None, None)

    shop.clock.advance_to(START + 5 * MINUTE)
    shop.order_status(order_id, "accepted", readyBy=START + 30 * MINUTE)
    assert ready_by(shop, order_id) == (START + 30 * MINUTE, START + 30 * MINUTE)

    shop.clock.advance_to(START + 20 * MINUTE)
    shop.order_status(order_id, "ready", readyBy=START + 20 * MINUTE)
    assert ready_by(shop, order_id) == (START + 20 * MINUTE, START + 20 * MINUTE)

    # Delivery's steps say nothing of it; Order's later statuses carry it on
    shop.clock.advance_to(START + 25 * MINUTE)
    shop.delivery(order_id, "picked-up")
    shop.clock.advance_to(START + 40 * MINUTE)
    shop.order_status(order_id, "delivered", readyBy=START + 20 * MINUTE)
    assert ready_by(shop, order_id) == (START + 20 * MINUTE, START + 20 * MINUTE)


def test_an_acceptance_without_an_estimate_shows_none_until_the_food_is_ready(
    shop: Customer,
) -> None:
    order_id = shop.place_order()
    shop.order_status(order_id, "accepted", changedAt=START + MINUTE)
    assert ready_by(shop, order_id) == (None, None)

    shop.order_status(order_id, "ready", readyBy=START + 9 * MINUTE, changedAt=START + 9 * MINUTE)
    assert ready_by(shop, order_id) == (START + 9 * MINUTE, START + 9 * MINUTE)


@pytest.mark.parametrize(
    "ready_at", [START + 20 * MINUTE, START + 5 * MINUTE], ids=["later", "same-millisecond"]
)
def test_a_late_acceptance_does_not_move_the_ready_time_back_to_the_estimate(
    shop: Customer, ready_at: int
) -> None:
    # GIVEN the ready food is known, and Order's news of the acceptance comes after it
    order_id = shop.place_order()
    shop.order_status(order_id, "ready", readyBy=ready_at, changedAt=ready_at)

    # WHEN the acceptance arrives, with the restaurant's estimate
    shop.order_status(
        order_id, "accepted", readyBy=START + 35 * MINUTE, changedAt=START + 5 * MINUTE
    )

    # THEN the view keeps when the food was ready
    assert ready_by(shop, order_id) == (ready_at, ready_at)
    assert track(shop, order_id).get_json()["status"] == "ready"


def test_a_repeated_announcement_leaves_the_ready_time_as_it_was(shop: Customer) -> None:
    order_id = shop.place_order()
    accepted = {"readyBy": START + 30 * MINUTE, "changedAt": START + 5 * MINUTE}
    ready = {"readyBy": START + 20 * MINUTE, "changedAt": START + 20 * MINUTE}
    shop.order_status(order_id, "accepted", **accepted)
    shop.order_status(order_id, "ready", **ready)

    # Order retries its announcements (new events, the same news), the acceptance last
    shop.order_status(order_id, "ready", **ready)
    shop.order_status(order_id, "accepted", **accepted)

    assert ready_by(shop, order_id) == (START + 20 * MINUTE, START + 20 * MINUTE)


@pytest.mark.parametrize("cancelled_first", [True, False], ids=["cancelled-first", "then-late"])
def test_a_cancelled_order_shows_no_ready_time_whatever_arrives_late(
    shop: Customer, cancelled_first: bool
) -> None:
    # GIVEN the restaurant accepted with an estimate, then gave the order up: Order's two
    # announcements arrive in either order
    order_id = shop.place_order()
    accepted = {"readyBy": START + 30 * MINUTE, "changedAt": START + 5 * MINUTE}
    cancelled = {"readyBy": START + 30 * MINUTE, "changedAt": START + 10 * MINUTE}
    if not cancelled_first:
        shop.order_status(order_id, "accepted", **accepted)
        assert ready_by(shop, order_id) == (START + 30 * MINUTE, START + 30 * MINUTE)
    shop.order_status(order_id, "cancelled", reason="rejected", **cancelled)
    shop.order_status(order_id, "accepted", **accepted)

    # THEN no food will be ready for the customer
    assert ready_by(shop, order_id) == (None, None)


def test_an_order_cancelled_after_its_pickup_loses_its_ready_time(shop: Customer) -> None:
    # the driver reports it delivered, but Order's not-delivered deadline cancelled it
    order_id = shop.place_order()
    shop.order_status(order_id, "ready", readyBy=START + 9 * MINUTE, changedAt=START + 9 * MINUTE)
    shop.delivery(order_id, "picked-up", changedAt=START + 20 * MINUTE)
    when = {"readyBy": START + 9 * MINUTE, "changedAt": START + 140 * MINUTE}
    shop.order_status(order_id, "cancelled", reason="not-delivered", **when)
    shop.delivery(order_id, "delivered", changedAt=START + 150 * MINUTE)

    assert ready_by(shop, order_id) == (None, None)


def test_an_order_never_placed_shows_no_ready_time(shop: Customer) -> None:
    order_id = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})

    assert ready_by(shop, order_id) == (None, None)


def announced_before_ready_by(
    customer: Customer, order_id: str, status: str, changed_at: int
) -> None:
    """Order announces ``status`` as it did before it added ``readyBy``."""
    money = {"amount": 950, "currency": "EUR"}
    order = OrderStatusChangedV2.model_validate(
        {
            "id": order_id,
            "customerRef": "ref-1",
            "restaurant": {"id": "r-1", "name": "Trattoria Roma", "address": ADDRESS},
            "items": [{"menuItemId": "m", "name": "Pizza", "quantity": 1, "price": money}],
            "total": money,
            "status": status,
            "changedAt": changed_at,
        }
    )
    body = order.model_dump(mode="json", by_alias=True, exclude={"ready_by"})
    tags = {"subsystem": "order", "schemaVersion": "2"}
    event = new_event(order.TYPE, order.ENTITY, body, partition_key=order_id, tags=tags)
    customer.send("order", event)


def test_an_order_accepted_before_ready_by_was_added_shows_it_once_the_food_is_ready(
    shop: Customer,
) -> None:
    order_id = shop.place_order()
    announced_before_ready_by(shop, order_id, "accepted", START + 5 * MINUTE)
    assert shop.faults() == []
    assert track(shop, order_id).get_json()["status"] == "accepted"
    assert ready_by(shop, order_id) == (None, None)

    shop.order_status(order_id, "ready", readyBy=START + 20 * MINUTE, changedAt=START + 20 * MINUTE)

    assert ready_by(shop, order_id) == (START + 20 * MINUTE, START + 20 * MINUTE)


def test_a_view_stored_before_ready_by_was_kept_is_served_and_not_moved_back(
    shop: Customer,
) -> None:
    # GIVEN the view of a ready order, as tracking stored it before it kept readyBy
    order_id = shop.place_order()
    accepted = {"readyBy": START + 30 * MINUTE, "changedAt": START + 5 * MINUTE}
    shop.order_status(order_id, "accepted", **accepted)
    shop.order_status(order_id, "ready", readyBy=START + 20 * MINUTE, changedAt=START + 20 * MINUTE)
    stored = shop.doc("tracking", order_id)
    shop.store.put("tracking", order_id, {k: v for k, v in stored.items() if "readyBy" not in k})

    # THEN it is served, with no ready time known yet
    assert ready_by(shop, order_id) == (None, None)
    # AND Order's acceptance, announced again, does not show the estimate the order moved past
    shop.order_status(order_id, "accepted", **accepted)
    assert ready_by(shop, order_id) == (None, None)
    # AND Order's next status shows when the food was ready
    shop.order_status(
        order_id, "picked-up", readyBy=START + 20 * MINUTE, changedAt=START + 25 * MINUTE
    )
    assert ready_by(shop, order_id) == (START + 20 * MINUTE, START + 20 * MINUTE)
