"""notification-esg: one push per business fact, to the customer or the driver."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flask
import pytest
import requests

from delivery.dispatch_control.records import OFFER_TIMEOUT_MS
from delivery.notification_esg.drivers import driver_updated, heard_offline
from delivery.notification_esg.provider import (
    HttpPushProvider,
    PushCredentialsRefused,
    PushMessage,
    PushUnavailable,
    RecipientUnregistered,
)
from fakes import push_provider
from shared.envelope import new_event
from shared.exceptions import BusinessRuleViolation
from shared.http import WsgiTransport
from shared.runtime import consumer
from shared.runtime.outcome import Outcome
from shared.runtime.secrets import Secret
from shared.stores import InMemoryDocumentStore
from tests.delivery.conftest import (
    FAR,
    FURTHER,
    MINUTE,
    NEAR,
    PUSH_KEY,
    PUSH_URL,
    START,
    Delivery,
    PushFake,
    accepted_then_cancelled_unannounced,
    delivered_before_the_pickup_is_announced,
    offer_then_accept,
    reassigned_before_the_hand_back_is_announced,
    status_announced,
)
from tests.delivery.held import hold_event

if TYPE_CHECKING:
    from collections.abc import Callable

    from flask.testing import FlaskClient

    from shared.hub.message import Message


def test_the_customer_hears_of_each_step_once(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("PUT", "/me/location", "dan", {"lat": 52.535, "lng": 13.406})
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")

    assert [(m["title"], m["body"]) for m in delivery.push.to("customer", "ref-o-1")] == [
        ("Order accepted", "Trattoria Roma is preparing your order."),
        ("Driver assigned", "Dan will bring your order."),
        ("On its way", "Dan has picked up your order."),
        ("Delivered", "Your order has arrived. Enjoy your meal!"),
    ]
    assert [k for k in delivery.push.messages if k.endswith(":customer")] == [
        "o-1:accepted:customer",
        "o-1:assigned:customer",
        "o-1:picked-up:customer",
        "o-1:delivered:customer",
    ]
    assert delivery.push.messages["o-1:delivered:customer"]["data"] == {
        "orderId": "o-1",
        "status": "delivered",
    }


def test_a_customer_who_turned_notifications_off_gets_none_and_the_driver_still_does(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted", notifyCustomer=False)
    delivery.answer("d-o-1", "accept", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")

    assert delivery.statuses()[-1] == ("delivered", "dan")
    assert delivery.push.to("customer", "ref-o-1") == []
    assert [k for k in delivery.push.messages if k.endswith(":customer")] == []
    assert len(delivery.push.to("driver", "dan")) == 1  # the offer


def test_a_location_update_sends_nothing(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    calls = delivery.push.calls

    delivery.call("PUT", "/me/location", "dan", {"lat": 52.535, "lng": 13.406})

    assert delivery.statuses()[-1] == ("picked-up", "dan")
    assert delivery.push.calls == calls


def test_the_driver_hears_of_a_new_offer(delivery: Delivery) -> None:
    delivery.driver("dan")

    delivery.order("o-1", "accepted")

    expires = START + 120_000
    assert delivery.push.messages[f"d-o-1:offer:dan:{expires}"] == {
        "id": "msg_2",
        "to": {"kind": "driver", "id": "dan"},
        "title": "New delivery offer",
        "body": "Pick up at Trattoria Roma, Torstraße 1.",
        "data": {
            "offerId": f"d-o-1@{expires}",
            "deliveryId": "d-o-1",
            "orderId": "o-1",
            "expiresAt": str(expires),
        },
    }


def test_the_driver_answers_the_offer_the_push_names(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    [pushed] = [m for m in delivery.push.messages.values() if m["title"] == "New delivery offer"]

    accepted = delivery.call("POST", f"/offers/{pushed['data']['offerId']}/accept", "dan")

    assert accepted.status_code == 200
    assert accepted.get_json()["status"] == "accepted"


def test_a_cancelled_order_is_explained_to_the_customer_and_its_driver(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")

    delivery.order("o-1", "cancelled", reason="no-driver", deliveryAddress=None)

    customer = delivery.push.messages["o-1:cancelled:customer"]
    assert customer["body"] == (
        "Your order was cancelled. No driver was free to bring it to you. You will not be "
        "charged: the amount held on your card is released."
    )
    driver = delivery.push.messages["d-o-1:cancelled:dan"]
    assert (driver["to"], driver["title"]) == (
        {"kind": "driver", "id": "dan"},
        "Delivery cancelled",
    )


def test_a_rejected_order_is_cancelled_without_a_driver_to_tell(delivery: Delivery) -> None:
    delivery.order("o-1", "cancelled", reason="rejected", deliveryAddress=None)

    assert [m["body"] for m in delivery.push.messages.values()] == [
        "Your order was cancelled. The restaurant could not take your order. You will not be "
        "charged: the amount held on your card is released."
    ]


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        ("customer", "You cancelled it."),
        ("rejected", "The restaurant could not take your order."),
        ("restaurant-timeout", "The restaurant did not answer in time."),
        ("no-driver", "No driver was free to bring it to you."),
        ("driver-no-show", "The driver did not collect it."),
        ("not-delivered", "It was not delivered."),
    ],
)
def test_every_cancellation_says_why_and_that_the_hold_on_the_card_is_released(
    delivery: Delivery, reason: str, why: str
) -> None:
    # Order cancels only before the delivery, when the payment would be captured: each
    # cancellation voids the authorization checkout made
    delivery.order("o-1", "cancelled", reason=reason)

    assert [m["body"] for m in delivery.push.to("customer", "ref-o-1")] == [
        f"Your order was cancelled. {why} You will not be charged: the amount held on your "
        "card is released."
    ]


def test_a_cancellation_for_a_reason_added_since_says_nothing_of_money(
    delivery: Delivery,
) -> None:
    delivery.order("o-1", "cancelled", reason="fraud-suspected")  # Order's values may be added

    assert [m["body"] for m in delivery.push.to("customer", "ref-o-1")] == [
        "Your order was cancelled."
    ]


def test_a_provider_outage_is_retried_and_notifies_once(delivery: Delivery) -> None:
    delivery.push.failures = 2

    delivery.order("o-1", "accepted")

    assert list(delivery.push.messages) == ["o-1:accepted:customer"]
    assert delivery.push.calls == 3
    assert delivery.faults() == []


def test_a_provider_rate_limiting_for_minutes_still_notifies_once(delivery: Delivery) -> None:
    delivery.push.failures, delivery.push.failure_status = 8, 429  # about 5 minutes of backoff

    delivery.order("o-1", "accepted")

    assert list(delivery.push.messages) == ["o-1:accepted:customer"]
    assert delivery.push.calls == 9
    assert delivery.faults() == []


def test_a_repeated_status_event_notifies_once(delivery: Delivery) -> None:
    accepted = delivery.order("o-1", "accepted")
    calls = delivery.push.calls

    delivery.inject(accepted, producer="order")

    assert list(delivery.push.messages) == ["o-1:accepted:customer"]
    assert delivery.push.calls == calls


def test_a_status_of_an_order_never_seen_ends_as_a_fault(delivery: Delivery) -> None:
    delivery.inject(status_announced("assigned", "o-7"))

    [fault] = [f for f in delivery.faults() if f["function"] == "notification-esg-push"]
    assert (fault["reason"], fault["deliveryAttempt"]) == ("dead-letter", 15)
    assert delivery.push.messages == {}


def test_a_refusal_of_the_message_by_the_provider_becomes_a_fault(delivery: Delivery) -> None:
    delivery.push.failures, delivery.push.failure_status = 1, 400

    delivery.order("o-1", "accepted")

    [fault] = delivery.faults()
    assert fault["function"] == "delivery/notification-esg/push"
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert delivery.push.calls == 1


@pytest.mark.parametrize("status", [401, 403])
def test_a_provider_refusing_our_key_until_it_is_put_right_still_notifies_once(
    delivery: Delivery, status: int
) -> None:
    # Our configuration, not the message: each notice waits for the key to be put right
    delivery.push.failures, delivery.push.failure_status = 4, status

    delivery.order("o-1", "accepted")

    assert list(delivery.push.messages) == ["o-1:accepted:customer"]
    assert delivery.push.calls == 5
    assert delivery.faults() == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refusal_of_our_key_is_logged_once_an_attempt_as_an_error_naming_the_notice(
    delivery: Delivery, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    delivery.push.failures, delivery.push.failure_status = 1, status

    with caplog.at_level(logging.INFO, logger="fooddelivery"):
        delivery.order("o-1", "accepted")

    reported = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.levelno, r.getMessage()) for r in reported] == [
        (
            logging.ERROR,
            f"push of o-1:accepted:customer held back: the push provider refused our API key "
            f"({status}): check the secret PUSH_PROVIDER_KEY; the notification is sent once it "
            "is right",
        )
    ]
    [record] = reported
    assert record.exc_info is None
    assert record.__dict__["labels"]["correlationId"] == "o-1"
    assert list(delivery.push.messages) == ["o-1:accepted:customer"]


def test_a_wrong_key_for_good_dead_letters_each_notice_to_resubmit(
    tmp_path: Path, push: PushFake
) -> None:
    delivery = Delivery(tmp_path, push, push_key="wrong-key")

    delivery.order("o-1", "accepted")

    [fault] = delivery.faults()
    assert fault["function"] == "notification-esg-push"
    assert (fault["reason"], fault["deliveryAttempt"]) == ("dead-letter", 15)
    assert push.calls == 15
    assert push.messages == {}


def hand_over(delivery: Delivery, released_by: str, then: str) -> None:
    """``released_by`` takes o-1, hands it back in the app, and ``then`` takes it."""
    offer_then_accept(delivery, "o-1", released_by)
    delivery.call("POST", "/deliveries/d-o-1/release", released_by, {"reason": "flat tyre"})
    assert delivery.answer("d-o-1", "accept", then).status_code == 200


def test_the_customer_hears_once_of_each_driver_and_of_each_hand_back(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    hand_over(delivery, released_by="dan", then="eve")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "eve")

    assert [(m["title"], m["body"]) for m in delivery.push.to("customer", "ref-o-1")] == [
        ("Order accepted", "Trattoria Roma is preparing your order."),
        ("Driver assigned", "Dan will bring your order."),
        (
            "Finding another driver",
            "Your driver had to hand your order over; we are finding another one.",
        ),
        ("Driver assigned", "Eve will bring your order."),
        ("On its way", "Eve has picked up your order."),
    ]
    assert [k for k in delivery.push.messages if k.endswith(":customer")] == [
        "o-1:accepted:customer",
        "o-1:assigned:customer",
        "o-1:released:dan:customer",
        "o-1:assigned:eve:customer",
        "o-1:picked-up:customer",
    ]
    assert delivery.push.messages["o-1:released:dan:customer"]["data"] == {
        "orderId": "o-1",
        "status": "released",
    }


def test_the_driver_who_handed_the_order_back_gets_no_push_for_it(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)

    hand_over(delivery, released_by="dan", then="eve")

    assert [m["title"] for m in delivery.push.to("driver", "dan")] == ["New delivery offer"]
    assert [m["title"] for m in delivery.push.to("driver", "eve")] == ["New delivery offer"]


def test_each_hand_back_is_told_once_and_a_stale_assignment_not_at_all(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.driver("fay", at=FURTHER)
    hand_over(delivery, released_by="dan", then="eve")
    delivery.call("POST", "/deliveries/d-o-1/release", "eve", {})
    delivery.answer("d-o-1", "accept", "fay")
    told = dict(delivery.push.messages)
    statuses = [e for e in delivery.events["bus"] if e.type == "delivery-status-changed"]
    assert [(e.body["status"], e.body["driver"]["id"]) for e in statuses] == [
        ("assigned", "dan"),  # stale by now: dan handed the order back
        ("released", "dan"),
        ("assigned", "eve"),
        ("released", "eve"),
        ("assigned", "fay"),
    ]

    for event in statuses:
        delivery.inject(event)

    assert delivery.push.messages == told
    assert [k for k in told if k.startswith("o-1:released")] == [
        "o-1:released:dan:customer",
        "o-1:released:eve:customer",
    ]
    assert "o-1:assigned:fay:customer" in told


# -- a driver's offer heard late ------------------------------------------------------------


def offers_pushed(delivery: Delivery, driver: str) -> list[int]:
    """The expiries of the offers pushed to ``driver``, in order."""
    return [
        int(m["data"]["expiresAt"])
        for m in delivery.push.to("driver", driver)
        if m["title"] == "New delivery offer"
    ]


ENDINGS = {
    "declined": lambda delivery: delivery.answer("d-o-1", "decline", "dan"),
    "accepted": lambda delivery: delivery.answer("d-o-1", "accept", "dan"),
    "cancelled": lambda delivery: delivery.order(
        "o-1", "cancelled", reason="customer", changedAt=delivery.clock.now_ms()
    ),
    "expired": lambda delivery: delivery.clock.advance(2 * MINUTE),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_an_offer_over_before_its_push_went_out_is_not_pushed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    deliver_late = hold_event(delivery, monkeypatch, "push", "delivery-offered")
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.clock.advance(10_000)
    ENDINGS[ending](delivery)

    deliver_late()  # e.g. redelivered once the provider, down when it came, is back

    assert offers_pushed(delivery, "dan") == []


def test_an_offer_accepted_in_its_own_millisecond_and_heard_after_the_assignment_is_not_pushed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan accepts o-1's offer in the millisecond it was made, and the push consumer
    # hears the assignment before the offer: only dispatch's revision tells them apart
    deliver_late = hold_event(delivery, monkeypatch, "push", "delivery-offered")
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    ENDINGS["accepted"](delivery)
    [offer] = delivery.bus("delivery-offered")
    [assigned] = [s for s in delivery.bus("delivery-status-changed") if s["status"] == "assigned"]
    assert assigned["changedAt"] == offer["expiresAt"] - OFFER_TIMEOUT_MS  # when it was made

    deliver_late()

    assert offers_pushed(delivery, "dan") == []


@pytest.mark.parametrize(
    ("before_expiry", "pushed"), [(1, True), (0, False)], ids=["last-ms", "at-expiry"]
)
def test_an_offer_heard_late_is_pushed_only_before_it_expires(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, before_expiry: int, pushed: bool
) -> None:
    # GIVEN dan's offer reaches the push consumer late, ``before_expiry`` ms before it expires
    # (at its expiresAt an answer is refused, by driver-bff and by dispatch)
    deliver_late = hold_event(delivery, monkeypatch, "push", "delivery-offered")
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    [expires] = [offer["expiresAt"] for offer in delivery.bus("delivery-offered")]
    delivery.clock.advance(expires - before_expiry - delivery.clock.now_ms())

    deliver_late()

    assert offers_pushed(delivery, "dan") == ([expires] if pushed else [])


def test_only_the_offer_made_again_is_pushed_when_the_first_one_is_heard_after_it(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = hold_event(delivery, monkeypatch, "push", "delivery-offered")
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.system.advance(3 * MINUTE)  # dan missed it; nobody else is near: offered again

    deliver_late()

    _, again = (offer["expiresAt"] for offer in delivery.bus("delivery-offered"))
    assert offers_pushed(delivery, "dan") == [again]


def offered_while_going_offline(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], Outcome]:
    """dan is offered o-1 and goes offline; the push consumer hears him offline, but neither
    the offer nor its withdrawal yet: the function returned hands it the offer, answering
    with its outcome (the withdrawal stays held: see :func:`hold_event`)."""
    real = consumer.ConsumerRuntime.handle
    offered: list[tuple[consumer.ConsumerRuntime[Any], Any]] = []

    def handle(self: consumer.ConsumerRuntime[Any], message: Any) -> Outcome:
        if self.name == "push" and message.attributes.get("type") == "delivery-offered":
            offered.append((self, message))
            return Outcome.ACK
        return real(self, message)

    monkeypatch.setattr(consumer.ConsumerRuntime, "handle", handle)
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    assert delivery.call("PUT", "/me/status", "dan", {"online": False}).status_code == 200
    [(runtime, message)] = offered
    return lambda: real(runtime, message)


def test_an_offer_to_a_driver_heard_offline_waits_for_its_withdrawal_and_is_not_pushed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    withdrawal = hold_event(delivery, monkeypatch, "push", "offer-withdrawn")
    hand_over_offer = offered_while_going_offline(delivery, monkeypatch)

    assert hand_over_offer() == Outcome.RETRY  # redelivered later
    withdrawal()
    assert hand_over_offer() == Outcome.ACK

    assert offers_pushed(delivery, "dan") == []
    assert delivery.faults() == []


def test_an_offer_open_to_a_driver_heard_online_again_is_pushed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan heard offline, no withdrawal of his offer heard
    hold_event(delivery, monkeypatch, "push", "offer-withdrawn")
    hand_over_offer = offered_while_going_offline(delivery, monkeypatch)
    assert hand_over_offer() == Outcome.RETRY

    # WHEN he is heard online again before the offer is handed over again
    delivery.clock.advance(1_000)
    assert delivery.call("PUT", "/me/status", "dan", {"online": True}).status_code == 200

    # THEN the offer, open as far as the push consumer heard, is pushed
    assert hand_over_offer() == Outcome.ACK
    [first, *_] = delivery.bus("delivery-offered")
    assert offers_pushed(delivery, "dan") == [first["expiresAt"]]


# -- statuses heard out of order ----------------------------------------------------------


def told(delivery: Delivery) -> list[str]:
    """The titles of the customer's notices about o-1, in order."""
    return [m["title"] for m in delivery.push.to("customer", "ref-o-1")]


@pytest.mark.parametrize("accepted_at", [START + 1_000, START + 2_000], ids=["before", "same-ms"])
def test_an_acceptance_heard_after_the_cancellation_sends_no_accepted_push(
    delivery: Delivery, accepted_at: int
) -> None:
    delivery.order("o-1", "cancelled", reason="rejected", changedAt=START + 2_000)

    delivery.order("o-1", "accepted", changedAt=accepted_at)  # Order's triggers are unordered

    assert told(delivery) == ["Order cancelled"]


def test_an_acceptance_heard_after_a_silent_later_status_is_still_pushed(
    delivery: Delivery,
) -> None:
    # GIVEN the kitchen marked the order ready (nothing to tell) before its acceptance is heard
    delivery.order("o-1", "ready", changedAt=START + 2_000)

    delivery.order("o-1", "accepted", changedAt=START + 1_000)  # e.g. retried after an outage

    assert told(delivery) == ["Order accepted"]
    record = delivery.store.get("notification-orders", "o-1") or {}
    assert (record["status"], record["changedAt"]) == ("ready", START + 2_000)


def test_an_order_status_heard_late_changes_nothing_kept_of_the_order(delivery: Delivery) -> None:
    delivery.order("o-1", "cancelled", reason="rejected", changedAt=START + 2_000)

    stale = {"customerRef": "ref-other", "notifyCustomer": False, "changedAt": START + 1_000}
    delivery.order("o-1", "accepted", **stale)

    record = delivery.store.get("notification-orders", "o-1")
    assert record is not None
    assert (record["customerRef"], record["notify"]) == ("ref-o-1", True)
    assert (record["status"], record["changedAt"]) == ("cancelled", START + 2_000)


def test_a_pickup_announced_after_the_delivery_is_not_pushed_after_it(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = delivered_before_the_pickup_is_announced(delivery, monkeypatch)

    deliver_late()

    assert delivery.bus("delivery-status-changed")[-1]["status"] == "picked-up"  # announced last
    assert told(delivery) == ["Order accepted", "Driver assigned", "Delivered"]


def test_a_delivery_status_not_pushed_as_stale_says_so_naming_the_order_and_driver(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    deliver_late = delivered_before_the_pickup_is_announced(delivery, monkeypatch)

    with caplog.at_level(logging.INFO, logger="fooddelivery.delivery.notification-esg"):
        deliver_late()

    assert "order o-1: picked-up (dan) came after a later status; not notified" in [
        r.getMessage() for r in caplog.records
    ]


def test_a_hand_back_announced_after_the_next_assignment_is_not_the_last_word(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = reassigned_before_the_hand_back_is_announced(delivery, monkeypatch)

    deliver_late()

    announced = [(b["status"], b["driver"]["id"]) for b in delivery.bus("delivery-status-changed")]
    assert announced[-2:] == [("assigned", "eve"), ("released", "dan")]
    assert told(delivery) == ["Order accepted", "Driver assigned", "Driver assigned"]
    assert delivery.push.to("customer", "ref-o-1")[-1]["body"] == "Eve will bring your order."
    assert [k for k in delivery.push.messages if k.startswith("o-1:assigned")] == [
        "o-1:assigned:customer",
        "o-1:assigned:eve:customer",
    ]


def test_a_delivery_status_announced_after_the_cancellation_is_not_pushed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = accepted_then_cancelled_unannounced(delivery, monkeypatch)

    deliver_late()

    assert [b["status"] for b in delivery.bus("delivery-status-changed")] == ["assigned"]
    assert told(delivery) == ["Order accepted", "Order cancelled"]
    assert [m["title"] for m in delivery.push.to("driver", "dan")][-1] == "Delivery cancelled"


def test_an_order_kept_before_statuses_were_ordered_is_told_each_fact_once(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    legacy = {"customerRef": "ref-o-1", "notify": True, "notified": ["accepted", "assigned"]}
    delivery.store.put("notification-orders", "o-1", legacy)
    statuses = [e for e in delivery.events["bus"] if e.type == "delivery-status-changed"]

    for event in statuses:  # dan's assignment again
        delivery.inject(event)
    hand_over_told = len(delivery.push.messages)
    delivery.call("POST", "/deliveries/d-o-1/release", "dan", {})
    delivery.answer("d-o-1", "accept", "eve")

    assert len(statuses) == 1
    assert [k for k in delivery.push.messages if k.endswith(":customer")][-2:] == [
        "o-1:released:dan:customer",
        "o-1:assigned:eve:customer",
    ]
    assert len(delivery.push.messages) == hand_over_told + 3  # and eve's offer
    assert told(delivery) == [
        "Order accepted",
        "Driver assigned",
        "Finding another driver",
        "Driver assigned",
    ]


def test_a_delivery_status_after_the_cancellation_says_it_was_not_notified(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    deliver_late = accepted_then_cancelled_unannounced(delivery, monkeypatch)

    with caplog.at_level(logging.INFO, logger="fooddelivery.delivery.notification-esg"):
        deliver_late()

    assert "order o-1: assigned (dan) came after its cancellation; not notified" in [
        r.getMessage() for r in caplog.records
    ]


# -- a push retried late --------------------------------------------------------------------


def retry_late(delivery: Delivery, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Keep the redelivery of the first event notification-esg fails to handle until the
    function returned is called, as a backoff that lasts while the delivery moves on."""
    real = consumer.ConsumerRuntime.handle
    held: list[tuple[consumer.ConsumerRuntime[Any], Message]] = []

    def handle(self: consumer.ConsumerRuntime[Any], message: Message) -> Outcome:
        outcome = real(self, message)
        if self.name == "push" and outcome is Outcome.RETRY and not held:
            held.append((self, message))
            return Outcome.ACK
        return outcome

    monkeypatch.setattr(consumer.ConsumerRuntime, "handle", handle)

    def redeliver() -> None:
        [(runtime, message)] = held
        assert real(runtime, message) == Outcome.ACK
        delivery.system.run_until_quiet()

    return redeliver


def test_an_acceptance_retried_after_a_delivery_step_was_told_is_not_pushed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the acceptance's push fails once, and its retry comes after dan picked the order up
    redeliver = retry_late(delivery, monkeypatch)
    delivery.driver("dan")
    delivery.push.failures = 1
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")

    # WHEN the acceptance is redelivered
    redeliver()

    # THEN the customer, told already that the order is on its way, hears nothing older
    assert told(delivery) == ["Driver assigned", "On its way"]
    assert delivery.faults() == []


def test_a_first_assignment_sent_but_not_noted_keeps_its_key_to_itself(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the provider takes dan's assignment, but its answer is lost; before the retry, dan
    # hands the order back (the customer is told) and eve takes it
    send = delivery.push.app.view_functions["send"]
    lost: list[str] = []

    def answer_lost_once() -> Any:
        answer = send()
        if flask.request.get_json()["title"] == "Driver assigned" and not lost:
            lost.append(flask.request.headers["Idempotency-Key"])
            return {"error": "the answer was lost"}, 503
        return answer

    delivery.push.app.view_functions["send"] = answer_lost_once
    redeliver = retry_late(delivery, monkeypatch)
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    hand_over(delivery, released_by="dan", then="eve")

    # WHEN dan's assignment is redelivered (stale by now)
    redeliver()

    # THEN eve's assignment went out under a key of its own: the customer hears of each driver
    assert lost == ["o-1:assigned:customer"]
    assert [m["body"] for m in delivery.push.to("customer", "ref-o-1")][1:] == [
        "Dan will bring your order.",
        "Your driver had to hand your order over; we are finding another one.",
        "Eve will bring your order.",
    ]
    assert "o-1:assigned:eve:customer" in delivery.push.messages
    assert delivery.faults() == []


# -- the HTTP adapter ------------------------------------------------------------------------


def provider(push: PushFake, api_key: str = PUSH_KEY) -> HttpPushProvider:
    session = requests.Session()
    session.mount(PUSH_URL, WsgiTransport(push.app))
    return HttpPushProvider(session, PUSH_URL + "/", Secret.given("PUSH_PROVIDER_KEY", api_key))


MESSAGE = PushMessage("driver", "dan", "Hello", "A message", {"k": "v"})


def test_the_adapter_sends_the_message_with_its_key(push: PushFake) -> None:
    first = provider(push).send(MESSAGE, idempotency_key="fact-1")
    again = provider(push).send(MESSAGE, idempotency_key="fact-1")

    assert first == again == "msg_1"
    assert push.messages == {
        "fact-1": {
            "id": "msg_1",
            "to": {"kind": "driver", "id": "dan"},
            "title": "Hello",
            "body": "A message",
            "data": {"k": "v"},
        }
    }


@pytest.mark.parametrize("status", [503, 408, 409, 429])
def test_the_adapter_raises_a_retryable_error_on_5xx_and_answers_that_ask_for_later(
    push: PushFake, status: int
) -> None:
    push.failures, push.failure_status = 1, status

    with pytest.raises(PushUnavailable):
        provider(push).send(MESSAGE, idempotency_key="fact-1")


def test_the_adapter_turns_a_refusal_into_a_business_rule_violation(push: PushFake) -> None:
    push.failures, push.failure_status = 1, 400

    with pytest.raises(BusinessRuleViolation, match="400"):
        provider(push).send(MESSAGE, idempotency_key="fact-1")


@pytest.mark.parametrize("status", [401, 403])
def test_the_adapter_raises_a_retryable_error_when_our_key_is_refused(
    push: PushFake, status: int
) -> None:
    push.failures, push.failure_status = 1, status

    with pytest.raises(PushCredentialsRefused, match=f"{status}.*PUSH_PROVIDER_KEY"):
        provider(push).send(MESSAGE, idempotency_key="fact-1")
    assert issubclass(PushCredentialsRefused, PushUnavailable)


def sandbox_provider() -> tuple[HttpPushProvider, FlaskClient]:
    """The adapter on the sandbox's fake push provider, and a client of that fake."""
    app = push_provider.create_app(PUSH_KEY)
    session = requests.Session()
    session.mount(PUSH_URL, WsgiTransport(app))
    secret = Secret.given("PUSH_PROVIDER_KEY", PUSH_KEY)
    return HttpPushProvider(session, PUSH_URL, secret), app.test_client()


def test_the_adapter_tells_a_recipient_with_no_device_from_a_refusal() -> None:
    adapter, fake = sandbox_provider()
    fake.post("/_fake/unregistered", json={"kind": "driver", "id": "dan"})

    with pytest.raises(RecipientUnregistered):
        adapter.send(MESSAGE, idempotency_key="fact-1")
    assert adapter.send(PushMessage("driver", "eve", "Hi", "A message"), idempotency_key="f-2")


def test_the_adapter_takes_any_other_404_for_a_refusal(push: PushFake) -> None:
    session = requests.Session()
    session.mount(PUSH_URL, WsgiTransport(push.app))
    secret = Secret.given("PUSH_PROVIDER_KEY", PUSH_KEY)
    misconfigured = HttpPushProvider(session, PUSH_URL + "/wrong", secret)

    with pytest.raises(BusinessRuleViolation, match="404"):
        misconfigured.send(MESSAGE, idempotency_key="fact-1")


def test_the_adapter_takes_a_410_for_a_device_gone(push: PushFake) -> None:
    push.failures, push.failure_status = 1, 410  # APNs' and Web Push's Unregistered

    with pytest.raises(RecipientUnregistered):
        provider(push).send(MESSAGE, idempotency_key="fact-1")


def test_the_adapter_shortens_a_title_and_body_over_the_providers_limits() -> None:
    adapter, fake = sandbox_provider()
    long = PushMessage("customer", "ref-o-1", "T" * 200, "Trattoria " * 60)

    adapter.send(long, idempotency_key="fact-1")

    [sent] = fake.get("/v1/messages", headers={"Authorization": f"Bearer {PUSH_KEY}"}).json[
        "messages"
    ]
    assert sent["title"] == "T" * 119 + "…"
    assert sent["body"] == "Trattoria " * 49 + "Trattoria…"
    assert (len(sent["title"]), len(sent["body"])) == (120, 500)


def test_the_adapter_refuses_data_over_4_kib_without_calling_the_provider(
    push: PushFake,
) -> None:
    too_much = replace(MESSAGE, data={"k": "v" * 4096})

    with pytest.raises(BusinessRuleViolation, match="fact-1 is 4097 bytes, over"):
        provider(push).send(too_much, idempotency_key="fact-1")
    assert push.calls == 0


def no_device_for(push: PushFake, kind: str) -> list[str]:
    """Make the provider answer as for no device registered to recipients of ``kind``; the
    keys it so answered, in order."""
    send = push.app.view_functions["send"]
    refused: list[str] = []

    def unregistered() -> Any:
        if flask.request.get_json()["to"]["kind"] != kind:
            return send()
        refused.append(flask.request.headers["Idempotency-Key"])
        return {"error": "no device", "code": "recipient_unregistered"}, 404

    push.app.view_functions["send"] = unregistered
    return refused


def test_a_customer_with_no_device_is_skipped_once_a_fact_and_the_driver_still_told(
    delivery: Delivery,
) -> None:
    refused = no_device_for(delivery.push, "customer")
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    statuses = [e for e in delivery.events["bus"] if e.type == "delivery-status-changed"]

    for event in statuses:  # redelivered: the skipped facts are not tried again
        delivery.inject(event)

    assert delivery.faults() == []
    assert refused == ["o-1:accepted:customer", "o-1:assigned:customer", "o-1:picked-up:customer"]
    assert [m["title"] for m in delivery.push.to("driver", "dan")] == ["New delivery offer"]
    assert delivery.statuses()[-1] == ("picked-up", "dan")


def test_a_driver_with_no_device_is_skipped_and_still_gets_the_delivery(
    delivery: Delivery, caplog: pytest.LogCaptureFixture
) -> None:
    refused = no_device_for(delivery.push, "driver")
    delivery.driver("dan")

    offer_then_accept(delivery, "o-1", "dan")

    assert delivery.faults() == []
    assert [k.split(":")[1] for k in refused] == ["offer"]
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("push skip")]
    assert skipped == [f"push skipped: no device registered for the driver of {refused[0]}"]
    assert told(delivery) == ["Order accepted", "Driver assigned"]


# -- a driver taken offline ----------------------------------------------------------------


def told_offline(delivery: Delivery, driver: str) -> list[dict[str, Any]]:
    """The pushes telling ``driver`` the platform took them offline."""
    return [m for m in delivery.push.to("driver", driver) if m["title"] == "You are offline"]


def taken_offline_unannounced(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """dan, the only driver, lets o-1's offer run out twice and is taken offline at 6:00; the
    push consumer's ``driver-taken-offline`` is held back (e.g. the provider was down); the
    function returned delivers it."""
    deliver_late = hold_event(delivery, monkeypatch, "push", "driver-taken-offline")
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    delivery.system.advance(6 * MINUTE)
    assert (delivery.store.get("drivers", "dan") or {}).get("offlineReason") == "missed-offers"
    return deliver_late


def test_a_driver_back_online_before_their_taking_offline_is_heard_is_not_told_it(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = taken_offline_unannounced(delivery, monkeypatch)
    delivery.clock.advance(MINUTE)
    assert delivery.call("PUT", "/me/status", "dan", {"online": True}).status_code == 200

    deliver_late()

    assert told_offline(delivery, "dan") == []
    assert delivery.faults() == []


def test_a_driver_heard_online_only_before_their_taking_offline_is_told_it(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver_late = taken_offline_unannounced(delivery, monkeypatch)

    deliver_late()

    [push] = told_offline(delivery, "dan")
    assert push["data"] == {"reason": "missed-offers", "action": "go-online"}


def test_a_driver_online_is_noted_when_they_go_online_not_at_each_location_they_report(
    delivery: Delivery,
) -> None:
    went_online = delivery.clock.now_ms()
    delivery.driver("dan")
    for step in range(3):
        delivery.clock.advance(MINUTE)
        moved = {"lat": NEAR["lat"] + 0.001 * (step + 1), "lng": NEAR["lng"]}
        assert delivery.call("PUT", "/me/location", "dan", moved).status_code == 200

    record = delivery.store.get("notification-drivers", "dan") or {}
    assert (record["onlineAt"], record["online"]) == (went_online, True)
    assert record["availableAt"] == went_online  # written as he went online, not since


def test_a_driver_back_online_in_the_millisecond_they_were_taken_offline_is_not_told_it(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan asks to go online in the very millisecond driver-bff took him offline
    deliver_late = taken_offline_unannounced(delivery, monkeypatch)
    offline_at = (delivery.store.get("drivers", "dan") or {})["updatedAt"]
    assert delivery.call("PUT", "/me/status", "dan", {"online": True}).status_code == 200
    record = delivery.store.get("notification-drivers", "dan") or {}
    assert (record["onlineAt"], record["online"]) == (offline_at, True)

    deliver_late()

    # THEN he is online, and not told he is offline
    assert (delivery.store.get("drivers", "dan") or {})["online"] is True
    assert told_offline(delivery, "dan") == []


def test_a_drivers_availability_heard_out_of_order_keeps_the_latest() -> None:
    store = InMemoryDocumentStore()

    def heard(online: bool, online_at: int, written: int) -> bool:
        body = {"id": "dan", "name": "Dan", "online": online, "location": NEAR}
        update = {**body, "onlineAt": online_at}
        event = new_event("driver-updated", "driver", update, partition_key="dan")
        driver_updated(store, replace(event, timestamp=written))
        return heard_offline(store, "dan")

    assert heard(False, START, written=START + 2) is True  # online at START, then offline
    assert heard(True, START, written=START + 1) is True  # going online, heard late
    assert heard(True, START + 3, written=START + 3) is False  # online again
    assert heard(False, START, written=START + 2) is False  # going offline before, heard again
    assert heard(False, START + 3, written=START + 3) is True  # offline in that millisecond
