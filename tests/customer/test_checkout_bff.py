"""checkout-bff: the cart, checkout into a pending order, and the payment's outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from customer.checkout_bff.deadline import PAYMENT_DEADLINE_MS
from customer.topology import TOPOLOGY
from shared.hub.memory import InMemoryPublisher
from shared.runtime.consumer import TriggerRuntime
from shared.runtime.outcome import Outcome
from shared.stores import DocumentChange
from shared.topology import Topic
from tests.customer.conftest import (
    ADDRESS,
    DECLINED_CARD,
    DISHES,
    HOME,
    MINUTE,
    START,
    Customer,
)

if TYPE_CHECKING:
    from werkzeug.test import TestResponse

CART: dict[str, Any] = {
    "restaurantId": "r-1",
    "items": [
        {"menuItemId": "margherita", "quantity": 2},
        {"menuItemId": "tiramisu", "quantity": 1},
    ],
}
PRICED = {
    "restaurantId": "r-1",
    "items": [
        {"menuItemId": "margherita", "name": "Pizza Margherita", "quantity": 2, "price": 950},
        {"menuItemId": "tiramisu", "name": "Tiramisù", "quantity": 1, "price": 650},
    ],
    "total": 2550,
    "currency": "EUR",
}


def cart(customer: Customer, subject: str = "alice") -> Any:
    return customer.call("checkout-bff", "GET", "/cart", subject=subject).get_json()


def checkout(
    customer: Customer,
    body: dict[str, Any] | None = None,
    key: str | None = None,
    subject: str | None = "alice",
) -> TestResponse:
    headers = {"Idempotency-Key": key} if key else {}
    return customer.call(
        "checkout-bff", "POST", "/checkout", body or {}, subject=subject, headers=headers
    )


def orders(customer: Customer) -> list[dict[str, Any]]:
    return [d.data for d in customer.store.query("orders")]


# -- the cart ---------------------------------------------------------------------------


def test_a_new_customer_has_an_empty_cart(shop: Customer) -> None:
    assert cart(shop) == {"restaurantId": None, "items": [], "total": 0, "currency": None}


def test_a_cart_is_priced_from_the_menu(shop: Customer) -> None:
    response = shop.call("checkout-bff", "PUT", "/cart", CART)

    assert response.status_code == 200
    assert response.get_json() == PRICED
    assert cart(shop) == PRICED
    assert cart(shop, "bob")["items"] == []


def test_a_cart_can_be_emptied(shop: Customer) -> None:
    shop.call("checkout-bff", "PUT", "/cart", CART)

    assert shop.call("checkout-bff", "DELETE", "/cart").status_code == 204
    assert cart(shop)["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"restaurantId": "r-1", "items": []}, "items"),
        (
            {"restaurantId": "r-1", "items": [{"menuItemId": "margherita", "quantity": 0}]},
            "items.0.quantity",
        ),
        (
            {"restaurantId": "r-1", "items": [{"menuItemId": "margherita", "quantity": 51}]},
            "items.0.quantity",
        ),
        (
            {"restaurantId": "r-1", "items": [{"menuItemId": "margherita", "quantity": 1}] * 31},
            "items",
        ),
        (
            {"restaurantId": "r-1", "items": [{"menuItemId": "margherita", "quantity": True}]},
            "items.0.quantity",
        ),
        (
            {"restaurantId": "r-1", "items": [{"menuItemId": "margherita", "quantity": "2"}]},
            "items.0.quantity",
        ),
        ({"restaurantId": "", "items": CART["items"]}, "restaurantId"),
        ({"items": CART["items"]}, "restaurantId"),
        ({**CART, "coupon": "FREE"}, "coupon"),
    ],
)
def test_a_malformed_cart_gets_400_naming_the_field(
    shop: Customer, body: dict[str, Any], field: str
) -> None:
    response = shop.call("checkout-bff", "PUT", "/cart", body)

    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert shop.store.get("carts", "alice") is None


def test_a_cart_at_an_unknown_or_closed_restaurant_is_refused(shop: Customer) -> None:
    shop.restaurant("r-2", open=False)

    unknown = shop.call("checkout-bff", "PUT", "/cart", {**CART, "restaurantId": "r-9"})
    closed = shop.call("checkout-bff", "PUT", "/cart", {**CART, "restaurantId": "r-2"})

    assert unknown.status_code == closed.status_code == 422
    assert unknown.get_json()["fields"] == {"restaurantId": "restaurant r-9 is unknown"}
    assert closed.get_json()["fields"] == {"restaurantId": "restaurant r-2 is closed"}
    assert shop.store.get("carts", "alice") is None


def test_unknown_and_unavailable_dishes_are_named(shop: Customer) -> None:
    items = [
        {"menuItemId": "margherita", "quantity": 1},
        {"menuItemId": "calzone", "quantity": 1},
        {"menuItemId": "sushi", "quantity": 1},
    ]
    response = shop.call("checkout-bff", "PUT", "/cart", {"restaurantId": "r-1", "items": items})

    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "items.1.menuItemId": "Calzone is not available",
        "items.2.menuItemId": "sushi is not on the menu",
    }


def test_lines_of_the_same_dish_become_one_line(shop: Customer) -> None:
    items = [
        {"menuItemId": "margherita", "quantity": 1},
        {"menuItemId": "tiramisu", "quantity": 1},
        {"menuItemId": "margherita", "quantity": 1},
    ]
    response = shop.call("checkout-bff", "PUT", "/cart", {"restaurantId": "r-1", "items": items})

    assert response.status_code == 200
    assert response.get_json() == PRICED
    assert cart(shop) == PRICED


def test_more_than_50_of_one_dish_over_several_lines_is_refused_naming_the_line(
    shop: Customer,
) -> None:
    items = [
        {"menuItemId": "margherita", "quantity": 30},
        {"menuItemId": "tiramisu", "quantity": 50},
        {"menuItemId": "margherita", "quantity": 20},
        {"menuItemId": "margherita", "quantity": 1},
    ]
    response = shop.call("checkout-bff", "PUT", "/cart", {"restaurantId": "r-1", "items": items})

    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "items.3.quantity": "Pizza Margherita is on items.0, items.2 and items.3: "
        "51 in all, at most 50 of one dish"
    }
    assert shop.store.get("carts", "alice") is None


def test_a_cart_kept_from_before_with_too_many_of_a_dish_is_not_ordered(shop: Customer) -> None:
    shop.sign_up()
    line = {"menuItemId": "margherita", "name": "Pizza Margherita", "quantity": 30, "price": 950}
    old = {"restaurantId": "r-1", "items": [line, line], "total": 57000, "currency": "EUR"}
    shop.store.put("carts", "alice", {**old, "checkoutId": "c-1"})

    response = checkout(shop)

    assert response.status_code == 422
    assert list(response.get_json()["fields"]) == ["items.1.quantity"]
    assert orders(shop) == []


@pytest.mark.parametrize("price", [2**53 // 50, 10**17])
def test_a_cart_coming_to_more_than_one_order_may_is_refused_naming_its_items(
    shop: Customer, price: int
) -> None:
    # Dishes priced before Restaurant capped prices: a total past 2**53 - 1 was kept (no
    # JavaScript app reads it exactly), one past 64 bits a 400 about the data store
    legacy = [{**dish, "price": price, "available": True} for dish in DISHES]
    shop.menu(items=legacy)
    items = [{"menuItemId": dish["id"], "quantity": 50} for dish in DISHES]

    response = shop.call("checkout-bff", "PUT", "/cart", {"restaurantId": "r-1", "items": items})

    assert response.status_code == 422
    [(field, problem)] = response.get_json()["fields"].items()
    assert field == "items"
    assert f"the total would be {150 * price}" in problem
    assert shop.store.get("carts", "alice") is None


def test_a_cart_repriced_past_what_one_order_may_come_to_is_not_ordered(shop: Customer) -> None:
    shop.sign_up()
    shop.fill_cart()
    shop.menu(items=[{**dish, "price": 10**17} for dish in DISHES])

    response = checkout(shop)

    assert response.status_code == 422
    assert list(response.get_json()["fields"]) == ["items"]
    assert orders(shop) == []


# -- checkout ---------------------------------------------------------------------------


def test_checkout_creates_a_pending_order_and_clears_the_cart(shop: Customer) -> None:
    shop.sign_up()
    shop.fill_cart()

    response = checkout(shop)

    assert response.status_code == 201
    placed = response.get_json()
    assert placed == {
        "orderId": placed["orderId"],
        "status": "pending-payment",
        "total": 2550,
        "currency": "EUR",
        "pushTopic": placed["pushTopic"],
    }
    assert cart(shop)["items"] == []
    [submitted] = shop.events("order-submitted")
    order = submitted.body
    # the app subscribes to the topic Delivery pushes to: the order's ref, never the account
    assert placed["pushTopic"] == order["customerRef"] != "alice"
    assert order == {
        "id": placed["orderId"],
        "customerId": "alice",
        "customerRef": order["customerRef"],
        "restaurant": {"id": "r-1", "name": "Trattoria Roma", "address": ADDRESS},
        "items": PRICED["items"],
        "total": 2550,
        "currency": "EUR",
        "deliveryAddress": HOME,
        "notifyCustomer": True,
        "status": "pending-payment",
        "createdAt": shop.clock.now_ms(),
    }
    assert order["customerRef"] not in (order["id"], "alice")
    assert shop.doc("orders", placed["orderId"])["paymentMethod"] is None  # forgotten once paid
    assert submitted.partition_key == placed["orderId"]


def test_an_authorized_payment_places_the_order(shop: Customer) -> None:
    shop.clock.advance(5_000)
    order_id = shop.place_order()

    order = shop.doc("orders", order_id)
    assert order["status"] == "placed"
    assert order["placedAt"] == shop.clock.now_ms()
    [placed] = shop.events("order-placed")
    assert placed.body["id"] == order_id
    assert placed.body["placedAt"] == order["placedAt"]
    assert "paymentMethod" not in placed.body


def test_an_order_is_placed_when_its_payment_is_authorized_not_when_checked_out(
    shop: Customer,
) -> None:
    # GIVEN the processor is down for the first three minutes after checkout
    shop.processor.down_until = START + 3 * MINUTE

    order_id = shop.place_order()

    # THEN the order was placed when the processor authorized it, and says so everywhere
    order = shop.doc("orders", order_id)
    assert order["createdAt"] == START
    assert START + 3 * MINUTE <= order["placedAt"] == payment_time(shop, order_id)
    [placed] = shop.events("order-placed")
    assert placed.body["placedAt"] == order["placedAt"]
    [published] = shop.events("customer.order-placed", topic="external")
    assert published.body["placedAt"] == order["placedAt"]


def payment_time(shop: Customer, order_id: str) -> int:
    """When the processor answered the authorization of ``order_id``."""
    authorized_at: int = shop.doc("payments", order_id)["authorizedAt"]
    return authorized_at


def test_a_declined_payment_declines_the_order(shop: Customer) -> None:
    order_id = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})

    order = shop.doc("orders", order_id)
    assert order["status"] == "payment-declined"
    assert order["reason"] == "card_declined"
    [declined] = shop.events("order-payment-declined")
    assert declined.body["reason"] == "card_declined"
    assert "paymentMethod" not in declined.body
    assert shop.events("order-placed") == []


def test_a_declined_payment_gives_the_dishes_back_for_another_card(shop: Customer) -> None:
    declined = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})

    assert cart(shop) == PRICED
    response = checkout(shop, {"paymentMethod": "pm_card_visa"})

    assert response.status_code == 201, response.get_json()
    retried = response.get_json()["orderId"]
    assert retried != declined
    assert shop.doc("orders", retried)["status"] == "placed"
    assert shop.doc("orders", declined)["status"] == "payment-declined"
    assert cart(shop)["items"] == []


def orders_trigger(shop: Customer) -> TriggerRuntime[Any]:
    """Checkout's trigger on ``orders``, to hand a change to it by hand."""
    [(service, trigger)] = [(s, t) for s, t in TOPOLOGY.triggers() if t.collection == "orders"]
    return TriggerRuntime(
        TOPOLOGY,
        service,
        trigger,
        shop.system.ports["customer"],
        InMemoryPublisher(shop.system.hub, "customer"),
        shop.clock,
    )


def test_a_repeated_decline_restores_nothing_once_the_retry_is_ordered(shop: Customer) -> None:
    declined = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})
    retried = checkout(shop, {"paymentMethod": "pm_card_visa"}).get_json()["orderId"]
    order = shop.doc("orders", declined)
    change = DocumentChange("orders", declined, {**order, "status": "pending-payment"}, order, "v")
    runtime = orders_trigger(shop)

    assert runtime.handle(change) is Outcome.ACK  # the change, delivered once more
    shop.system.run_until_quiet()

    assert cart(shop)["items"] == []
    assert shop.doc("orders", retried)["status"] == "placed"


@pytest.mark.parametrize("since", ["emptied", "repriced-and-ordered"])
def test_a_repeated_decline_does_not_put_back_dishes_the_customer_dealt_with(
    shop: Customer, since: str
) -> None:
    # GIVEN a declined order whose dishes came back, which the customer then dealt with
    declined = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})
    assert cart(shop) == PRICED
    if since == "emptied":
        assert shop.call("checkout-bff", "DELETE", "/cart").status_code == 204
    else:  # the menu changed: the restored cart is reviewed at today's prices and ordered
        shop.menu("r-1", [{**DISHES[0], "price": 1000}, *DISHES[1:]])
        assert checkout(shop, {"paymentMethod": "pm_card_visa"}).status_code == 409
        assert checkout(shop, {"paymentMethod": "pm_card_visa"}).status_code == 201
    assert cart(shop)["items"] == []

    # WHEN the decline's change is delivered once more
    order = shop.doc("orders", declined)
    change = DocumentChange("orders", declined, {**order, "status": "pending-payment"}, order, "v")
    assert orders_trigger(shop).handle(change) is Outcome.ACK
    shop.system.run_until_quiet()

    # THEN the cart stays as the customer left it
    assert cart(shop)["items"] == []


def test_an_order_first_seen_already_placed_is_announced_submitted_and_placed(
    shop: Customer,
) -> None:
    # GIVEN a change feed that hands over the creation and the placement as one change
    order_id = shop.place_order()
    placed = shop.doc("orders", order_id)
    change = DocumentChange("orders", order_id, None, placed, "merged")
    runtime = orders_trigger(shop)
    before = {t: len(shop.events(t)) for t in ("order-submitted", "order-placed")}

    assert runtime.handle(change) is Outcome.ACK

    # THEN both are announced, so order-esg still tells Order of the paid order
    assert {t: len(shop.events(t)) - n for t, n in before.items()} == {
        "order-submitted": 1,
        "order-placed": 1,
    }


def test_a_declined_payment_leaves_a_cart_started_since_alone(shop: Customer) -> None:
    shop.sign_up()
    shop.fill_cart()
    response = shop.client("checkout-bff").post(  # the payment is not decided yet
        "/checkout", json={"paymentMethod": DECLINED_CARD}, headers=shop.headers()
    )
    order_id = response.get_json()["orderId"]
    one_pizza = {"restaurantId": "r-1", "items": [{"menuItemId": "margherita", "quantity": 1}]}
    assert shop.call("checkout-bff", "PUT", "/cart", one_pizza).status_code == 200

    assert shop.doc("orders", order_id)["status"] == "payment-declined"
    assert [line["menuItemId"] for line in cart(shop)["items"]] == ["margherita"]
    assert cart(shop)["items"][0]["quantity"] == 1


def test_a_decline_decided_before_checkout_clears_the_cart_keeps_the_dishes(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.sign_up()
    shop.fill_cart()
    create = shop.store.create

    def create_then_decide_the_payment(collection: str, key: str, data: dict[str, Any]) -> bool:
        created = create(collection, key, data)
        if collection == "orders":
            shop.system.run_until_quiet()  # the decline, before checkout deletes the cart
        return created

    monkeypatch.setattr(shop.store, "create", create_then_decide_the_payment)
    response = checkout(shop, {"paymentMethod": DECLINED_CARD})

    assert response.status_code == 201, response.get_json()
    assert shop.doc("orders", response.get_json()["orderId"])["status"] == "payment-declined"
    assert cart(shop) == PRICED


# -- the payment deadline -------------------------------------------------------------


def test_an_order_whose_payment_is_not_decided_in_time_is_cancelled(shop: Customer) -> None:
    # GIVEN the processor is down for longer than an order may wait for its payment
    shop.processor.down_until = START + 2 * PAYMENT_DEADLINE_MS
    shop.tick_while_waiting()

    # WHEN the customer checks out, and payment-esg keeps trying
    order_id = shop.place_order()

    # THEN the order was cancelled at the deadline and never placed, and its dishes are back
    order = shop.doc("orders", order_id)
    assert (order["status"], order["reason"]) == ("cancelled", "payment-timeout")
    assert (
        START + PAYMENT_DEADLINE_MS <= order["cancelledAt"] < START + PAYMENT_DEADLINE_MS + MINUTE
    )
    [cancelled] = shop.events("order-cancelled")
    assert cancelled.body["reason"] == "payment-timeout"
    assert "paymentMethod" not in cancelled.body
    assert shop.events("order-placed") == []
    assert shop.messages[Topic.EXTERNAL] == []
    assert cart(shop) == PRICED
    view = shop.call("tracking-bff", "GET", f"/orders/{order_id}").get_json()
    assert (view["status"], view["reason"], view["placedAt"]) == (
        "cancelled",
        "payment-timeout",
        None,
    )
    assert [step["status"] for step in view["history"]] == ["pending-payment", "cancelled"]


def test_a_short_outage_of_the_processor_still_places_the_order(shop: Customer) -> None:
    shop.processor.down_until = START + 4 * MINUTE
    shop.tick_while_waiting()

    order_id = shop.place_order()
    shop.system.advance(PAYMENT_DEADLINE_MS + MINUTE)

    assert shop.doc("orders", order_id)["status"] == "placed"
    assert shop.events("order-cancelled") == []
    assert cart(shop)["items"] == []


def test_the_request_may_name_another_address_and_card(shop: Customer) -> None:
    shop.sign_up()
    shop.fill_cart()

    response = checkout(shop, {"deliveryAddress": ADDRESS, "paymentMethod": "pm_card_amex"})

    [order] = orders(shop)
    assert response.status_code == 201
    assert order["deliveryAddress"] == ADDRESS
    [call] = shop.processor.calls
    assert call["body"]["paymentMethod"] == "pm_card_amex"
    assert order["status"] == "placed"


@pytest.mark.parametrize("change", ["replaced", "removed"])
def test_the_saved_card_pays_as_it_was_at_checkout(shop: Customer, change: str) -> None:
    # GIVEN a customer checks out with their saved card
    shop.sign_up()
    shop.fill_cart()
    response = shop.client("checkout-bff").post("/checkout", json={}, headers=shop.headers())
    order_id = response.get_json()["orderId"]

    # WHEN they replace or remove the saved card before payment-esg asks the processor
    account, mine = shop.client("account-bff"), shop.headers()
    if change == "replaced":
        amex = {"token": "pm_card_amex", "brand": "amex", "last4": "0005"}
        assert account.put("/me/payment-method", json=amex, headers=mine).status_code == 200
    else:
        assert account.delete("/me/payment-method", headers=mine).status_code == 204
    shop.system.run_until_quiet()

    # THEN the card chosen at checkout pays for the order, and the order forgets it once paid
    [call] = shop.processor.calls
    assert call["body"]["paymentMethod"] == "pm_card_visa"
    order = shop.doc("orders", order_id)
    assert (order["status"], order["paymentMethod"]) == ("placed", None)


@pytest.mark.parametrize(
    ("card", "status"), [("pm_card_amex", "placed"), (DECLINED_CARD, "payment-declined")]
)
def test_a_card_named_at_checkout_is_kept_only_until_the_payment_is_decided(
    shop: Customer, card: str, status: str
) -> None:
    # GIVEN the processor is down for a while after checkout
    shop.sign_up()
    shop.fill_cart()
    shop.processor.down_until = START + MINUTE
    seen: list[str | None] = []
    shop.meanwhile(START + 1, lambda: seen.append(orders(shop)[0]["paymentMethod"]))

    checkout(shop, {"paymentMethod": card})

    # THEN the order holds the card while its payment waits, and forgets it once decided
    assert seen == [card]
    [order] = orders(shop)
    assert order["status"] == status
    assert order["paymentMethod"] is None


def test_a_card_named_at_checkout_is_forgotten_when_a_late_authorization_is_voided(
    shop: Customer,
) -> None:
    # GIVEN the processor is down for longer than an order may wait for its payment
    shop.sign_up()
    shop.fill_cart()
    shop.processor.down_until = START + PAYMENT_DEADLINE_MS + 5 * MINUTE
    shop.tick_while_waiting()

    # WHEN the customer checks out with a card named in the request
    order_id = checkout(shop, {"paymentMethod": "pm_card_amex"}).get_json()["orderId"]

    # THEN the order cancelled at the deadline forgets the card once the late authorization
    # (made with it) is announced, and voided
    [call, *_] = shop.processor.calls
    assert call["body"]["paymentMethod"] == "pm_card_amex"
    order = shop.doc("orders", order_id)
    assert (order["status"], order["paymentMethod"]) == ("cancelled", None)
    assert shop.doc("payments", order_id)["status"] == "voided"


def test_an_address_beyond_the_restaurants_delivery_radius_is_refused(shop: Customer) -> None:
    shop.sign_up()
    shop.fill_cart()
    potsdam = {**ADDRESS, "city": "Potsdam", "postcode": "14467", "lat": 52.3906, "lng": 13.0645}

    response = checkout(shop, {"deliveryAddress": potsdam})

    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "deliveryAddress": "Trattoria Roma delivers within 5.0 km; this address is 27.5 km away"
    }
    assert orders(shop) == []
    assert cart(shop) == PRICED


def test_a_restaurant_that_said_no_radius_delivers_anywhere(shop: Customer) -> None:
    shop.restaurant("r-1", deliveryRadiusM=None)
    shop.sign_up()
    shop.fill_cart()
    potsdam = {**ADDRESS, "city": "Potsdam", "postcode": "14467", "lat": 52.3906, "lng": 13.0645}

    assert checkout(shop, {"deliveryAddress": potsdam}).status_code == 201


def test_checkout_with_an_empty_cart_is_a_conflict(shop: Customer) -> None:
    shop.sign_up()

    response = checkout(shop)

    assert response.status_code == 409
    assert orders(shop) == []


def test_a_second_click_without_idempotency_key_points_to_the_orders(shop: Customer) -> None:
    # GIVEN a checkout answered, its cart ordered
    shop.sign_up()
    shop.fill_cart()
    first = checkout(shop)
    assert first.status_code == 201

    # WHEN the app sends a second click without an Idempotency-Key
    again = checkout(shop)

    # THEN it is refused, saying where the order went, in the words any empty cart gets
    assert again.status_code == 409
    message = again.get_json()["error"]
    assert "GET /orders" in message
    assert first.get_json()["orderId"] not in message
    assert message == checkout(shop, subject="bob").get_json()["error"]
    assert len(orders(shop)) == 1


DECLINED_VISA = {"token": DECLINED_CARD, "brand": "visa", "last4": "0002"}


def authorizations(shop: Customer) -> int:
    """How many times the processor was asked to authorize a payment."""
    return len([c for c in shop.processor.calls if c["path"] == "/v1/authorizations"])


@pytest.mark.parametrize("body", [{}, {"paymentMethod": DECLINED_CARD}], ids=["saved", "named"])
def test_a_second_click_after_the_payment_was_declined_orders_nothing_again(
    shop: Customer, body: dict[str, Any]
) -> None:
    # GIVEN a checkout sent without an Idempotency-Key, whose payment was declined before the
    # app's second click arrived: the dishes are back in the cart
    shop.sign_up(card=DECLINED_VISA)
    shop.fill_cart()
    first = checkout(shop, body)
    assert first.status_code == 201
    assert shop.doc("orders", first.get_json()["orderId"])["status"] == "payment-declined"
    assert cart(shop) == PRICED

    # WHEN the second click arrives, the same request again
    again = checkout(shop, body)

    # THEN it is refused, saying why and how to pay: no second order, the card not asked again
    assert again.status_code == 409, again.get_json()
    assert "second click" in again.get_json()["error"]
    assert first.get_json()["orderId"] not in again.get_json()["error"]
    assert [o["id"] for o in orders(shop)] == [first.get_json()["orderId"]]
    assert authorizations(shop) == 1
    assert cart(shop) == PRICED


@pytest.mark.parametrize("new_try", ["another-card", "another-saved-card", "with-a-key"])
def test_after_a_decline_the_customers_new_try_orders_the_dishes(
    shop: Customer, new_try: str
) -> None:
    # GIVEN a checkout without an Idempotency-Key whose payment was declined
    shop.sign_up(card=DECLINED_VISA)
    shop.fill_cart()
    declined = checkout(shop).get_json()["orderId"]

    # WHEN the customer tries again: another card, another saved, or the same with a key
    if new_try == "another-card":
        response = checkout(shop, {"paymentMethod": "pm_card_visa"})
    elif new_try == "another-saved-card":
        card = {"token": "pm_card_visa", "brand": "visa", "last4": "4242"}
        assert shop.call("account-bff", "PUT", "/me/payment-method", card).status_code == 200
        response = checkout(shop)
    else:
        response = checkout(shop, key="try-again")

    # THEN a new order is made and its payment asked for
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["orderId"] != declined
    assert len(orders(shop)) == 2
    assert authorizations(shop) == 2


def test_checkout_without_address_or_card_names_what_is_missing(shop: Customer) -> None:
    shop.call("account-bff", "PUT", "/me", {"name": "Alice", "email": "alice@example.com"})
    shop.fill_cart()

    response = checkout(shop)

    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert set(fields) == {"deliveryAddress", "paymentMethod"}
    assert fields["deliveryAddress"] == (
        "none given and none saved in the account (one saved a moment ago reaches checkout "
        "within seconds)"
    )
    assert fields["paymentMethod"] == (
        "none given and no card saved in the account (PUT /me/payment-method on the account API)"
    )
    assert orders(shop) == []
    assert cart(shop) == PRICED


def test_checkout_before_the_new_account_reached_it_says_so(shop: Customer) -> None:
    shop.fill_cart()  # no account-updated event has reached checkout

    response = checkout(shop)

    assert response.status_code == 422
    assert (
        "checkout knows no account of yours yet" in response.get_json()["fields"]["deliveryAddress"]
    )
    assert orders(shop) == []


def test_a_card_saved_a_moment_ago_pays_before_checkouts_copy_hears_of_it(
    shop: Customer,
) -> None:
    # GIVEN an account without a card, as checkout's copy of it says
    account = {"name": "Alice", "email": "alice@example.com", "deliveryAddress": HOME}
    assert shop.call("account-bff", "PUT", "/me", account).status_code == 200
    shop.fill_cart()
    assert shop.doc("checkout-accounts", "alice")["hasPaymentMethod"] is False

    # WHEN the customer saves a card and checks out before the copy hears of it
    amex = {"token": "pm_card_amex", "brand": "amex", "last4": "0005"}
    mine = shop.headers()
    assert (
        shop.client("account-bff").put("/me/payment-method", json=amex, headers=mine).status_code
        == 200
    )
    response = shop.client("checkout-bff").post("/checkout", json={}, headers=mine)
    assert shop.doc("checkout-accounts", "alice")["hasPaymentMethod"] is False  # not heard yet

    # THEN the card just saved pays for the order
    assert response.status_code == 201, response.get_json()
    shop.system.run_until_quiet()
    [call] = shop.processor.calls
    assert call["body"]["paymentMethod"] == "pm_card_amex"
    assert shop.doc("orders", response.get_json()["orderId"])["status"] == "placed"


def test_a_saved_card_removed_before_checkouts_copy_heard_of_it_is_a_clear_422(
    shop: Customer,
) -> None:
    # GIVEN the customer removes their saved card, and checks out before checkout's copy of
    # the account says so (it still says a card is saved)
    shop.sign_up()
    shop.fill_cart()
    mine = shop.headers()
    assert shop.client("account-bff").delete("/me/payment-method", headers=mine).status_code == 204
    response = shop.client("checkout-bff").post("/checkout", json={}, headers=mine)
    assert shop.doc("checkout-accounts", "alice")["hasPaymentMethod"] is True  # not heard yet

    # THEN checkout refuses, naming the card, and keeps the cart: no order to decline later
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"paymentMethod"}
    shop.system.run_until_quiet()
    assert orders(shop) == []
    assert cart(shop) == PRICED
    assert shop.processor.calls == []


def test_a_malformed_checkout_gets_400(shop: Customer) -> None:
    shop.sign_up()
    shop.fill_cart()

    response = checkout(shop, {"paymentMethod": "4242424242424242"})

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["paymentMethod"]
    assert orders(shop) == []


def test_checkout_prices_the_cart_again(shop: Customer) -> None:
    shop.sign_up()
    shop.fill_cart()
    shop.menu("r-1", [{**DISHES[0], "available": False}, DISHES[1]])

    response = checkout(shop)

    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "items.0.menuItemId": "Pizza Margherita is not available"
    }
    assert orders(shop) == []


@pytest.mark.parametrize("field", ["street", "city", "postcode"])
def test_an_address_with_a_blank_line_gets_400_naming_it(shop: Customer, field: str) -> None:
    shop.sign_up()
    shop.fill_cart()

    response = checkout(shop, {"deliveryAddress": {**ADDRESS, field: "  "}})

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [f"deliveryAddress.{field}"]
    assert orders(shop) == []
    assert cart(shop) == PRICED


def test_a_price_change_since_the_cart_was_filled_is_shown_before_paying(shop: Customer) -> None:
    shop.sign_up()
    shop.fill_cart()
    shop.menu("r-1", [{**DISHES[0], "price": 1900}, DISHES[1]])

    refused = checkout(shop)

    assert refused.status_code == 409
    assert "now costs 4450 EUR (was 2550 EUR)" in refused.get_json()["error"]
    assert orders(shop) == []
    assert shop.processor.paths("/v1/authorizations") == []
    assert cart(shop)["total"] == 4450  # at today's prices, to review
    accepted = checkout(shop)
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json()["total"] == 4450


@pytest.mark.parametrize(
    "changed",
    [
        # prices moved both ways: the same total, other line prices than the cart showed
        [{**DISHES[0], "price": 1000}, {**DISHES[1], "price": 550}, *DISHES[2:]],
        [{**DISHES[0], "name": "Pizza Tonno"}, *DISHES[1:]],  # another dish under the same id
    ],
    ids=["same-total", "renamed"],
)
def test_a_menu_change_the_total_does_not_show_is_shown_before_ordering(
    shop: Customer, changed: list[dict[str, Any]]
) -> None:
    shop.sign_up()
    shop.fill_cart()  # 2 x margherita at 950, 1 x tiramisu at 650: 2550
    shop.menu("r-1", changed)

    refused = checkout(shop)

    assert refused.status_code == 409
    assert "the menu changed since the cart was filled" in refused.get_json()["error"]
    assert orders(shop) == []
    assert cart(shop)["items"] != []
    assert checkout(shop).status_code == 201  # the cart as it is now, reviewed


def test_a_retried_checkout_returns_the_same_order(shop: Customer) -> None:
    shop.sign_up()
    shop.fill_cart()

    first = checkout(shop, key="checkout-1")
    again = checkout(shop, key="checkout-1")

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert [o["id"] for o in orders(shop)] == [first.get_json()["orderId"]]
    assert len(shop.processor.paths("/v1/authorizations")) == 1


def test_two_customers_may_use_the_same_idempotency_key(shop: Customer) -> None:
    # GIVEN alice and bob, each with a full cart, whose apps happen to pick the same key
    for subject in ("alice", "bob"):
        shop.sign_up(subject)
        shop.fill_cart(subject)

    # WHEN both check out with it
    alices = checkout(shop, key="checkout-1")
    bobs = checkout(shop, key="checkout-1", subject="bob")

    # THEN bob's checkout runs: he gets his own order, not alice's answer
    assert alices.status_code == bobs.status_code == 201, bobs.get_json()
    alice_order, bob_order = alices.get_json()["orderId"], bobs.get_json()["orderId"]
    assert bob_order != alice_order
    assert {o["id"]: o["customerId"] for o in orders(shop)} == {
        alice_order: "alice",
        bob_order: "bob",
    }
    assert shop.doc("orders", bob_order)["status"] == "placed"
    assert cart(shop, "bob")["items"] == []
    assert len(shop.processor.paths("/v1/authorizations")) == 2
    # and each one's retry still gets their own first answer
    assert checkout(shop, key="checkout-1").get_json() == alices.get_json()
    assert checkout(shop, key="checkout-1", subject="bob").get_json() == bobs.get_json()
    assert len(orders(shop)) == 2


def test_checkout_is_for_customers_only(shop: Customer) -> None:
    assert checkout(shop, subject=None).status_code == 401
    assert (
        shop.call("checkout-bff", "GET", "/cart", subject="dan", actor="driver").status_code == 403
    )


def test_a_checkout_that_crashed_after_creating_the_order_makes_no_second_one(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.sign_up()
    shop.fill_cart()
    store = shop.store
    delete = store.delete

    def crash_once(collection: str, key: str) -> None:
        monkeypatch.setattr(store, "delete", delete)
        raise ConnectionError("the process died here")

    monkeypatch.setattr(store, "delete", crash_once)
    assert checkout(shop, key="checkout-1").status_code == 500
    [created] = orders(shop)

    retried = checkout(shop, key="checkout-1")

    assert retried.status_code == 201
    assert retried.get_json()["orderId"] == created["id"]
    assert [o["id"] for o in orders(shop)] == [created["id"]]
    assert cart(shop)["items"] == []


def test_an_order_with_nothing_to_pay_is_refused(shop: Customer) -> None:
    free = [{**dish, "price": 0} for dish in DISHES]
    shop.send("restaurant", shop.menu(items=free))
    shop.sign_up()
    shop.fill_cart()

    refused = checkout(shop, key="checkout-free")

    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {"items": "the total must be above 0"}
    assert orders(shop) == []


def crash_once_consuming_the_cart(shop: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next checkout dies just after creating its order, before the cart is consumed."""
    store = shop.store
    delete_if = store.delete_if

    def crash_once(collection: str, key: str, condition: Any) -> bool:
        if collection != "carts":
            return delete_if(collection, key, condition)
        monkeypatch.setattr(store, "delete_if", delete_if)
        raise ConnectionError("the process died here")

    monkeypatch.setattr(store, "delete_if", crash_once)


@pytest.mark.parametrize(
    "meanwhile",
    [
        lambda shop: shop.menu("r-1", [{**DISHES[0], "price": 1900}, *DISHES[1:]]),
        lambda shop: shop.restaurant("r-1", open=False),
        lambda shop: shop.call("account-bff", "DELETE", "/me/payment-method"),
    ],
    ids=["repriced", "closed", "card-removed"],
)
def test_a_checkout_retried_after_it_created_the_order_answers_that_order(
    shop: Customer, monkeypatch: pytest.MonkeyPatch, meanwhile: Any
) -> None:
    # GIVEN a checkout that created its order and died before it answered
    shop.sign_up()
    shop.fill_cart()
    crash_once_consuming_the_cart(shop, monkeypatch)
    assert checkout(shop, key="checkout-1").status_code == 500
    [created] = orders(shop)

    # WHEN what the order was checked against changes before the app retries
    meanwhile(shop)
    retried = checkout(shop, key="checkout-1")

    # THEN the retry answers the order made, at the price it was made at, and makes no other
    assert retried.status_code == 201, retried.get_json()
    assert retried.get_json()["orderId"] == created["id"]
    assert retried.get_json()["total"] == 2550
    assert [o["id"] for o in orders(shop)] == [created["id"]]
    assert cart(shop)["items"] == []
    assert checkout(shop).status_code == 409  # nothing left to order twice
    assert len(orders(shop)) == 1


def test_a_cart_kept_from_before_versions_checked_out_twice_at_once_makes_one_order(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a cart put before carts were versioned (it has no checkoutId)
    shop.sign_up()
    shop.fill_cart()
    legacy = {k: v for k, v in shop.doc("carts", "alice").items() if k != "checkoutId"}
    shop.store.put("carts", "alice", legacy)
    create = shop.store.create
    answers: list[TestResponse] = []

    def second_click_first(collection: str, key: str, data: dict[str, Any]) -> bool:
        if collection == "orders" and not answers:  # the other click overtakes this one
            monkeypatch.setattr(shop.store, "create", create)
            client = shop.client("checkout-bff")
            answers.append(client.post("/checkout", json={}, headers=shop.headers()))
        return create(collection, key, data)

    monkeypatch.setattr(shop.store, "create", second_click_first)

    # WHEN two checkouts of it run at once
    first = checkout(shop)

    # THEN they make one order, which both answer
    [second] = answers
    assert first.status_code == second.status_code == 201, (first.get_json(), second.get_json())
    assert first.get_json() == second.get_json()
    assert [o["id"] for o in orders(shop)] == [first.get_json()["orderId"]]
    assert cart(shop)["items"] == []


def test_a_checkout_retried_after_its_order_was_declined_answers_that_order(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a checkout that made its order and died before it answered, and the order's
    # payment declined fast, its dishes back in the cart, before the app retries
    shop.sign_up(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})
    shop.fill_cart()
    crash_once_consuming_the_cart(shop, monkeypatch)
    assert checkout(shop, key="checkout-1").status_code == 500
    [declined] = orders(shop)
    assert declined["status"] == "payment-declined"
    assert cart(shop) == PRICED

    # WHEN the app retries the checkout with its Idempotency-Key
    retried = checkout(shop, key="checkout-1")

    # THEN the retry answers the order its first try made, orders nothing again, and leaves
    # the dishes in the cart for a checkout the customer asks for with another card
    assert retried.status_code == 201, retried.get_json()
    assert (retried.get_json()["orderId"], retried.get_json()["status"]) == (
        declined["id"],
        "payment-declined",
    )
    assert [o["id"] for o in orders(shop)] == [declined["id"]]
    assert cart(shop) == PRICED
    again = checkout(shop, {"paymentMethod": "pm_card_visa"}, key="checkout-2")
    assert again.status_code == 201, again.get_json()
    assert shop.doc("orders", again.get_json()["orderId"])["status"] == "placed"
