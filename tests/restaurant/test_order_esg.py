"""order-esg: the Order subsystem's status changes come in, the kitchen's answers go out."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from restaurant.contracts import OrderAccepted, OrderReady, OrderRejected
from restaurant.kitchen_bff.models import TICKETS
from restaurant.order_esg.pickups import HEARD
from shared.contracts import Contract
from shared.envelope import MAX_TIMESTAMP
from tests.restaurant.conftest import ANSWER_MS, START, Restaurant

ORDER_EVENTS = ("order-received", "order-withdrawn", "order-collected")


@pytest.fixture
def restaurant(restaurant: Restaurant) -> Restaurant:
    """The subsystem with restaurant r-1 open, so received orders reach its kitchen."""
    restaurant.open_restaurant("r-1")
    return restaurant


# -- ingress ---------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", ["kitchen", "pos", None])
def test_a_placed_order_is_received_with_what_the_kitchen_needs(
    restaurant: Restaurant, ordering: str | None
) -> None:
    changes = {} if ordering is None else {"ordering": ordering}
    restaurant.receive(restaurant.order_status("o-1", "placed", **changes))
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
        "ordering": ordering,
        "answerBy": START + ANSWER_MS,
    }
    assert restaurant.system.faults("restaurant") == []


def ticket(restaurant: Restaurant, order_id: str = "o-1") -> dict[str, Any] | None:
    """The kitchen's ticket for an order, if it queued one."""
    return restaurant.system.stores["restaurant"].get(TICKETS, order_id)


def test_the_kitchen_queues_the_orders_order_sends_it_whatever_it_heard_of_the_restaurant(
    restaurant: Restaurant,
) -> None:
    # GIVEN the kitchen heard that r-1 switched to its point of sale, but Order decided
    # the way of o-1 before it heard the same
    restaurant.open_restaurant("r-1", ordering="pos")
    restaurant.receive(restaurant.order_status("o-1", ordering="kitchen"))
    queued = ticket(restaurant)
    assert queued is not None and queued["status"] == "new"


def test_an_order_order_sends_to_the_point_of_sale_is_not_queued(restaurant: Restaurant) -> None:
    restaurant.receive(restaurant.order_status("o-1", ordering="pos"))
    assert ticket(restaurant) is None
    assert restaurant.system.faults("restaurant") == []


def test_an_order_that_says_where_it_goes_does_not_wait_for_its_restaurant(
    restaurant: Restaurant,
) -> None:
    restaurant.receive(restaurant.order_status("o-1", restaurant="r-2", ordering="kitchen"))
    queued = ticket(restaurant)
    assert queued is not None and queued["restaurantId"] == "r-2"
    assert restaurant.system.faults("restaurant") == []


@pytest.mark.parametrize(
    ("status", "internal", "passed_on"),
    [
        ("cancelled", "order-withdrawn", {"reason": "no-driver"}),
        ("picked-up", "order-collected", {}),
        ("delivered", "order-collected", {}),
    ],
)
def test_a_cancelled_collected_or_delivered_order_closes_the_ticket(
    restaurant: Restaurant, status: str, internal: str, passed_on: dict[str, str]
) -> None:
    restaurant.receive(restaurant.order_status("o-1", status, reason="no-driver"))
    [event] = restaurant.bus(*ORDER_EVENTS)
    assert event.type == internal
    assert event.partition_key == "o-1"
    assert event.body == {"id": "o-1", "restaurantId": "r-1", "ordering": None, **passed_on}


@pytest.mark.parametrize("status", ["accepted", "ready"])
def test_other_statuses_are_ignored(
    restaurant: Restaurant, status: str, caplog: pytest.LogCaptureFixture
) -> None:
    restaurant.receive(restaurant.order_status("o-1", status))
    assert restaurant.bus(*ORDER_EVENTS) == []
    assert restaurant.system.faults("restaurant") == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the subsystem warned of."""
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_status_order_added_since_is_left_out_by_the_subscription(
    restaurant: Restaurant,
) -> None:
    """The ingress selects the statuses the kitchen acts on by the ``status`` attribute, so
    one Order adds later never reaches it: no fault, nothing emitted."""
    heard: list[str] = []
    restaurant.system.hub.delivery_observers.append(lambda name, _s: heard.append(name))
    restaurant.receive(restaurant.order_status("o-1", "some-future-status"))
    restaurant.receive(restaurant.order_status("o-1", "accepted"))
    assert restaurant.bus(*ORDER_EVENTS) == []
    assert restaurant.system.faults("restaurant") == []
    assert "restaurant/order-esg-ingress" not in heard
    restaurant.receive(restaurant.order_status("o-1", "placed"))
    assert "restaurant/order-esg-ingress" in heard


@pytest.mark.parametrize("status", ["placed", "cancelled", "picked-up"])
def test_an_order_order_sends_where_the_restaurant_does_not_know_is_skipped_with_a_warning(
    restaurant: Restaurant, status: str, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN Order learnt a way of taking orders (a value its contract may add) Restaurant has not
    restaurant.receive(restaurant.order_status("o-1", status, ordering="tablet"))
    assert restaurant.bus(*ORDER_EVENTS) == []
    assert ticket(restaurant) is None
    assert restaurant.system.faults("restaurant") == []
    [warning] = warnings(caplog)
    assert "ordering 'tablet' is unknown here" in warning


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"restaurant": None}, "restaurant"),
        ({"total": "a lot"}, "total"),
        # money, counts and times are JSON integers, never guessed from text or a boolean
        ({"total": "1900"}, "total"),
        ({"total": True}, "total"),
        ({"total": 1900.0}, "total"),
        ({"total": -1900}, "total"),
        ({"currency": ""}, "currency"),
        ({"answerBy": str(START + ANSWER_MS)}, "answerBy"),
        ({"items": [{"menuItemId": "margherita", "name": "Pizza", "quantity": "2"}]}, "quantity"),
        ({"items": [{"menuItemId": "margherita", "name": "Pizza", "quantity": True}]}, "quantity"),
        ({"items": [{"name": "Pizza", "quantity": 1}]}, "items.0.menuItemId"),
        ({"restaurant": "", "ordering": "kitchen"}, "restaurant.id"),
        ({"ordering": ""}, "ordering"),
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


def test_an_empty_ordering_is_a_fault_at_once_not_retried_until_dead_lettered(
    restaurant: Restaurant,
) -> None:
    # GIVEN an order of a restaurant the kitchen never heard of, whose ordering is empty:
    # neither a way the contract names nor the null of an older Order
    restaurant.receive(restaurant.order_status("o-1", restaurant="r-9", ordering=""))
    [fault] = restaurant.system.faults("restaurant")
    assert (fault["reason"], fault["deliveryAttempt"]) == ("poison", 1)
    assert fault["function"] == "restaurant/order-esg/ingress"
    assert fault["error"]["type"] == "InvalidEventError"


def test_an_order_id_no_document_can_have_is_a_fault_at_once_not_retried(
    restaurant: Restaurant,
) -> None:
    restaurant.receive(restaurant.order_status("__x__", ordering="kitchen"))
    [fault] = restaurant.system.faults("restaurant")
    assert (fault["reason"], fault["deliveryAttempt"]) == ("poison", 1)
    assert fault["function"] == "restaurant/kitchen-bff/listener"
    assert fault["error"]["type"] == "InvalidKey"


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


# -- one order-collected per order -------------------------------------------------------


def collected(restaurant: Restaurant) -> list[str]:
    """The ids of the ``order-collected`` events published so far, in order."""
    return [e.id for e in restaurant.bus("order-collected")]


@pytest.mark.parametrize("first", ["picked-up", "delivered"])
def test_an_order_picked_up_and_delivered_is_collected_once_whichever_comes_first(
    restaurant: Restaurant, first: str
) -> None:
    # GIVEN a kitchen order, accepted and ready
    restaurant.receive(restaurant.order_status("o-1", ordering="kitchen"))
    restaurant.store.update(TICKETS, "o-1", lambda t: {**(t or {}), "status": "ready"})
    other = "delivered" if first == "picked-up" else "picked-up"
    # WHEN Order's two words that the driver has it come, in either order
    restaurant.receive(restaurant.order_status("o-1", first, ordering="kitchen"))
    restaurant.receive(restaurant.order_status("o-1", other, ordering="kitchen"))
    # THEN the first closes the ticket and only it is passed on
    assert len(collected(restaurant)) == 1
    closed = ticket(restaurant)
    assert closed is not None and closed["status"] == "picked-up"
    # AND, both heard, the gateway still remembers which came first, until its TTL, so
    # neither heard again tells the kitchen anew
    heard = restaurant.store.get(HEARD, "o-1")
    assert heard is not None and heard["heard"] == first
    assert restaurant.system.faults("restaurant") == []


def test_a_delivery_heard_alone_collects_the_order(restaurant: Restaurant) -> None:
    restaurant.receive(restaurant.order_status("o-1", ordering="kitchen"))
    restaurant.receive(restaurant.order_status("o-1", "delivered", ordering="kitchen"))
    assert len(collected(restaurant)) == 1
    closed = ticket(restaurant)
    assert closed is not None and closed["status"] == "picked-up"


def test_the_first_word_heard_again_is_passed_on_again_as_the_same_event(
    restaurant: Restaurant,
) -> None:
    # GIVEN the pickup was heard, and passed on
    picked_up = restaurant.order_status("o-1", "picked-up", ordering="kitchen")
    restaurant.receive(picked_up)
    # WHEN it is heard again (redelivered, or retried after its event was lost)
    restaurant.receive(picked_up)
    # THEN it is passed on again as the same event, which the kitchen drops as a repeat,
    # and the delivery after it is not
    restaurant.receive(restaurant.order_status("o-1", "delivered", ordering="kitchen"))
    [first, again] = collected(restaurant)
    assert first == again


WORDS = ("picked-up", "delivered")


@pytest.mark.parametrize("first", WORDS)
@pytest.mark.parametrize("again", WORDS)
def test_either_word_heard_again_after_both_never_tells_the_kitchen_anew(
    restaurant: Restaurant, first: str, again: str
) -> None:
    # GIVEN both of Order's words were heard, in either order
    words = {word: restaurant.order_status("o-1", word, ordering="kitchen") for word in WORDS}
    other = "delivered" if first == "picked-up" else "picked-up"
    restaurant.receive(words[first], words[other])
    [told] = collected(restaurant)
    # WHEN either is heard again, twice (redelivered, or a fault resubmitted)
    restaurant.receive(words[again], words[again])
    # THEN the kitchen hears nothing new: at most the first word's event again, never
    # the second's, nor an event with another id
    assert set(collected(restaurant)) == {told}
    if again == other:
        assert collected(restaurant) == [told]
    assert restaurant.system.faults("restaurant") == []


@pytest.mark.parametrize("first", WORDS)
@pytest.mark.parametrize("again", WORDS)
def test_a_word_heard_again_after_the_order_was_forgotten_is_the_same_event(
    restaurant: Restaurant, first: str, again: str
) -> None:
    # GIVEN both words were heard, in either order, and the TTL deleted the gateway's note
    words = {word: restaurant.order_status("o-1", word, ordering="kitchen") for word in WORDS}
    other = "delivered" if first == "picked-up" else "picked-up"
    restaurant.receive(words[first], words[other])
    [told] = collected(restaurant)
    restaurant.clock.advance(31 * 24 * 3_600_000)
    restaurant.store.delete(HEARD, "o-1")
    # WHEN either is heard again, a month on (a fault resubmitted, the lake replayed)
    restaurant.receive(words[again])
    # THEN whatever is passed on is the event the kitchen had, which it drops as a repeat
    assert set(collected(restaurant)) == {told}
    assert restaurant.system.faults("restaurant") == []


def test_the_first_word_is_remembered_until_a_ttl_a_month_after_it(
    restaurant: Restaurant,
) -> None:
    restaurant.receive(restaurant.order_status("o-1", "picked-up", ordering="kitchen"))
    heard = restaurant.store.get(HEARD, "o-1")
    assert heard is not None
    assert heard["heard"] == "picked-up"
    assert heard["expireAt"] == datetime.fromtimestamp(START / 1000, UTC) + timedelta(days=30)


@pytest.mark.parametrize("stamped", [1, MAX_TIMESTAMP - 1], ids=["in-1970", "past-year-9999"])
def test_the_first_word_stamped_by_a_clock_gone_wrong_is_remembered_a_month_from_now(
    restaurant: Restaurant, stamped: int
) -> None:
    """Order's clock set back or far ahead: the note expires a month after it was written,
    neither at once (Firestore would delete it, and the other word would tell the kitchen
    again) nor never, and the word is passed on."""
    restaurant.clock.advance(60_000)
    status = restaurant.order_status("o-1", "picked-up", ordering="kitchen")
    restaurant.receive(dataclasses.replace(status, timestamp=stamped))
    assert restaurant.system.faults("restaurant") == []
    heard = restaurant.store.get(HEARD, "o-1")
    assert heard is not None
    expected = datetime.fromtimestamp((START + 60_000) / 1000, UTC) + timedelta(days=30)
    assert heard["expireAt"] == expected
    assert [e.type for e in restaurant.bus(*ORDER_EVENTS)] == ["order-collected"]


# -- order lines the kitchen cannot cook -------------------------------------------------


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([{"menuItemId": "margherita", "name": "Pizza", "quantity": 0}], "items.0.quantity"),
        ([{"menuItemId": "margherita", "name": "Pizza", "quantity": -2}], "items.0.quantity"),
        ([{"menuItemId": "", "name": "Pizza", "quantity": 1}], "items.0.menuItemId"),
    ],
)
def test_an_order_with_a_line_no_kitchen_can_cook_is_a_fault_at_once(
    restaurant: Restaurant, items: list[dict[str, Any]], field: str
) -> None:
    restaurant.receive(
        restaurant.order_status("o-1", ordering="kitchen", items=items),
        restaurant.order_status("o-2", ordering="kitchen"),
    )
    [fault] = restaurant.system.faults("restaurant")
    assert (fault["reason"], fault["deliveryAttempt"]) == ("poison", 1)
    assert fault["function"] == "restaurant/order-esg/ingress"
    assert fault["error"]["type"] == "InvalidEventError"
    assert field in fault["error"]["message"]
    assert ticket(restaurant) is None
    assert [e.partition_key for e in restaurant.bus(*ORDER_EVENTS)] == ["o-2"]


def test_an_empty_order_id_is_a_fault_of_the_gateway(restaurant: Restaurant) -> None:
    restaurant.receive(restaurant.order_status("o-1", ordering="kitchen", id=""))
    # THEN the fault names the empty id, not what the gateway failed to emit with it
    [fault] = restaurant.system.faults("restaurant")
    assert fault["function"] == "restaurant/order-esg/ingress"
    assert fault["error"]["type"] == "InvalidEventError"
    assert (
        "OrderStatusChanged: id: String should have at least 1 character"
        in (fault["error"]["message"])
    )
    assert restaurant.bus(*ORDER_EVENTS) == []
