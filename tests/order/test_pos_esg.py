"""pos-esg: orders of point-of-sale restaurants go over HTTP; signed callbacks come back."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.test import TestResponse

from fakes.server import serve
from order.pos_esg.to_pos import NEVER, ORDERS
from restaurant.contracts import RestaurantUpdated
from shared.api import MAX_BODY_BYTES
from shared.envelope import Envelope
from shared.hub.message import Message
from shared.runtime.faults import resubmit
from shared.topology import Topic
from tests.order.conftest import START, FakePos, OrderSystem, pos_key, sign
from tests.restaurant.conftest import Restaurant

if TYPE_CHECKING:
    from pathlib import Path


def call_back(
    order_system: OrderSystem, headers: dict[str, str] | None = None, **fields: Any
) -> TestResponse:
    """POST a callback for o-1 of r-1 (signed unless ``headers`` are given)."""
    body = json.dumps({"orderId": "o-1", "restaurantId": "r-1", **fields}).encode()
    headers = sign(order_system, body) if headers is None else headers
    return order_system.webhook().post(
        "/pos/callbacks", data=body, headers=headers, content_type="application/json"
    )


def test_a_placed_order_of_a_pos_restaurant_goes_to_its_point_of_sale(
    pos_order: OrderSystem, pos: FakePos
) -> None:
    assert pos.requests == [
        {
            "path": "/orders",
            "key": "o-1:submit",
            "body": {
                "orderId": "o-1",
                "restaurantId": "r-1",
                "items": [
                    {"name": "Margherita", "quantity": 2},
                    {"name": "Tiramisu", "quantity": 1},
                ],
                "callbackUrl": "http://order.test/pos/callbacks",
            },
        }
    ]
    assert [e.body["ordering"] for e in pos_order.published()] == ["pos"]


def test_orders_of_kitchen_and_unknown_restaurants_stay_away_from_the_pos(
    order_system: OrderSystem, pos: FakePos
) -> None:
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="kitchen"))
    order_system.send(
        "customer", order_system.order_placed("o-1"), order_system.order_placed("o-2", "r-9")
    )
    order_system.advance(13)
    assert pos.requests == []
    assert order_system.statuses("o-1") == order_system.statuses("o-2") == ["placed", "cancelled"]


def test_pos_esg_hears_only_the_placing_and_cancelling_of_pos_orders(
    order_system: OrderSystem, pos: FakePos
) -> None:
    heard: list[str] = []
    order_system.system.hub.delivery_observers.append(lambda name, _s: heard.append(name))
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="kitchen"))
    order_system.send("restaurant", order_system.restaurant_updated("r-2", ordering="pos"))
    order_system.send(
        "customer", order_system.order_placed("o-1"), order_system.order_placed("o-2", "r-2")
    )
    order_system.advance(13)
    assert order_system.statuses("o-1") == order_system.statuses("o-2") == ["placed", "cancelled"]
    assert [r["path"] for r in pos.requests] == ["/orders", "/orders/o-2/cancel"]
    assert heard.count("order/pos-esg-to-pos") == 2


def test_an_order_goes_the_way_its_restaurant_took_orders_when_it_was_placed(
    order_system: OrderSystem, pos: FakePos
) -> None:
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="kitchen"))
    placed = order_system.order_placed()
    order_system.send("customer", placed)
    # WHEN the restaurant switches to its point of sale, and the placed order comes again
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="pos"))
    order_system.send("customer", placed)
    order_system.send("customer", order_system.order_placed("o-2"))
    # THEN the order placed before the switch stays with the kitchen; the next one goes to the POS
    assert [r["body"]["orderId"] for r in pos.requests] == ["o-2"]
    assert [e.body["ordering"] for e in order_system.published("o-1")] == ["kitchen"]
    assert [e.body["ordering"] for e in order_system.published("o-2", version=2)] == ["pos"]


def test_of_two_profile_saves_in_one_millisecond_the_later_ordering_is_kept_in_any_order(
    order_system: OrderSystem, pos: FakePos, tmp_path: Path
) -> None:
    # GIVEN staff switch r-1 to the kitchen and then to its point of sale, in one millisecond
    kitchen = Restaurant(tmp_path)
    kitchen.open_restaurant("r-1", ordering="kitchen")
    kitchen.open_restaurant("r-1", ordering="pos")
    to_kitchen, to_pos = kitchen.external(RestaurantUpdated.TYPE)
    assert to_kitchen.timestamp == to_pos.timestamp  # the premise: their time cannot tell
    # WHEN Order hears of them in reverse order (the first was redelivered, or overtaken)
    order_system.send("restaurant", to_pos, to_kitchen)
    order_system.send("customer", order_system.order_placed())
    # THEN the order goes the way of the later save
    assert [r["body"]["orderId"] for r in pos.requests] == ["o-1"]
    assert [e.body["ordering"] for e in order_system.published()] == ["pos"]


def test_a_counted_save_is_not_undone_by_one_from_before_revisions_of_the_same_millisecond(
    order_system: OrderSystem, pos: FakePos
) -> None:
    counted = order_system.restaurant_updated("r-1", ordering="pos", revision=1)
    uncounted = order_system.restaurant_updated("r-1", ordering="kitchen")  # as published before
    assert counted.timestamp == uncounted.timestamp
    order_system.send("restaurant", counted, uncounted)
    order_system.send("customer", order_system.order_placed())
    assert [e.body["ordering"] for e in order_system.published()] == ["pos"]


def test_a_pos_restaurant_known_only_from_before_the_decision_moved_keeps_its_pos(
    order_system: OrderSystem, pos: FakePos
) -> None:
    # GIVEN r-1 switched to its point of sale before lifecycle-control kept orderings
    order_system.store.put("pos-restaurants", "r-1", {"ordering": "pos"})
    # WHEN an order comes, before r-1 saves its profile again
    order_system.send("customer", order_system.order_placed())
    # THEN it goes to the point of sale, as before the deploy
    assert [r["body"]["orderId"] for r in pos.requests] == ["o-1"]
    assert [e.body["ordering"] for e in order_system.published()] == ["pos"]


def test_a_pos_that_is_down_gets_the_same_order_again_with_the_same_key(
    order_system: OrderSystem, pos: FakePos
) -> None:
    pos.next_statuses = [503, 503]
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="pos"))
    order_system.send("customer", order_system.order_placed())
    assert [r["key"] for r in pos.requests] == ["o-1:submit"] * 3
    assert pos.orders == {"o-1"}
    assert order_system.faults() == []


def test_a_pos_that_refuses_the_order_makes_a_fault(
    order_system: OrderSystem, pos: FakePos
) -> None:
    pos.next_statuses = [400]
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="pos"))
    order_system.send("customer", order_system.order_placed())
    [fault] = order_system.faults()
    assert fault["function"] == "order/pos-esg/to-pos"
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert len(pos.requests) == 1


def test_a_signed_acceptance_moves_the_order_to_accepted(pos_order: OrderSystem) -> None:
    response = call_back(pos_order, event="accepted", prepMinutes=20)
    assert (response.status_code, response.get_json()) == (202, {"status": "accepted"})
    stored = pos_order.store.get("pos-inbox", "o-1:accepted")
    assert stored is not None
    assert (stored["event"], stored["prepMinutes"]) == ("accepted", 20)
    assert stored["receivedAt"] == pos_order.clock.now_ms()

    pos_order.system.run_until_quiet()
    [relayed] = pos_order.internal("restaurant-accepted")
    assert relayed.body == {"id": "o-1", "restaurantId": "r-1", "prepMinutes": 20}
    assert relayed.partition_key == "o-1"
    assert pos_order.statuses() == ["placed", "accepted"]


def test_an_order_sent_to_the_pos_stays_there_when_the_restaurant_switches_to_its_kitchen(
    pos_order: OrderSystem, pos: FakePos
) -> None:
    # GIVEN the order was handed to the point of sale, and then the restaurant switched
    pos_order.send("restaurant", pos_order.restaurant_updated("r-1", ordering="kitchen"))
    # WHEN the point of sale answers THEN the answer counts
    assert call_back(pos_order, event="accepted", prepMinutes=20).status_code == 202
    pos_order.system.run_until_quiet()
    assert pos_order.statuses() == ["placed", "accepted"]
    assert pos_order.faults() == []


def test_an_order_sent_to_the_pos_is_withdrawn_there_after_a_switch_to_the_kitchen(
    pos_order: OrderSystem, pos: FakePos
) -> None:
    pos_order.send("restaurant", pos_order.restaurant_updated("r-1", ordering="kitchen"))
    pos_order.advance(13)  # nobody answers: cancelled for the timeout
    assert pos_order.order()["reason"] == "restaurant-timeout"
    assert pos.requests[-1] == {"path": "/orders/o-1/cancel", "key": "o-1:cancel", "body": {}}


def test_a_repeated_callback_is_relayed_once(pos_order: OrderSystem) -> None:
    for _ in range(2):
        assert call_back(pos_order, event="accepted", prepMinutes=20).status_code == 202
    pos_order.system.run_until_quiet()
    assert len(pos_order.internal("restaurant-accepted")) == 1


def test_ready_is_stamped_with_the_time_the_callback_arrived(pos_order: OrderSystem) -> None:
    call_back(pos_order, event="accepted", prepMinutes=20)
    pos_order.advance(20)
    call_back(pos_order, event="ready")
    pos_order.system.run_until_quiet()
    [ready] = pos_order.internal("restaurant-ready")
    assert ready.body == {"id": "o-1", "restaurantId": "r-1", "readyAt": pos_order.clock.now_ms()}
    assert pos_order.statuses() == ["placed", "accepted", "ready"]


def test_a_rejection_by_the_pos_cancels_without_withdrawing_it_again(
    pos_order: OrderSystem, pos: FakePos
) -> None:
    call_back(pos_order, event="rejected", reason="kitchen closed")
    pos_order.system.run_until_quiet()
    order = pos_order.order()
    assert (order["status"], order["reason"], order["detail"]) == (
        "cancelled",
        "rejected",
        "kitchen closed",
    )
    assert [r["path"] for r in pos.requests] == ["/orders"]


def test_an_order_cancelled_for_a_timeout_is_withdrawn_from_the_pos(
    pos_order: OrderSystem, pos: FakePos
) -> None:
    pos_order.advance(13)
    assert pos_order.order()["reason"] == "restaurant-timeout"
    assert pos.requests[-1] == {"path": "/orders/o-1/cancel", "key": "o-1:cancel", "body": {}}


def test_an_order_cancelled_after_its_pickup_is_not_withdrawn_from_the_pos(
    pos_order: OrderSystem, pos: FakePos
) -> None:
    call_back(pos_order, event="accepted", prepMinutes=20)
    pos_order.system.run_until_quiet()
    pos_order.send("delivery", pos_order.delivery("assigned"))
    pos_order.send("delivery", pos_order.delivery("picked-up"))
    pos_order.advance(125)  # never delivered: the food left the restaurant long ago
    assert (pos_order.order()["status"], pos_order.order()["reason"]) == (
        "cancelled",
        "not-delivered",
    )
    assert [r["path"] for r in pos.requests] == ["/orders"]
    assert pos_order.store.get("pos-orders", "o-1") == {
        "restaurantId": "r-1",
        "status": "withdrawn",
    }
    assert pos_order.faults() == []


def test_withdrawing_an_order_the_pos_does_not_know_is_fine(
    pos_order: OrderSystem, pos: FakePos
) -> None:
    pos.orders.clear()
    pos_order.advance(13)
    assert pos.requests[-1]["path"] == "/orders/o-1/cancel"
    assert pos_order.faults() == []


def cancel_request(order_system: OrderSystem) -> Envelope:
    """The customer's request to cancel o-1, as Customer publishes it."""
    body = {"id": "o-1", "requestedAt": order_system.clock.now_ms()}
    return order_system._event("customer.order-cancel-requested", "order", body, "o-1")


def placed_announced_after_its_cancellation(
    order_system: OrderSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """o-1 of a point-of-sale restaurant and its cancellation arrive together, and the
    announcement of "placed" fails once: the announcer trigger is retried, after the
    cancellation's announcement went out (triggers are not ordered)."""
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="pos"))
    hub = order_system.system.hub
    publish, failed = hub.publish, []

    def fail_placed_once(project: str, topic: str, messages: list[Message]) -> list[str]:
        placed = [m for m in messages if b'"status":"placed"' in m.data.replace(b" ", b"")]
        if project == "order" and topic == Topic.BUS and placed and not failed:
            failed.append(True)
            raise ConnectionError("Pub/Sub is unavailable")
        return publish(project, topic, messages)

    monkeypatch.setattr(hub, "publish", fail_placed_once)
    order_system.system.inject("customer", Topic.EXTERNAL, order_system.order_placed())
    order_system.system.inject("customer", Topic.EXTERNAL, cancel_request(order_system))
    order_system.system.run_until_quiet()
    assert failed


def test_an_order_whose_cancellation_is_announced_first_never_reaches_the_pos(
    order_system: OrderSystem, pos: FakePos, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed_announced_after_its_cancellation(order_system, monkeypatch)

    # "placed" went out after "cancelled", and the point of sale never got the order
    assert order_system.statuses(version=2) == ["cancelled", "placed"]
    assert pos.requests == []
    assert order_system.faults() == []
    # nor does a callback about it count
    assert call_back(order_system, event="accepted", prepMinutes=20).status_code == 404


def test_a_cancellation_heard_again_is_not_withdrawn_from_a_pos_that_never_had_it(
    order_system: OrderSystem, pos: FakePos, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed_announced_after_its_cancellation(order_system, monkeypatch)
    assert pos.requests == []

    # WHEN the cancellation is delivered to pos-esg again
    [cancelled] = [
        e for e in order_system.internal("order-status-changed") if e.body["status"] == "cancelled"
    ]
    order_system.system.inject("order", Topic.BUS, cancelled)
    order_system.system.run_until_quiet()

    # THEN the point of sale still hears nothing of it, and the note says so
    assert pos.requests == []
    note = order_system.store.get(ORDERS, "o-1")
    assert note is not None and note["status"] == NEVER
    assert order_system.faults() == []


def test_a_pos_down_for_minutes_still_gets_the_order(
    order_system: OrderSystem, pos: FakePos
) -> None:
    pos.next_statuses = [503] * 12
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="pos"))
    order_system.send("customer", order_system.order_placed())
    assert pos.orders == {"o-1"}
    assert order_system.faults() == []


def test_a_dead_lettered_hand_over_resubmitted_after_the_cancellation_sends_nothing(
    order_system: OrderSystem, pos: FakePos
) -> None:
    # GIVEN the point of sale was down for as long as the hand-over is retried: a fault
    pos.next_statuses = [503] * 30
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="pos"))
    order_system.send("customer", order_system.order_placed())
    [fault] = order_system.faults()
    # ... and the order was cancelled meanwhile (the restaurant never answered)
    order_system.advance(13)
    assert order_system.order()["reason"] == "restaurant-timeout"
    withdrawn = len(pos.requests)

    # WHEN an operator resubmits the fault
    resubmit(order_system.store, order_system.system.hub.publisher("order"), fault["id"])
    order_system.system.run_until_quiet()

    # THEN the cancelled order is not handed over, only withdrawn again (a try that handed it
    # over may have died before it saw the withdrawal overtake it)
    assert [r["path"] for r in pos.requests[withdrawn:]] == ["/orders/o-1/cancel"]
    assert pos.requests[-1]["key"] == "o-1:cancel:again"
    assert pos.orders == set()


NOW_S = START // 1000


@pytest.mark.parametrize(
    "signature",
    [
        None,
        f"t={NOW_S},v1={'00' * 32}",
        "not hex",
        "é",
        f"t=é,v1={'00' * 32}",
        f"v1={'00' * 32}",
        f"t={'9' * 5000},v1=00",
    ],
    ids=["missing", "wrong", "garbage", "not-ascii", "timestamp-not-ascii", "no-timestamp", "huge"],
)
def test_an_unsigned_or_badly_signed_callback_is_refused_and_not_stored(
    pos_order: OrderSystem, signature: str | None
) -> None:
    headers = {} if signature is None else {"X-Pos-Signature": signature}
    response = call_back(pos_order, headers=headers, event="accepted", prepMinutes=20)
    assert response.status_code == 401
    assert "X-Pos-Signature" in response.get_json()["error"]
    assert pos_order.store.query("pos-inbox") == []


@pytest.mark.parametrize("age_s", [301, -301], ids=["replayed-later", "from-the-future"])
def test_a_callback_signed_too_far_from_now_is_refused(pos_order: OrderSystem, age_s: int) -> None:
    body = json.dumps({"orderId": "o-1", "restaurantId": "r-1", "event": "ready"}).encode()
    headers = sign(pos_order, body, age_s=age_s)
    response = pos_order.webhook().post("/pos/callbacks", data=body, headers=headers)
    assert response.status_code == 401
    assert "more than 300 s from now" in response.get_json()["error"]
    assert pos_order.store.query("pos-inbox") == []


def test_a_callback_signed_within_the_tolerance_is_taken(pos_order: OrderSystem) -> None:
    body = json.dumps({"orderId": "o-1", "restaurantId": "r-1", "event": "ready"}).encode()
    headers = sign(pos_order, body, age_s=300)
    response = pos_order.webhook().post(
        "/pos/callbacks", data=body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 202
    assert [doc.key for doc in pos_order.store.query("pos-inbox")] == ["o-1:ready"]


@pytest.mark.parametrize(
    ("ordering", "restaurant_id"),
    [("kitchen", "r-1"), ("pos", "r-2")],
    ids=["order-of-a-kitchen-restaurant", "order-of-another-restaurant"],
)
def test_a_signed_callback_about_an_order_not_handed_to_that_pos_is_refused_and_not_stored(
    order_system: OrderSystem, ordering: str, restaurant_id: str
) -> None:
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering=ordering))
    order_system.send("customer", order_system.order_placed())

    response = call_back(
        order_system, event="rejected", reason="forged", restaurantId=restaurant_id
    )
    assert response.status_code == 404
    assert response.get_json() == {
        "error": f"order o-1 was not handed to the point of sale of restaurant {restaurant_id}"
    }
    assert order_system.store.query("pos-inbox") == []
    order_system.system.run_until_quiet()
    assert order_system.order()["status"] == "placed"
    assert order_system.faults() == []


def test_a_refused_callback_does_not_swallow_the_right_restaurants_answer(
    pos_order: OrderSystem,
) -> None:
    # r-2's point of sale signs with its own key, naming itself, about r-1's order
    wrong = call_back(pos_order, event="rejected", reason="not ours", restaurantId="r-2")
    assert wrong.status_code == 404
    right = call_back(pos_order, event="rejected", reason="out of basil")
    assert right.status_code == 202
    pos_order.system.run_until_quiet()
    order = pos_order.order()
    assert (order["status"], order["detail"]) == ("cancelled", "out of basil")


def test_the_relay_still_refuses_a_stored_callback_about_another_restaurants_order(
    pos_order: OrderSystem,
) -> None:
    # GIVEN another restaurant's callback in the inbox, stored before the webhook checked them
    pos_order.store.create(
        "pos-inbox",
        "o-1:rejected",
        {
            "orderId": "o-1",
            "restaurantId": "r-2",
            "event": "rejected",
            "reason": "forged",
            "receivedAt": pos_order.clock.now_ms(),
        },
    )
    pos_order.system.run_until_quiet()
    assert pos_order.order()["status"] == "placed"
    [fault] = pos_order.faults()
    assert "was not handed to that restaurant's point of sale" in fault["error"]["message"]


@pytest.mark.parametrize(
    "signer",
    ["another restaurant's key", "the platform's secret itself", "a guess"],
)
def test_a_callback_not_signed_with_its_restaurants_key_is_refused(
    pos_order: OrderSystem, signer: str
) -> None:
    key = {
        "another restaurant's key": pos_key(pos_order, "r-2"),
        "the platform's secret itself": pos_order.system.ports["order"].pos_webhook_secret.reveal(),
        "a guess": "guess",
    }[signer]
    body = json.dumps({"orderId": "o-1", "restaurantId": "r-1", "event": "ready"}).encode()
    response = pos_order.webhook().post(
        "/pos/callbacks",
        data=body,
        headers=sign(pos_order, body, key=key),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert "wrong X-Pos-Signature" in response.get_json()["error"]
    assert pos_order.store.query("pos-inbox") == []


@pytest.mark.parametrize("restaurant_id", [None, "", 7], ids=["missing", "empty", "not-text"])
def test_a_callback_that_names_no_restaurant_gets_400(
    pos_order: OrderSystem, restaurant_id: object
) -> None:
    fields = {"orderId": "o-1", "event": "ready"}
    if restaurant_id is not None:
        fields["restaurantId"] = restaurant_id
    body = json.dumps(fields).encode()
    headers = sign(pos_order, body, key=pos_key(pos_order, "r-1"))
    response = pos_order.webhook().post(
        "/pos/callbacks", data=body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["restaurantId"]
    assert pos_order.store.query("pos-inbox") == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"event": "cooked"}, "event"),
        ({"event": "accepted"}, "prepMinutes"),
        ({"event": "accepted", "prepMinutes": 999}, "prepMinutes"),
        ({"event": "rejected"}, "reason"),
        ({"event": "ready", "orderId": ""}, "orderId"),
    ],
)
def test_a_callback_that_breaks_the_rules_gets_400_naming_the_field(
    pos_order: OrderSystem, fields: dict[str, Any], field: str
) -> None:
    response = call_back(pos_order, **fields)
    assert response.status_code == 400
    body = response.get_json()
    assert list(body["fields"]) == [field]
    assert field in body["error"]
    assert pos_order.store.query("pos-inbox") == []


def test_a_body_that_is_not_a_json_object_gets_400(pos_order: OrderSystem) -> None:
    body = b"[1, 2]"
    headers = sign(pos_order, body, key=pos_key(pos_order, "r-1"))
    response = pos_order.webhook().post(
        "/pos/callbacks", data=body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "the request body must be a JSON object"}


def test_a_body_that_is_not_json_is_told_where_it_went_wrong(pos_order: OrderSystem) -> None:
    body = b'{"restaurantId": "r-1",'
    headers = sign(pos_order, body, key=pos_key(pos_order, "r-1"))
    response = pos_order.webhook().post(
        "/pos/callbacks", data=body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "the request body is not valid JSON: Expecting property name enclosed in double"
        " quotes: line 1 column 24 (char 23)"
    }


def test_a_body_naming_a_member_twice_is_refused(pos_order: OrderSystem) -> None:
    # readers differ on which one counts: the signature covers both, the handler would act
    # on the last
    body = b'{"orderId": "o-1", "restaurantId": "r-1", "event": "ready", "event": "rejected"}'
    headers = sign(pos_order, body, key=pos_key(pos_order, "r-1"))
    response = pos_order.webhook().post(
        "/pos/callbacks", data=body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert "'event' is given more than once" in response.get_json()["error"]
    assert pos_order.store.query("pos-inbox") == []


def test_an_oversized_callback_is_refused_with_a_json_message(pos_order: OrderSystem) -> None:
    body = json.dumps(
        {"orderId": "o-1", "restaurantId": "r-1", "event": "ready", "x": "a" * MAX_BODY_BYTES}
    ).encode()
    response = pos_order.webhook().post(
        "/pos/callbacks", data=body, headers=sign(pos_order, body), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json() == {"error": f"the request body is over {MAX_BODY_BYTES} bytes"}
    assert pos_order.store.query("pos-inbox") == []


def test_an_oversized_callback_sent_in_chunks_is_a_413_too(pos_order: OrderSystem) -> None:
    body = json.dumps(
        {"orderId": "o-1", "restaurantId": "r-1", "event": "ready", "x": "a" * MAX_BODY_BYTES}
    ).encode()
    server = serve(pos_order.system.serve("order", "pos_esg_webhook"))
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:  # no Content-Length: werkzeug alone would hand over the body cut short
        connection.request(
            "POST",
            "/pos/callbacks",
            body=(body[i : i + 8192] for i in range(0, len(body), 8192)),
            headers={**sign(pos_order, body), "Content-Type": "application/json"},
            encode_chunked=True,
        )
        answer = connection.getresponse()
        status, reply = answer.status, json.loads(answer.read())
    finally:
        connection.close()
        server.stop()

    assert (status, reply) == (413, {"error": f"the request body is over {MAX_BODY_BYTES} bytes"})
    assert pos_order.store.query("pos-inbox") == []


def test_the_webhook_answers_health_checks_and_unknown_routes(order_system: OrderSystem) -> None:
    client = order_system.webhook()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/pos/callbacks").status_code == 405
    assert client.post("/elsewhere").status_code == 404


def test_without_a_secret_every_callback_is_refused(
    pos_order: OrderSystem,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = pos_order.system.ports["order"].pos_webhook_secret
    monkeypatch.setitem(secret.settings, secret.name, "")
    body = json.dumps({"orderId": "o-1", "restaurantId": "r-1", "event": "ready"}).encode()
    sent = pos_order.clock.now_ms() // 1000
    digest = hmac.new(b"", f"{sent}.".encode() + body, hashlib.sha256).hexdigest()
    response = pos_order.webhook().post(
        "/pos/callbacks",
        data=body,
        headers={"X-Pos-Signature": f"t={sent},v1={digest}"},
        content_type="application/json",
    )
    assert response.status_code == 503
    assert response.get_json() == {"error": "the webhook has no signing secret configured"}
    assert pos_order.store.query("pos-inbox") == []


@pytest.mark.parametrize("order_id", ["..", "__o-1__"])
def test_a_signed_callback_about_an_order_id_the_store_refuses_gets_404(
    pos_order: OrderSystem,
    order_id: str,
) -> None:
    body = json.dumps({"orderId": order_id, "restaurantId": "r-1", "event": "ready"}).encode()
    response = pos_order.webhook().post(
        "/pos/callbacks", data=body, headers=sign(pos_order, body), content_type="application/json"
    )
    assert response.status_code == 404
    assert response.get_json() == {
        "error": f"order {order_id} was not handed to the point of sale of restaurant r-1"
    }
    assert pos_order.store.query("pos-inbox") == []


def test_a_webhook_that_fails_answers_500_in_json_so_the_pos_retries(
    pos_order: OrderSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_: object) -> bool:
        raise RuntimeError("the store is unavailable")

    monkeypatch.setattr(pos_order.system.ports["order"].store, "create", unavailable)
    response = call_back(pos_order, event="ready")
    assert response.status_code == 500
    assert response.get_json() == {"error": "the service failed to answer; try again later"}


# -- a callback about an order cancelled since ---------------------------------------------


def test_an_answer_about_an_order_withdrawn_since_is_409_saying_so_and_changes_nothing(
    pos_order: OrderSystem, pos: FakePos
) -> None:
    # GIVEN the order was withdrawn from the point of sale: nobody answered in time
    pos_order.advance(13)
    assert pos.requests[-1]["path"] == "/orders/o-1/cancel"
    published = len(pos_order.published())

    # WHEN the point of sale's staff accept it all the same (their terminal had not heard)
    response = call_back(pos_order, event="accepted", prepMinutes=20)

    # THEN they are told the order is off, as the kitchen app tells its staff (409), and
    # nothing is stored or relayed
    assert response.status_code == 409
    assert response.get_json() == {
        "error": "order o-1 was cancelled by the Order subsystem and withdrawn from the point "
        "of sale of restaurant r-1: the answer 'accepted' changes nothing; do not prepare "
        "the order"
    }
    assert pos_order.store.query("pos-inbox") == []
    pos_order.system.run_until_quiet()
    assert pos_order.internal("restaurant-accepted") == []
    assert len(pos_order.published()) == published
    assert pos_order.faults() == []


def test_an_answer_stored_before_the_withdrawal_sent_again_is_still_202(
    pos_order: OrderSystem,
) -> None:
    """A retry after a lost answer gets the answer the first try got: the callback is kept."""
    assert call_back(pos_order, event="rejected", reason="out of basil").status_code == 202
    pos_order.system.run_until_quiet()
    assert pos_order.store.get("pos-orders", "o-1") == {
        "restaurantId": "r-1",
        "status": "withdrawn",
    }

    again = call_back(pos_order, event="rejected", reason="out of basil")

    assert (again.status_code, again.get_json()) == (202, {"status": "accepted"})
    assert call_back(pos_order, event="accepted", prepMinutes=20).status_code == 409
    assert len(pos_order.internal("restaurant-rejected")) == 1
