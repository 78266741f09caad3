"""End to end, through the BFF HTTP APIs only, as the three actors would use them.

The test thread plays the actors and, between their steps, lets the embedded
hub deliver what they caused (``stack.settle()``); third parties are real HTTP
servers on loopback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from scenario.actors import ApiError
from shared.envelope import Envelope
from shared.topology import Topic

if TYPE_CHECKING:
    from scenario.stack import EmbeddedStack
    from shared.hub.message import Message

MINUTE = 60_000
TRATTORIA, SAKURA = "trattoria-roma", "sakura-sushi"


def order_pizza(world, customer=None) -> str:
    order_id = (customer or world.alice).order(TRATTORIA, [("margherita", 2), ("tiramisu", 1)])
    world.stack.settle()
    return order_id


def only_offer(driver) -> dict:
    offers = driver.offers()
    assert len(offers) == 1, offers
    return offers[0]


def taken_by(world, driver) -> tuple[str, str]:
    """An order of Alice's, accepted by the kitchen and by ``driver``: (order, delivery)."""
    order_id = order_pizza(world)
    world.staff[TRATTORIA].accept(order_id)
    world.stack.settle()
    offer = only_offer(driver)
    driver.accept(offer["offerId"])
    world.stack.settle()
    return order_id, offer["deliveryId"]


def customer_messages(world, order_id: str) -> list[dict]:
    """What reached the push topic Alice's app subscribes to for the order."""
    topic = world.alice.track(order_id)["pushTopic"]
    sent = world.stack.notifications()
    return [m for m in sent if m["to"] == {"kind": "customer", "id": topic}]


def record_events(stack: EmbeddedStack) -> list[tuple[str, str, Message]]:
    """Every message published on a bus or external topic from now on, in order."""
    recorded: list[tuple[str, str, Message]] = []

    def record(project: str, topic: str, message: Message) -> None:
        if topic in (Topic.BUS, Topic.EXTERNAL):
            recorded.append((project, topic, message))

    stack.system.hub.observers.append(record)
    return recorded


def deliver_again(stack: EmbeddedStack, recorded: list[tuple[str, str, Message]]) -> set[str]:
    """Publish the recorded messages once more, in order, and deliver everything.

    Each subscription gets each event a second time with the same envelope,
    attributes and ordering key, as after a lost ack or a retried publish
    (only the transport's message id is new). Returns the event types replayed.
    """
    replay = list(recorded)
    for project, topic, message in replay:
        stack.system.hub.publish(project, topic, [message])
    stack.settle()
    return {message.attributes["type"] for _, _, message in replay}


def test_an_order_is_delivered_and_paid_once(world):
    stack, staff = world.stack, world.staff[TRATTORIA]
    recorded = record_events(stack)
    dan = world.driver("dan")
    order_id = order_pizza(world)
    assert world.alice.track(order_id)["status"] == "placed"
    assert [t["id"] for t in staff.queue("new")] == [order_id]

    staff.accept(order_id, prep_minutes=15)
    stack.settle()
    assert world.alice.track(order_id)["status"] == "accepted"
    offer = only_offer(dan)
    delivery_id = offer["deliveryId"]
    dan.accept(offer["offerId"])
    stack.settle()
    stack.advance(15 * MINUTE)
    staff.ready(order_id)
    stack.settle()
    dan.picked_up(delivery_id)
    stack.settle()
    assert world.alice.track(order_id)["status"] == "picked-up"
    dan.delivered(delivery_id)
    stack.settle()
    # Redelivered events must not repeat side effects: deliver every event of the order's
    # life again, those that caused the authorization, the capture and the notifications too.
    replayed = deliver_again(stack, recorded)
    assert {"order-submitted", "order-status-changed", "delivery-delivered"} <= replayed

    view = world.alice.track(order_id)
    assert view["status"] == "delivered"
    assert view["driver"]["name"] == "Dan"
    assert view["payment"] == "captured"
    assert [h["status"] for h in view["history"]][-5:] == [
        "placed",
        "accepted",
        "ready",
        "picked-up",
        "delivered",
    ]
    [authorization] = stack.authorizations(order_id)
    assert authorization["status"] == "captured"
    assert authorization["amount"] == 2 * 950 + 650
    assert [op["kind"] for op in authorization["operations"]].count("capture") == 1
    sent = {m["data"]["status"] for m in customer_messages(world, order_id)}
    assert {"accepted", "assigned", "picked-up", "delivered"} <= sent
    statuses = [m["data"]["status"] for m in customer_messages(world, order_id)]
    assert len(statuses) == len(set(statuses)), "one notification per status change"
    assert world.alice.history()[0]["id"] == order_id
    assert all(not stack.system.faults(name) for name in stack.system.apps)
    # One correlation id follows the order through the four subsystems, delivery leg included
    events = [(project, Envelope.from_bytes(m.data)) for project, _, m in recorded]
    about_it = [(project, e) for project, e in events if e.partition_key == order_id]
    assert {project for project, _ in about_it} == set(stack.system.apps)
    strays = {(e.type, e.correlation_id) for _, e in about_it if e.correlation_id != order_id}
    assert strays == set()


def test_a_driver_hands_the_order_back_and_the_next_one_delivers_it(world):
    stack, staff = world.stack, world.staff[TRATTORIA]
    recorded = record_events(stack)
    dan = world.driver("dan")
    order_id, delivery_id = taken_by(world, dan)  # 15 minutes of preparation
    eva = world.driver("eva")  # comes online while dan has the order
    assert eva.offers() == []
    assert world.alice.track(order_id)["driver"]["name"] == "Dan"

    released = dan.release(delivery_id, reason="my bike broke down")
    stack.settle()

    assert (released["status"], set(released["dropoff"])) == ("released", {"city", "postcode"})
    view = world.alice.track(order_id)
    assert (view["status"], view["driver"]) == ("accepted", None)
    assert dan.offers() == []
    offer = only_offer(eva)
    assert offer["deliveryId"] == delivery_id
    eva.accept(offer["offerId"])
    stack.settle()
    assert dan.release(delivery_id) == released  # asking again changes nothing
    stack.advance(15 * MINUTE)
    staff.ready(order_id)
    stack.settle()
    eva.picked_up(delivery_id)
    stack.settle()  # the ride takes a while; reported together, "delivered" may overtake
    # the pickup, and the customer is not told "on its way" after it (the point-of-sale
    # flow reports them together)
    eva.delivered(delivery_id)
    stack.settle()
    assert "driver-released" in deliver_again(stack, recorded)

    view = world.alice.track(order_id)
    assert (view["status"], view["driver"], view["payment"]) == (
        "delivered",
        {"name": "Eva"},
        "captured",
    )
    [authorization] = stack.authorizations(order_id)
    assert authorization["status"] == "captured"
    assert [op["kind"] for op in authorization["operations"]].count("capture") == 1
    told = [(m["data"]["status"], m["body"]) for m in customer_messages(world, order_id)]
    assert [status for status, _ in told] == [
        "accepted",
        "assigned",
        "released",
        "assigned",
        "picked-up",
        "delivered",
    ]
    assert "we are finding another one" in told[2][1] and "Eva" in told[3][1]
    to_dan = [m["title"] for m in stack.notifications() if m["to"]["id"] == "dan"]
    assert to_dan == ["New delivery offer"]
    assert [(d["deliveryId"], d["status"]) for d in dan.deliveries()] == [(delivery_id, "released")]
    assert all(not stack.system.faults(name) for name in stack.system.apps)


def test_a_rejected_order_is_cancelled_and_the_payment_voided(world):
    staff = world.staff[TRATTORIA]
    order_id = order_pizza(world)
    staff.reject(order_id, "Out of fresh basil tonight")
    world.stack.settle()

    view = world.alice.track(order_id)
    assert (view["status"], view["reason"]) == ("cancelled", "rejected")
    assert view["payment"] == "voided"
    [authorization] = world.stack.authorizations(order_id)
    assert authorization["status"] == "voided"
    assert "capture" not in [op["kind"] for op in authorization["operations"]]
    assert "cancelled" in {m["data"]["status"] for m in customer_messages(world, order_id)}


def test_an_unanswered_offer_is_offered_to_the_next_driver(world):
    dan, eva = world.driver("dan"), world.driver("eva")
    order_id = order_pizza(world)
    world.staff[TRATTORIA].accept(order_id)
    world.stack.settle()
    first = dan if dan.offers() else eva
    second = eva if first is dan else dan
    offer = only_offer(first)
    assert second.offers() == []

    world.stack.advance(3 * MINUTE)

    assert first.offers() == []
    again = only_offer(second)
    assert again["deliveryId"] == offer["deliveryId"]
    with pytest.raises(ApiError) as refused:
        first.accept(offer["offerId"])
    assert refused.value.status == 409  # it was theirs: withdrawn, not "not made to you" (403)
    assert refused.value.body["error"] == "the offer was withdrawn"
    second.accept(again["offerId"])
    world.stack.settle()
    assert world.alice.track(order_id)["driver"]["name"] == second_name(second, dan)


def second_name(second, dan) -> str:
    return "Dan" if second is dan else "Eva"


def test_a_restaurant_that_never_answers_cancels_the_order_and_releases_the_money(world):
    order_id = order_pizza(world)
    world.stack.advance(11 * MINUTE)  # the deadline passed; an answer may still be on its way
    assert world.alice.track(order_id)["status"] == "placed"

    world.stack.advance(2 * MINUTE)

    view = world.alice.track(order_id)
    assert (view["status"], view["reason"]) == ("cancelled", "restaurant-timeout")
    # Nothing was captured yet, so the money is released by voiding the authorization.
    [authorization] = world.stack.authorizations(order_id)
    assert authorization["status"] == "voided"
    assert view["payment"] == "voided"
    assert world.staff[TRATTORIA].queue("new") == []


def test_a_customer_cancels_before_the_restaurant_answers(world):
    order_id = order_pizza(world)
    world.alice.cancel(order_id)
    world.stack.settle()

    view = world.alice.track(order_id)
    assert (view["status"], view["reason"], view["payment"]) == ("cancelled", "customer", "voided")
    [authorization] = world.stack.authorizations(order_id)
    assert authorization["status"] == "voided"
    assert world.staff[TRATTORIA].queue("new") == []
    with pytest.raises(ApiError) as refused:  # too late to take it back
        world.staff[TRATTORIA].accept(order_id)
    assert refused.value.status == 409, refused.value.body


def test_a_customer_cannot_cancel_once_the_restaurant_accepted(world):
    order_id = order_pizza(world)
    world.staff[TRATTORIA].accept(order_id)
    world.stack.settle()

    with pytest.raises(ApiError) as refused:
        world.alice.cancel(order_id)

    assert refused.value.status == 409
    assert world.alice.track(order_id)["status"] == "accepted"


def test_no_driver_within_thirty_minutes_of_the_food_being_ready_cancels_the_order(world):
    order_id = order_pizza(world)
    world.staff[TRATTORIA].accept(order_id)  # ready in 15 minutes
    world.stack.settle()
    world.stack.advance(44 * MINUTE)
    assert world.alice.track(order_id)["status"] == "accepted"
    world.stack.advance(4 * MINUTE)

    view = world.alice.track(order_id)
    assert (view["status"], view["reason"]) == ("cancelled", "no-driver")
    [authorization] = world.stack.authorizations(order_id)
    assert authorization["status"] == "voided"


def test_a_driver_who_never_comes_loses_the_order_and_the_money_is_released(world):
    dan = world.driver("dan")
    order_id = order_pizza(world)
    world.staff[TRATTORIA].accept(order_id)
    world.stack.settle()
    offer = only_offer(dan)
    delivery_id = offer["deliveryId"]
    dan.accept(offer["offerId"])
    world.staff[TRATTORIA].ready(order_id)
    world.stack.settle()

    world.stack.advance(93 * MINUTE)  # dan never comes

    view = world.alice.track(order_id)
    assert (view["status"], view["reason"]) == ("cancelled", "driver-no-show")
    [authorization] = world.stack.authorizations(order_id)
    assert authorization["status"] == "voided"
    [delivery] = [d for d in dan.deliveries() if d["deliveryId"] == delivery_id]
    assert delivery["status"] == "cancelled"


def test_a_kitchen_that_cannot_finish_an_accepted_order_releases_it_and_the_money(world):
    dan = world.driver("dan")
    order_id, delivery_id = taken_by(world, dan)

    world.staff[TRATTORIA].reject(order_id, "the oven broke")
    world.stack.settle()

    view = world.alice.track(order_id)
    assert (view["status"], view["reason"]) == ("cancelled", "rejected")
    assert view["payment"] == "voided"
    [delivery] = [d for d in dan.deliveries() if d["deliveryId"] == delivery_id]
    assert delivery["status"] == "cancelled"
    titles = [m["title"] for m in world.stack.notifications() if m["to"]["id"] == "dan"]
    assert titles[-1] == "Delivery cancelled"


def test_a_customer_who_turned_notifications_off_is_not_notified(world):
    dan = world.driver("dan")
    world.alice.want_notifications(False)
    world.stack.settle()
    order_id, _ = taken_by(world, dan)

    assert world.alice.track(order_id)["driver"]["name"] == "Dan"
    assert customer_messages(world, order_id) == []
    assert [m["title"] for m in world.stack.notifications() if m["to"]["id"] == "dan"] != []


def test_a_restaurant_on_its_own_point_of_sale(world):
    dan = world.driver("dan")
    order_id = world.alice.order(SAKURA, [("maki-set", 1)])
    world.stack.settle()
    assert world.staff[SAKURA].queue("new") == []
    assert [o["orderId"] for o in world.pos.received()] == [order_id]

    world.pos.accept(order_id, prep_minutes=20)
    world.stack.settle()
    assert world.alice.track(order_id)["status"] == "accepted"
    offer = only_offer(dan)
    delivery_id = offer["deliveryId"]
    dan.accept(offer["offerId"])
    world.pos.ready(order_id)
    world.stack.settle()
    dan.picked_up(delivery_id)
    dan.delivered(delivery_id)
    world.stack.settle()
    assert world.alice.track(order_id)["status"] == "delivered"
    [authorization] = world.stack.authorizations(order_id)
    assert authorization["status"] == "captured"


def test_a_declined_card_places_no_order(world):
    bob = world.customer("bob", payment_token="pm_card_declined")
    order_id = order_pizza(world, bob)
    assert bob.track(order_id)["status"] == "payment-declined"
    assert world.staff[TRATTORIA].queue("new") == []

    cart = bob.checkout_api.call("GET", "/cart")
    lines = [(line["menuItemId"], line["quantity"]) for line in cart["items"]]
    assert lines == [("margherita", 2), ("tiramisu", 1)]
    again = bob.checkout_api.call(
        "POST", "/checkout", {"paymentMethod": "pm_card_visa"}, idempotency_key="bob-retry"
    )
    world.stack.settle()
    assert bob.track(again["orderId"])["status"] == "placed"
    assert [t["id"] for t in world.staff[TRATTORIA].queue("new")] == [again["orderId"]]


def test_actors_see_only_their_own(world):
    dan, eva = world.driver("dan"), world.driver("eva")
    order_id = order_pizza(world)
    bob = world.customer("bob")
    with pytest.raises(ApiError) as other_customer:
        bob.track(order_id)
    assert other_customer.value.status == 404  # as unknown as an order that does not exist
    assert bob.history() == []

    with pytest.raises(ApiError) as other_restaurant:
        world.staff["taqueria-luz"].kitchen.call(
            "POST", f"/restaurants/{TRATTORIA}/orders/{order_id}/accept", {"prepMinutes": 5}
        )
    assert other_restaurant.value.status == 403
    assert [t["id"] for t in world.staff[TRATTORIA].queue("new")] == [order_id]

    world.staff[TRATTORIA].accept(order_id)
    world.stack.settle()
    offered, other = (dan, eva) if dan.offers() else (eva, dan)
    with pytest.raises(ApiError) as not_your_offer:
        other.accept(only_offer(offered)["offerId"])
    assert not_your_offer.value.status == 403
    assert only_offer(offered)

    with pytest.raises(ApiError) as anonymous:
        world.alice.tracking.__class__(world.stack.session, world.stack.urls.tracking, None).call(
            "GET", f"/orders/{order_id}"
        )
    assert anonymous.value.status == 401


def test_bad_input_gets_field_messages_not_500(world):
    with pytest.raises(ApiError) as bad_cart:
        world.alice.checkout_api.call(
            "PUT", "/cart", {"restaurantId": TRATTORIA, "items": [{"menuItemId": "x"}]}
        )
    assert bad_cart.value.status == 400
    assert "items.0.quantity" in bad_cart.value.body["fields"]
    with pytest.raises(ApiError) as unknown_dish:
        world.alice.checkout_api.call(
            "PUT",
            "/cart",
            {"restaurantId": TRATTORIA, "items": [{"menuItemId": "sushi", "quantity": 1}]},
        )
    assert unknown_dish.value.status == 422
    assert unknown_dish.value.body["fields"]


RESERVED = "__x__"
"""An id Firestore reserves: no document can have it, and asking for one must not be a 500."""


def test_an_id_firestore_refuses_gets_a_json_404_in_the_path_and_400_in_the_body(world):
    dan = world.driver("dan")
    in_the_path = [
        (world.alice.browse, "GET", f"/restaurants/{RESERVED}"),
        (world.alice.browse, "GET", f"/restaurants/{RESERVED}/menu"),
        (world.alice.tracking, "GET", f"/orders/{RESERVED}"),
        (world.alice.tracking, "POST", f"/orders/{RESERVED}/cancel"),
        (world.staff[TRATTORIA].kitchen, "GET", f"/restaurants/{TRATTORIA}/orders/{RESERVED}"),
        (
            world.staff[TRATTORIA].kitchen,
            "POST",
            f"/restaurants/{TRATTORIA}/orders/{RESERVED}/ready",
        ),
        (dan.api, "GET", f"/deliveries/{RESERVED}"),
        (dan.api, "POST", f"/deliveries/{RESERVED}/picked-up"),
        (dan.api, "POST", f"/offers/{RESERVED}/accept"),
    ]
    for api, method, path in in_the_path:
        with pytest.raises(ApiError) as refused:
            api.call(method, path)
        assert refused.value.status == 404, (method, path, refused.value.body)
        assert repr(RESERVED) in refused.value.body["error"], (method, path)

    for restaurant in (RESERVED, "a/b", ".."):
        with pytest.raises(ApiError) as bad_cart:
            world.alice.checkout_api.call(
                "PUT",
                "/cart",
                {"restaurantId": restaurant, "items": [{"menuItemId": "x", "quantity": 1}]},
            )
        assert bad_cart.value.status == 400, bad_cart.value.body
        assert repr(restaurant) in bad_cart.value.body["fields"]["restaurantId"]
    assert world.alice.checkout_api.call("GET", "/cart")["items"] == []
