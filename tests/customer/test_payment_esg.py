"""payment-esg: authorize at checkout, capture on delivery, void or refund on cancellation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import flask
import pytest

from customer.checkout_bff.orders import give_up
from customer.payment_esg import egress
from customer.payment_esg import processor as processor_module
from customer.payment_esg.cards import forget_card
from customer.payment_esg.processor import (
    FIND_MAX_PAGES,
    Authorization,
    Authorized,
    Declined,
    HttpPaymentProcessor,
    ProcessorUnavailable,
)
from fakes import payment_processor
from fakes.server import serve
from shared.exceptions import BusinessRuleViolation
from shared.http import WsgiTransport, http_session
from shared.hub.message import Message
from shared.runtime.faults import resubmit
from shared.runtime.secrets import Secret
from shared.stores import AbstractDocumentStore
from shared.topology import Topic
from tests.customer.conftest import (
    DECLINED_CARD,
    DISHES,
    MINUTE,
    PAYMENTS_KEY,
    PAYMENTS_URL,
    START,
    Customer,
)

if TYPE_CHECKING:
    from flask.testing import FlaskClient
    from flask.typing import ResponseReturnValue


def payment(customer: Customer, order_id: str) -> dict[str, Any]:
    return customer.doc("payments", order_id)


def authorize_calls(customer: Customer) -> list[dict[str, Any]]:
    return [c for c in customer.processor.calls if c["path"] == "/v1/authorizations"]


def test_checkout_authorizes_the_total_with_a_key_derived_from_the_order(shop: Customer) -> None:
    order_id = shop.place_order()

    [call] = shop.processor.calls
    assert call == {
        "path": "/v1/authorizations",
        "key": f"{order_id}:authorize",
        "body": {
            "amount": 2550,
            "currency": "EUR",
            "paymentMethod": "pm_card_visa",
            "reference": order_id,
        },
    }
    assert payment(shop, order_id) == {
        "orderId": order_id,
        "authorizationId": "auth-1",
        "amount": 2550,
        "currency": "EUR",
        "status": "authorized",
        "authorizedAt": START,
    }
    [authorized] = shop.events("payment-authorized")
    assert authorized.body == {
        "orderId": order_id,
        "authorizationId": "auth-1",
        "amount": 2550,
        "currency": "EUR",
        "authorizedAt": START,
    }


def test_a_redelivered_submission_authorizes_once(shop: Customer) -> None:
    order_id = shop.place_order()
    [submitted] = shop.events("order-submitted")

    shop.send("customer", submitted)  # Pub/Sub delivers it again

    assert len(authorize_calls(shop)) == 1
    assert list(shop.processor.authorizations) == ["auth-1"]
    assert payment(shop, order_id)["authorizationId"] == "auth-1"
    authorized = shop.events("payment-authorized")
    assert len(authorized) == 2  # announced again, in case the first publish was lost
    assert len({e.id for e in authorized}) == 1  # as the same event
    assert len({e.id for e in shop.events("order-placed")}) == 1
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert shop.faults() == []


def test_a_submission_redelivered_after_a_crash_reuses_the_authorization(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the processor authorizes, but the gateway dies before it stores the payment
    create = shop.store.create

    def crash_once(collection: str, key: str, data: dict[str, Any]) -> bool:
        if collection == "payments":
            monkeypatch.setattr(shop.store, "create", create)
            raise ConnectionError("the process died here")
        return create(collection, key, data)

    monkeypatch.setattr(shop.store, "create", crash_once)

    # WHEN the order is submitted and its event redelivered
    order_id = shop.place_order()

    # THEN the second call carries the same key and the processor holds one authorization
    calls = authorize_calls(shop)
    assert [c["key"] for c in calls] == [f"{order_id}:authorize"] * 2
    assert list(shop.processor.authorizations) == ["auth-1"]
    assert payment(shop, order_id)["authorizationId"] == "auth-1"
    assert [e.body["authorizationId"] for e in shop.events("payment-authorized")] == ["auth-1"]
    assert shop.doc("orders", order_id)["status"] == "placed"


def test_a_declined_card_is_announced_with_the_processors_reason(shop: Customer) -> None:
    order_id = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})

    assert payment(shop, order_id)["status"] == "declined"
    [declined] = shop.events("payment-declined")
    assert declined.body == {"orderId": order_id, "reason": "card_declined"}
    assert shop.events("payment-authorized") == []


def test_a_request_the_processor_will_never_accept_declines_the_order(shop: Customer) -> None:
    # GIVEN the processor refuses the authorization outright (400: not the card, the request)
    shop.processor.failures = 1
    shop.processor.failure = ({"error": "injected failure"}, 400)

    # WHEN the customer checks out
    order_id = shop.place_order()

    # THEN it is a decline like any other: the order is declined and its dishes are back
    assert payment(shop, order_id)["status"] == "declined"
    [declined] = shop.events("payment-declined")
    assert declined.body == {"orderId": order_id, "reason": "payment_refused"}
    assert shop.doc("orders", order_id)["status"] == "payment-declined"
    assert shop.doc("carts", "alice")["total"] == 2550
    assert shop.faults() == []
    assert shop.events("payment-authorized") == shop.events("order-placed") == []


@pytest.mark.parametrize("lost", [0, 1], ids=["answered", "answer-lost"])
def test_an_authorization_after_the_payment_deadline_is_voided_once(
    shop: Customer, lost: int
) -> None:
    # GIVEN the processor is down for longer than an order may wait for its payment (and,
    # in the second case, authorized the card once but its answer was lost)
    shop.processor.lost_answers = lost
    shop.processor.down_until = START + 15 * MINUTE
    shop.tick_while_waiting()

    # WHEN the customer checks out and payment-esg keeps trying until the processor is back
    order_id = shop.place_order()

    # THEN the order was cancelled meanwhile, and the authorization that came after (asked
    # again with the same key, the same answer) is voided
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    [authorization] = shop.processor.authorizations.values()
    assert authorization["status"] == "voided"
    assert shop.processor.paths("/void") == ["/v1/authorizations/auth-1/void"]
    assert shop.processor.calls[-1]["key"] == f"{order_id}:void"
    assert payment(shop, order_id)["status"] == "voided"
    assert {e.body["status"] for e in shop.events("payment-voided")} == {"voided"}
    assert shop.events("order-placed") == []
    assert shop.faults() == []


def test_one_void_is_one_event_whichever_of_its_causes_announces_it(shop: Customer) -> None:
    # GIVEN an authorization that comes after checkout cancelled the order: both the late
    # authorization and checkout's cancellation lead payment-esg to the void
    shop.processor.down_until = START + 15 * MINUTE
    shop.tick_while_waiting()

    order_id = shop.place_order()

    # THEN each says it with the same event id: consumers and the lake keep one void
    voided = shop.events("payment-voided")
    assert {e.metadata["causationId"] for e in voided} == {
        shop.events("order-cancelled")[0].id,
        shop.events("order-submitted")[0].id,
    }
    assert len({e.id for e in voided}) == 1
    assert payment(shop, order_id)["status"] == "voided"


def hold_submissions(shop: Customer) -> Callable[[], None]:
    """Hold back every ``order-submitted`` from now on; returns what delivers them at last."""
    held: list[Message] = []
    publish = shop.system.hub.publish

    def hold_submitted(project: str, topic: str, messages: Sequence[Message]) -> list[str]:
        kept = [m for m in messages if m.attributes.get("type") != "order-submitted"]
        held.extend(m for m in messages if m.attributes.get("type") == "order-submitted")
        return publish(project, topic, kept) if kept else []

    shop.system.hub.publish = hold_submitted  # type: ignore[method-assign]

    def deliver() -> None:
        shop.system.hub.publish = publish  # type: ignore[method-assign]
        publish("customer", Topic.BUS, held)
        shop.system.run_until_quiet()

    return deliver


def test_an_order_cancelled_before_payment_esg_asked_anything_is_never_authorized(
    shop: Customer,
) -> None:
    # GIVEN payment-esg has not handled the order yet when checkout cancels it (held back)
    deliver = hold_submissions(shop)
    order_id = shop.place_order()
    assert give_up(shop.store, order_id, "customer", shop.clock.now_ms())
    shop.system.run_until_quiet()
    assert shop.doc("orders", order_id)["status"] == "cancelled"

    # WHEN payment-esg gets to the order at last
    deliver()

    # THEN it asks the processor nothing: the customer's card is never held
    assert shop.processor.calls == []
    assert shop.store.get("payments", order_id) is None
    assert shop.faults() == []


def test_the_card_of_an_order_cancelled_before_payment_esg_asked_anything_is_forgotten(
    shop: Customer,
) -> None:
    # GIVEN an order paid with a card named at checkout, cancelled before payment-esg got to it
    shop.sign_up()
    deliver = hold_submissions(shop)
    order_id = checkout_with_card(shop, "pm_card_amex")
    assert shop.doc("orders", order_id)["paymentMethod"] == "pm_card_amex"
    assert give_up(shop.store, order_id, "customer", shop.clock.now_ms())
    shop.system.run_until_quiet()

    # WHEN payment-esg gets to the order, and the submission is delivered again
    deliver()
    [submitted] = shop.events("order-submitted")
    shop.send("customer", submitted)

    # THEN nothing was asked, and the card token is kept nowhere
    assert shop.processor.calls == []
    assert shop.doc("orders", order_id)["paymentMethod"] is None
    assert "pm_card_amex" not in str(shop.store.snapshot())
    assert shop.faults() == []


def test_a_delivery_that_read_the_order_before_it_was_cancelled_asks_with_its_card(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN payment-esg reads the order while it is pending, and just after, checkout cancels
    # it and a concurrent delivery of the submission finds it cancelled and forgets its card
    shop.sign_up()
    deliver = hold_submissions(shop)
    order_id = checkout_with_card(shop, "pm_card_amex")
    get = shop.store.get

    def cancelled_just_after_the_read(collection: str, key: str) -> Any:
        found = get(collection, key)
        if collection == "orders" and key == order_id:
            monkeypatch.setattr(shop.store, "get", get)
            assert give_up(shop.store, order_id, "customer", shop.clock.now_ms())
            forget_card(shop.store, order_id)
        return found

    monkeypatch.setattr(shop.store, "get", cancelled_just_after_the_read)

    # WHEN payment-esg goes on with what it read
    deliver()

    # THEN it asks with the card the order named (never the account's saved one), and voids
    # the authorization, as the order is cancelled
    [call] = authorize_calls(shop)
    assert call["body"]["paymentMethod"] == "pm_card_amex"
    assert shop.processor.authorizations["auth-1"]["status"] == "voided"
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    assert "pm_card_amex" not in str(shop.store.snapshot())


def test_every_event_of_a_voided_late_authorization_delivered_again_changes_nothing(
    shop: Customer,
) -> None:
    shop.processor.down_until = START + 15 * MINUTE
    shop.tick_while_waiting()
    order_id = shop.place_order()
    calls = list(shop.processor.calls)

    for message in list(shop.messages[Topic.BUS]):  # Pub/Sub delivers each one again
        shop.system.hub.publish("customer", Topic.BUS, [message])
    shop.system.run_until_quiet()

    assert shop.processor.calls == calls
    assert shop.processor.authorizations["auth-1"]["status"] == "voided"
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    assert shop.events("order-placed") == []
    assert shop.messages[Topic.EXTERNAL] == []
    assert shop.faults() == []


def test_an_authorization_resubmitted_after_the_order_was_cancelled_is_voided(
    shop: Customer,
) -> None:
    # GIVEN the processor is down for longer than payment-esg tries (about 16 hours): the order
    # is cancelled at the deadline, and its authorization becomes a fault
    shop.processor.down_until = START + 24 * 60 * MINUTE
    shop.tick_while_waiting()
    order_id = shop.place_order()
    assert shop.doc("orders", order_id)["reason"] == "payment-timeout"
    [fault] = shop.store.query("faults")
    assert shop.processor.authorizations == {}

    # WHEN the processor is back and a person resubmits the fault
    shop.clock.advance_to(shop.processor.down_until)
    resubmit(shop.store, shop.system.hub.publisher("customer"), fault.key)
    shop.system.run_until_quiet()

    # THEN the authorization it gets is voided at once, and the order stays cancelled
    assert shop.processor.authorizations["auth-1"]["status"] == "voided"
    assert shop.processor.paths("/void") == ["/v1/authorizations/auth-1/void"]
    assert payment(shop, order_id)["status"] == "voided"
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    assert shop.events("order-placed") == []


def test_an_order_cancelled_just_after_it_was_authorized_is_voided(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN payment-esg finds the order still pending once it is authorized, and the customer's
    # cancellation reaches checkout just after, before the authorization does
    check = egress._cancelled_at_checkout

    def cancelled_just_after_the_check(store: AbstractDocumentStore, order_id: str) -> bool:
        seen = check(store, order_id)
        give_up(store, order_id, "customer", shop.clock.now_ms())
        return seen

    monkeypatch.setattr(egress, "_cancelled_at_checkout", cancelled_just_after_the_check)

    # WHEN the order is checked out
    order_id = shop.place_order()

    # THEN it stays cancelled, and its authorization is voided once checkout announces that
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    assert len(shop.events("payment-authorized")) == 1
    assert shop.processor.paths("/void") == ["/v1/authorizations/auth-1/void"]
    assert payment(shop, order_id)["status"] == "voided"
    assert shop.events("order-placed") == []


def test_delivery_captures_the_payment_exactly_once(shop: Customer) -> None:
    order_id = shop.place_order()

    delivered = shop.order_status(order_id, "delivered")
    shop.send("order", delivered)
    shop.order_status(order_id, "delivered")

    assert shop.processor.paths("/capture") == ["/v1/authorizations/auth-1/capture"]
    assert shop.processor.calls[-1]["key"] == f"{order_id}:capture"
    assert payment(shop, order_id)["status"] == "captured"
    captured = shop.events("payment-captured")
    assert captured[0].body == {
        "orderId": order_id,
        "authorizationId": "auth-1",
        "amount": 2550,
        "currency": "EUR",
        "status": "captured",
    }
    # one capture, one event id, whichever of Order's announcements of the delivery led to it
    assert len({e.id for e in captured}) == 1


def test_a_cancelled_order_is_voided(shop: Customer) -> None:
    order_id = shop.place_order()

    shop.order_status(order_id, "cancelled", reason="rejected", detail="out of dough")

    assert shop.processor.paths("/void") == ["/v1/authorizations/auth-1/void"]
    assert shop.processor.calls[-1]["key"] == f"{order_id}:void"
    assert payment(shop, order_id)["status"] == "voided"
    [voided] = shop.events("payment-voided")
    assert voided.body["status"] == "voided"


def test_a_captured_payment_is_refunded_on_cancellation(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.order_status(order_id, "delivered")

    shop.order_status(order_id, "cancelled", reason="no-driver")

    assert shop.processor.paths("/refund") == ["/v1/authorizations/auth-1/refund"]
    assert shop.processor.paths("/void") == []
    assert payment(shop, order_id)["status"] == "refunded"
    assert [e.body["status"] for e in shop.events("payment-refunded")] == ["refunded"]


def test_statuses_on_the_way_touch_no_money(shop: Customer) -> None:
    order_id = shop.place_order()

    for status in ("placed", "accepted", "ready", "picked-up"):
        shop.order_status(order_id, status)

    assert len(shop.processor.calls) == 1
    assert payment(shop, order_id)["status"] == "authorized"


def test_a_declined_payment_has_nothing_to_void(shop: Customer) -> None:
    order_id = shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})

    shop.order_status(order_id, "cancelled", reason="rejected")

    assert shop.processor.paths("/void") == []
    assert shop.events("payment-voided") == []


def test_an_outage_of_the_processor_is_retried(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.processor.failures = 2

    shop.order_status(order_id, "delivered")

    assert shop.processor.failures == 0
    assert shop.processor.paths("/capture") == ["/v1/authorizations/auth-1/capture"]
    assert payment(shop, order_id)["status"] == "captured"
    assert shop.faults() == []


def test_an_outage_of_an_hour_delays_the_capture_but_loses_nothing(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.processor.failures = 15  # the first 15 attempts, about 90 minutes, answer 503

    shop.order_status(order_id, "delivered")

    assert shop.processor.failures == 0
    assert payment(shop, order_id)["status"] == "captured"
    assert shop.faults() == []


def test_a_refusal_by_the_processor_becomes_a_fault(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.processor.authorizations["auth-1"]["status"] = "voided"

    shop.order_status(order_id, "delivered")

    [fault] = shop.faults()
    assert fault["function"] == "customer/payment-esg/processor"
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert "409" in fault["error"]["message"]
    assert payment(shop, order_id)["status"] == "capture-failed"
    assert payment(shop, order_id)["reason"] == "authorization_voided"
    assert shop.events("payment-captured") == []


def test_an_order_that_was_never_paid_becomes_a_fault(shop: Customer) -> None:
    shop.order_status("o-unknown", "delivered")

    [fault] = shop.faults()
    assert "o-unknown" in fault["error"]["message"]
    assert shop.processor.calls == []


@pytest.mark.parametrize("order_status", ["delivered", "cancelled"])
def test_an_order_whose_id_cannot_name_a_payment_is_a_fault_that_says_so(
    shop: Customer, order_status: str
) -> None:
    # GIVEN Order tells of an order whose id no payment can be stored under (Firestore ids
    # hold no "/"): checkout never made it, so it was never paid
    shop.order_status("a/b", order_status)

    # THEN a fault says so in payment-esg's words, not the store's
    [fault] = [f for f in shop.faults() if f["function"] == "customer/payment-esg/processor"]
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert fault["error"]["message"] == (
        f"order 'a/b' is {order_status} but was never paid: its id cannot name a payment "
        "(it contains '/')"
    )
    assert shop.processor.calls == []


def adapter(customer: Customer, key: str = PAYMENTS_KEY) -> HttpPaymentProcessor:
    session = http_session({PAYMENTS_URL: WsgiTransport(customer.processor.app)})
    return HttpPaymentProcessor(
        session, PAYMENTS_URL + "/", Secret.given("PAYMENT_PROCESSOR_KEY", key)
    )


def authorize(
    processor: HttpPaymentProcessor, order_id: str = "o-1", card: str = "pm_card_visa"
) -> Authorized | Declined:
    return processor.authorize(
        reference=order_id,
        amount=100,
        currency="EUR",
        payment_method=card,
        idempotency_key=f"{order_id}:authorize",
    )


def test_the_adapter_reads_the_processors_answers(customer: Customer) -> None:
    assert authorize(adapter(customer)) == Authorized("auth-1", START)
    customer.clock.advance(MINUTE)
    assert authorize(adapter(customer), "o-1") == Authorized("auth-1", START)  # replayed
    assert authorize(adapter(customer), "o-2", DECLINED_CARD) == Declined("card_declined")


@pytest.mark.parametrize(
    "stamp",
    [
        None,
        "yesterday",
        "2026-01-01T00:00:00",
        1767225600,
        "1969-12-31T23:59:59Z",  # no event time is negative (order-placed's placedAt)
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-14:00",  # past the latest time the system keeps
    ],
)
def test_the_adapter_leaves_the_time_to_the_caller_when_the_processor_does_not_say_it(
    customer: Customer, stamp: object
) -> None:
    customer.processor.stamps = stamp is not None
    customer.processor.failures = 1
    customer.processor.failure = ({"id": "auth-9", "authorizedAt": stamp}, 201)
    assert authorize(adapter(customer)) == Authorized("auth-9", None)


def test_a_payment_is_authorized_when_the_processor_says_not_when_its_answer_arrives(
    shop: Customer,
) -> None:
    # GIVEN the processor authorizes at checkout, but its answer is lost on the way back
    shop.processor.lost_answers = 1

    # WHEN payment-esg asks again after its backoff, and gets the first answer replayed
    order_id = shop.place_order()

    # THEN the payment and the order keep the processor's time, not the retry's
    assert shop.clock.now_ms() > START
    assert payment(shop, order_id)["authorizedAt"] == START
    [authorized] = shop.events("payment-authorized")
    assert authorized.body["authorizedAt"] == START
    assert shop.doc("orders", order_id)["placedAt"] == START


def test_a_processor_that_does_not_say_when_leaves_the_time_of_the_answer(
    shop: Customer,
) -> None:
    shop.processor.stamps = False
    shop.processor.lost_answers = 1
    order_id = shop.place_order()
    assert payment(shop, order_id)["authorizedAt"] == shop.clock.now_ms() > START


def test_the_adapter_declines_an_authorization_the_processor_will_never_accept(
    customer: Customer,
) -> None:
    customer.processor.failures = 1
    customer.processor.failure = ({"error": "too little", "code": "amount_too_small"}, 422)
    assert authorize(adapter(customer)) == Declined("amount_too_small", refusal="422 too little")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, "unknown API key"),
        (403, "unknown API key"),
        (404, "no such path"),  # our processor URL is wrong
        (405, "method not allowed"),
    ],
)
def test_our_own_credentials_or_url_refused_are_a_fault_never_a_decline(
    customer: Customer, status: int, error: str
) -> None:
    customer.processor.failures = 1
    customer.processor.failure = ({"error": error}, status)
    with pytest.raises(BusinessRuleViolation, match=f"{status} {error}"):
        authorize(adapter(customer))


def test_a_wrong_api_key_leaves_the_order_to_its_deadline_and_records_a_fault(
    shop: Customer,
) -> None:
    shop.processor.failures = 1
    shop.processor.failure = ({"error": "unknown API key"}, 401)
    order_id = shop.place_order()
    [fault] = shop.faults()
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert shop.events("payment-declined") == []
    assert shop.doc("orders", order_id)["status"] == "pending-payment"


@pytest.mark.parametrize("status", [503, 408, 429])
def test_the_adapter_tells_an_outage_from_a_refusal(customer: Customer, status: int) -> None:
    customer.processor.failures = 2
    customer.processor.failure = ({"error": "try again later"}, status)

    with pytest.raises(ProcessorUnavailable, match=str(status)):
        authorize(adapter(customer))
    with pytest.raises(ProcessorUnavailable, match=str(status)):
        adapter(customer).settle("auth-9", "capture", idempotency_key="o-9:capture")
    with pytest.raises(BusinessRuleViolation, match="409"):
        adapter(customer).settle("auth-9", "capture", idempotency_key="o-9:capture")


def test_a_settlement_answered_key_in_use_is_retried_and_a_wrong_state_is_a_fault(
    customer: Customer,
) -> None:
    customer.processor.failures = 1
    customer.processor.failure = (
        {"error": "a request with this key is in progress", "code": "idempotency_key_in_use"},
        409,
    )

    with pytest.raises(ProcessorUnavailable, match="still working to capture authorization"):
        adapter(customer).settle("auth-9", "capture", idempotency_key="o-9:capture")

    customer.processor.failures = 1
    customer.processor.failure = ({"error": "cannot capture", "code": "invalid_state"}, 409)
    with pytest.raises(BusinessRuleViolation, match="409 cannot capture"):
        adapter(customer).settle("auth-9", "capture", idempotency_key="o-9:capture")


@pytest.mark.parametrize("body", [{"status": "authorized"}, {"id": ""}, {"id": 7}, ["auth-1"]])
def test_an_authorization_answered_without_its_id_is_asked_again_not_a_crash(
    customer: Customer, body: object
) -> None:
    customer.processor.failures = 1
    customer.processor.failure = (body, 201)

    with pytest.raises(ProcessorUnavailable, match="201 but no authorization id"):
        authorize(adapter(customer))
    assert isinstance(authorize(adapter(customer)), Authorized)


def test_a_409_to_an_authorization_is_a_key_still_in_use_not_a_decline(
    customer: Customer,
) -> None:
    customer.processor.failures = 1
    customer.processor.failure = ({"error": "a request with this key is in progress"}, 409)

    with pytest.raises(ProcessorUnavailable, match="still authorizing o-1"):
        authorize(adapter(customer))


def test_no_event_ever_carries_a_card_token(shop: Customer) -> None:
    order_id = shop.place_order()
    shop.order_status(order_id, "delivered")
    explicit = checkout_with_card(shop, "pm_card_amex")

    published = [m.data for topic in shop.messages.values() for m in topic]
    assert published and not any(b"pm_card" in data for data in published)
    assert payment(shop, explicit)["status"] == "authorized"
    authorizations = [c for c in shop.processor.calls if c["path"] == "/v1/authorizations"]
    assert [c["body"]["paymentMethod"] for c in authorizations] == ["pm_card_visa", "pm_card_amex"]


def test_an_order_naming_no_card_whose_saved_card_is_gone_is_declined(shop: Customer) -> None:
    # GIVEN an order that names no card (checked out before checkout fixed the saved card on
    # the order; checkout now refuses one without a card), and the saved card then removed
    shop.sign_up()
    shop.fill_cart()
    response = shop.client("checkout-bff").post("/checkout", json={}, headers=shop.headers())
    assert response.status_code == 201, response.get_json()
    order_id = response.get_json()["orderId"]
    shop.store.update("orders", order_id, lambda order: {**order, "paymentMethod": None})
    shop.client("account-bff").delete("/me/payment-method", headers=shop.headers())
    shop.system.run_until_quiet()

    assert payment(shop, order_id)["reason"] == "no_payment_method"
    assert shop.doc("orders", order_id)["status"] == "payment-declined"
    assert shop.processor.calls == []


def after_the_first_authorize_call(shop: Customer, action: Callable[[], None]) -> None:
    """Run ``action`` once, just after the delivery in which payment-esg first asked the
    processor to authorize (before the redelivery that follows a lost answer)."""
    done: list[bool] = []

    def observe(_subscription: str, _seconds: float) -> None:
        if not done and authorize_calls(shop):
            done.append(True)
            action()

    shop.system.hub.delivery_observers.append(observe)


def checkout(shop: Customer) -> str:
    response = shop.call("checkout-bff", "POST", "/checkout", {})
    assert response.status_code == 201, response.get_json()
    order_id: str = response.get_json()["orderId"]
    return order_id


@pytest.mark.parametrize("change", ["removed", "replaced"])
def test_a_retry_after_a_lost_answer_asks_with_the_card_first_asked_with(
    shop: Customer, change: str
) -> None:
    # GIVEN the processor authorizes the saved card, but its answer is lost, and the customer
    # removes or replaces the saved card before payment-esg asks again
    shop.sign_up()
    shop.fill_cart()
    shop.processor.lost_answers = 1
    account = shop.client("account-bff")

    def change_the_card() -> None:
        if change == "removed":
            account.delete("/me/payment-method", headers=shop.headers())
        else:
            amex = {"token": "pm_card_amex", "brand": "amex", "last4": "0005"}
            account.put("/me/payment-method", json=amex, headers=shop.headers())

    after_the_first_authorize_call(shop, change_the_card)

    # WHEN the customer checks out
    order_id = checkout(shop)

    # THEN the retry repeats the first request (key and card), so the authorization made is
    # the order's: placed, nothing left held for a declined order
    first, retry = authorize_calls(shop)
    assert retry == first
    assert first["body"]["paymentMethod"] == "pm_card_visa"
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert payment(shop, order_id)["authorizationId"] == "auth-1"
    assert shop.events("payment-declined") == []
    # and the attempt forgets the card once the answer is stored, keeping when it first asked
    assert shop.doc("payment-attempts", order_id) == {"orderId": order_id, "askedAt": START}


def test_a_key_still_in_use_at_the_processor_is_asked_again_later(shop: Customer) -> None:
    # GIVEN the first answer is lost, and the processor answers the retry 409: a request
    # with the key is still running there (as Stripe-like processors do)
    shop.sign_up()
    shop.fill_cart()
    shop.processor.lost_answers = 1

    def key_in_use() -> None:
        shop.processor.failures = 1
        shop.processor.failure = ({"error": "a request with this key is in progress"}, 409)

    after_the_first_authorize_call(shop, key_in_use)

    order_id = checkout(shop)

    assert shop.processor.failures == 0
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert [a["status"] for a in shop.processor.authorizations.values()] == ["authorized"]
    assert shop.events("payment-declined") == []


def test_an_authorization_unlike_the_one_a_concurrent_delivery_stored_is_a_fault(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a concurrent delivery of the same submission stored a decline first
    create = shop.store.create

    def concurrent_delivery_first(collection: str, key: str, data: dict[str, Any]) -> bool:
        if collection == "payments":
            declined = {**data, "authorizationId": None, "status": "declined", "reason": "x"}
            assert create(
                collection, key, {k: v for k, v in declined.items() if k != "authorizedAt"}
            )
        return create(collection, key, data)

    monkeypatch.setattr(shop.store, "create", concurrent_delivery_first)

    # WHEN this delivery's authorization comes back
    order_id = shop.place_order()

    # THEN it announces nothing of its own: a person voids the authorization it got
    assert payment(shop, order_id)["status"] == "declined"
    assert shop.events("payment-authorized") == shop.events("order-placed") == []
    [fault] = shop.faults()
    assert "void auth-1 by hand" in fault["error"]["message"]


@pytest.mark.parametrize("settled", ["declined", "voided", "refunded"])
def test_a_delivered_order_whose_payment_cannot_be_captured_is_a_fault(
    shop: Customer, settled: str
) -> None:
    order_id = shop.place_order()
    shop.store.update("payments", order_id, lambda p: {**p, "status": settled} if p else None)

    shop.order_status(order_id, "delivered")

    [fault] = shop.faults()
    assert f"delivered, but its payment is {settled}" in fault["error"]["message"]
    assert shop.processor.paths("/capture") == []


def checkout_with_card(shop: Customer, token: str) -> str:
    shop.fill_cart()
    response = shop.call("checkout-bff", "POST", "/checkout", {"paymentMethod": token})
    assert response.status_code == 201, response.get_json()
    order_id: str = response.get_json()["orderId"]
    return order_id


def real_fake_adapter() -> HttpPaymentProcessor:
    """The adapter in front of the fake processor of the dev stack and e2e tests."""
    app = payment_processor.create_app(PAYMENTS_KEY)
    session = http_session({PAYMENTS_URL: WsgiTransport(app)})
    return HttpPaymentProcessor(
        session, PAYMENTS_URL, Secret.given("PAYMENT_PROCESSOR_KEY", PAYMENTS_KEY)
    )


def test_a_key_reused_with_another_request_is_a_fault_never_a_decline() -> None:
    # GIVEN the processor authorized a first request under the order's key (the real fake:
    # it answers a key reused with another request 422, as processors do)
    processor = real_fake_adapter()
    assert isinstance(authorize(processor, "o-1", "pm_card_visa"), Authorized)

    # WHEN the key is sent again with another card, THEN it is no decline: the money the first
    # request holds is for a person to find
    with pytest.raises(BusinessRuleViolation, match="o-1:authorize was first used"):
        authorize(processor, "o-1", "pm_card_amex")


AMEX = {"token": "pm_card_amex", "brand": "amex", "last4": "0005"}


def as_before_attempts_kept_their_card(shop: Customer) -> None:
    """Make the one order's attempt one noted before attempts kept their card and time (the
    order naming no card), and replace the saved card with an Amex."""
    [order] = shop.store.query("orders")
    shop.store.update("orders", order.key, lambda o: {**o, "paymentMethod": None} if o else o)
    shop.store.update("payment-attempts", order.key, lambda _: {"orderId": order.key})
    shop.client("account-bff").put("/me/payment-method", json=AMEX, headers=shop.headers())


def test_a_retry_of_an_attempt_noted_before_attempts_kept_their_time_adopts_what_it_finds(
    shop: Customer,
) -> None:
    # GIVEN the processor authorizes an order (its attempt noted before attempts kept their
    # card and time, the order naming none), its answer is lost, and the saved card is replaced
    shop.sign_up()
    shop.fill_cart()
    shop.processor.lost_answers = 1
    after_the_first_authorize_call(shop, lambda: as_before_attempts_kept_their_card(shop))

    # WHEN payment-esg tries again, not knowing whether the processor still keeps the key
    order_id = checkout(shop)

    # THEN it finds the authorization the first request made by the order's reference and
    # adopts it: never asked again with the other card, nothing left held, no fault
    assert [c["body"]["paymentMethod"] for c in authorize_calls(shop)] == ["pm_card_visa"]
    assert payment(shop, order_id)["authorizationId"] == "auth-1"
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert shop.events("payment-declined") == []
    assert shop.faults() == []


@pytest.mark.parametrize("released", ["voided", "refunded", "expired", "canceled"])
def test_an_authorization_found_released_declines_an_order_still_pending(
    shop: Customer, released: str
) -> None:
    # GIVEN the processor authorized an order (its attempt noted before attempts kept their
    # card and time), its answer was lost, and the authorization was released meanwhile (by
    # a person, or by the processor, which lets one neither captured nor voided expire;
    # Stripe calls either ``canceled``)
    shop.sign_up()
    shop.fill_cart()
    shop.processor.lost_answers = 1

    def released_by_hand() -> None:
        as_before_attempts_kept_their_card(shop)
        shop.processor.authorizations["auth-1"]["status"] = released

    after_the_first_authorize_call(shop, released_by_hand)

    # WHEN payment-esg tries again while the order still awaits its payment, and its
    # submission is delivered again afterwards
    order_id = checkout(shop)
    [submitted] = shop.events("order-submitted")
    shop.send("customer", submitted)

    # THEN it adopts what it finds, but holds no money with it: the order is declined, never
    # placed (to be delivered unpaid), and nothing is authorized anew; the decline is told
    # again as the same event
    assert len(authorize_calls(shop)) == 1
    assert payment(shop, order_id)["status"] == released
    assert payment(shop, order_id)["declined"] is True
    assert shop.events("payment-authorized") == shop.events("order-placed") == []
    declined = shop.events("payment-declined")
    assert len({e.id for e in declined}) == 1
    assert declined[0].body == {"orderId": order_id, "reason": f"authorization_{released}"}
    assert shop.doc("orders", order_id)["status"] == "payment-declined"
    assert shop.faults() == []


@pytest.mark.parametrize("status", ["requires_action", "failed"])
def test_an_authorization_found_that_never_held_the_money_declines_the_order(
    shop: Customer, status: str
) -> None:
    # GIVEN the processor's answer to an order's authorization was lost (its attempt noted
    # before attempts kept their card and time), and what the request made holds nothing: it
    # waits for a step of the customer's this flow has none of (3-D Secure), or it failed
    shop.sign_up()
    shop.fill_cart()
    shop.processor.lost_answers = 1

    def never_held() -> None:
        as_before_attempts_kept_their_card(shop)
        shop.processor.authorizations["auth-1"]["status"] = status

    after_the_first_authorize_call(shop, never_held)

    # WHEN payment-esg tries again and finds it by the order's reference
    order_id = checkout(shop)

    # THEN the order is declined for it, as the processor's first answer in that status
    # declines it: no fault, nothing authorized anew, never placed
    assert len(authorize_calls(shop)) == 1
    assert payment(shop, order_id)["status"] == "declined"
    [declined] = shop.events("payment-declined")
    assert declined.body == {"orderId": order_id, "reason": f"authorization_{status}"}
    assert shop.doc("orders", order_id)["status"] == "payment-declined"
    assert shop.events("payment-authorized") == []
    assert shop.faults() == []


def test_an_authorization_found_holding_the_money_is_adopted_before_one_that_never_did(
    shop: Customer,
) -> None:
    # GIVEN the first request's authorization waits for the customer, and a person made
    # another one for the order (by its reference), captured at once
    shop.sign_up()
    shop.fill_cart()
    shop.processor.lost_answers = 1

    def another_captured() -> None:
        as_before_attempts_kept_their_card(shop)
        first = shop.processor.authorizations["auth-1"]
        first["status"] = "requires_action"
        shop.processor.authorizations["auth-2"] = {**first, "id": "auth-2", "status": "captured"}

    after_the_first_authorize_call(shop, another_captured)

    # WHEN payment-esg tries again and finds both by the order's reference
    order_id = checkout(shop)

    # THEN it pays with the one that holds the money, never declining an order paid for
    assert (payment(shop, order_id)["authorizationId"], payment(shop, order_id)["status"]) == (
        "auth-2",
        "captured",
    )
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert shop.events("payment-declined") == []
    assert shop.faults() == []


@pytest.mark.parametrize(
    ("order_status", "settled", "event"),
    [("delivered", "captured", "payment-captured"), ("cancelled", "voided", "payment-voided")],
)
def test_a_settlement_the_processor_made_already_is_done_not_a_fault(
    shop: Customer, order_status: str, settled: str, event: str
) -> None:
    # GIVEN the processor settled the authorization already, but neither its answer nor a
    # replay of it comes back (processors keep idempotency keys about a day): a settlement
    # asked again gets 409, the authorization being in another state than it needs
    order_id = shop.place_order()
    shop.processor.authorizations["auth-1"]["status"] = settled

    shop.order_status(order_id, order_status)

    # THEN the settlement is done: stored and announced, not a fault for a person
    assert payment(shop, order_id)["status"] == settled
    assert [e.body["status"] for e in shop.events(event)] == [settled]
    assert shop.faults() == []


def test_the_adapter_takes_a_409_to_a_settlement_made_already_as_done() -> None:
    processor = real_fake_adapter()
    authorized = authorize(processor)
    assert isinstance(authorized, Authorized)
    auth_id = authorized.authorization_id
    processor.settle(auth_id, "capture", idempotency_key="first-capture")

    processor.settle(auth_id, "capture", idempotency_key="o-1:capture")  # 409, captured

    with pytest.raises(BusinessRuleViolation, match="409 cannot void a captured"):
        processor.settle(auth_id, "void", idempotency_key="o-1:void")
    with pytest.raises(BusinessRuleViolation, match="404"):
        processor.settle("auth-unknown", "void", idempotency_key="o-2:void")


def test_a_redirect_is_our_processor_url_being_wrong_never_a_settlement_done() -> None:
    # GIVEN a processor URL that redirects (say http:// to https://) to where a GET answers 200
    elsewhere = flask.Flask("redirecting")

    @elsewhere.post("/v1/authorizations")
    def authorizations() -> ResponseReturnValue:
        return flask.redirect("/moved/authorizations", 301)

    @elsewhere.post("/v1/authorizations/<path:rest>")
    def settlements(rest: str) -> ResponseReturnValue:
        return flask.redirect(f"/moved/{rest}", 302)

    @elsewhere.get("/moved/<path:rest>")
    def moved(rest: str) -> ResponseReturnValue:
        return {"id": "auth-moved", "status": "ok"}

    with serve(elsewhere) as server:
        processor = HttpPaymentProcessor(
            http_session(), server.url, Secret.given("PAYMENT_PROCESSOR_KEY", PAYMENTS_KEY)
        )
        # THEN neither a capture nor an authorization passes for done: a fault names the URL
        with pytest.raises(BusinessRuleViolation, match="302 to /moved/auth-1/capture"):
            processor.settle("auth-1", "capture", idempotency_key="o-1:capture")
        with pytest.raises(BusinessRuleViolation, match="301 to /moved/authorizations"):
            authorize(processor)


@pytest.mark.parametrize(
    "unseen",
    [("payments",), ("payments", "payment-attempts")],
    ids=["attempt-read-after", "attempt-read-before"],
)
def test_a_delivery_that_a_concurrent_one_answered_meanwhile_takes_its_answer(
    shop: Customer, monkeypatch: pytest.MonkeyPatch, unseen: tuple[str, ...]
) -> None:
    # GIVEN an order paid with a card named at checkout (the saved card is another), authorized
    shop.sign_up()
    order_id = checkout_with_card(shop, "pm_card_amex")
    assert payment(shop, order_id)["status"] == "authorized"
    assert shop.doc("orders", order_id)["paymentMethod"] is None  # forgotten once placed

    # WHEN a second delivery of the submission read the payment (and the attempt) before the
    # first stored them, and the rest after the first forgot the cards
    get = shop.store.get
    stale = {(collection, order_id) for collection in unseen}

    def read_before_the_first_delivery_stored(collection: str, key: str) -> Any:
        if (collection, key) in stale:
            stale.remove((collection, key))
            return None
        return get(collection, key)

    monkeypatch.setattr(shop.store, "get", read_before_the_first_delivery_stored)
    [submitted] = shop.events("order-submitted")
    shop.send("customer", submitted)

    # THEN it takes the answer stored, asking nothing (never the saved card under the key)
    assert [c["body"]["paymentMethod"] for c in authorize_calls(shop)] == ["pm_card_amex"]
    assert shop.faults() == []
    assert shop.events("payment-declined") == []
    assert len({e.id for e in shop.events("payment-authorized")}) == 1


def with_a_card_forgotten_before_attempts_kept_it(shop: Customer, card: str) -> None:
    """Sign up with ``card`` and fill the cart; the first authorization's answer is lost, and
    then its attempt is one noted before attempts kept their card (and time), the order names
    none, and the saved card is removed: a retry has no card to ask with."""
    shop.sign_up(card={"token": card, "brand": "visa", "last4": "4242"})
    shop.fill_cart()
    shop.processor.lost_answers = 1

    def as_before_attempts_kept_their_card() -> None:
        [order] = shop.store.query("orders")
        shop.store.update("orders", order.key, lambda o: {**o, "paymentMethod": None} if o else o)
        shop.store.update("payment-attempts", order.key, lambda _: {"orderId": order.key})
        shop.client("account-bff").delete("/me/payment-method", headers=shop.headers())

    after_the_first_authorize_call(shop, as_before_attempts_kept_their_card)


def test_a_retry_with_no_card_to_ask_with_adopts_what_it_finds_by_reference(
    shop: Customer,
) -> None:
    # GIVEN the processor authorized an order, its answer was lost, and a retry has no card
    # to ask with (its attempt noted before attempts kept their card and time)
    with_a_card_forgotten_before_attempts_kept_it(shop, "pm_card_visa")

    # WHEN payment-esg tries again
    order_id = checkout(shop)

    # THEN it looks the authorization up by the order's reference before giving up, and
    # adopts it: the order is placed with it, no fault, nothing asked again
    assert len(authorize_calls(shop)) == 1
    assert payment(shop, order_id)["authorizationId"] == "auth-1"
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert shop.faults() == []


def test_a_retry_with_no_card_that_finds_nothing_is_a_fault_never_a_decline(
    shop: Customer,
) -> None:
    # GIVEN the first request's answer was lost (it declined the card, so the processor holds
    # no authorization by the order's reference), and a retry has no card to ask with
    with_a_card_forgotten_before_attempts_kept_it(shop, DECLINED_CARD)

    # WHEN payment-esg tries again
    order_id = checkout(shop)

    # THEN the order is not declined while the first request may hold the money: a fault
    assert len(authorize_calls(shop)) == 1
    assert shop.events("payment-declined") == []
    assert shop.doc("orders", order_id)["status"] == "pending-payment"
    [fault] = shop.faults()
    assert "(none found just now), if any, and void it by hand" in fault["error"]["message"]


def test_a_retry_refused_for_its_reused_key_leaves_the_order_undeclined(shop: Customer) -> None:
    # GIVEN the processor declines an order's first card (its attempt noted before attempts
    # kept their card and time, the order naming none), its answer is lost, and the saved
    # card is replaced: a look-up by reference finds no authorization
    shop.sign_up(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})
    shop.fill_cart()
    shop.processor.lost_answers = 1
    after_the_first_authorize_call(shop, lambda: as_before_attempts_kept_their_card(shop))

    # WHEN payment-esg asks again, with the saved card now, and the processor refuses the key
    order_id = checkout(shop)
    first, retry = authorize_calls(shop)
    assert (first["body"]["paymentMethod"], retry["body"]["paymentMethod"]) == (
        DECLINED_CARD,
        "pm_card_amex",
    )

    # THEN the order is not declined for it: a fault tells a person to look at the first request
    assert shop.events("payment-declined") == []
    assert shop.store.get("payments", order_id) is None
    assert shop.doc("orders", order_id)["status"] == "pending-payment"
    [fault] = shop.faults()
    assert "void it by hand" in fault["error"]["message"]


# -- a retry later than the processor keeps idempotency keys (about a day) --------------

HOUR = 60 * MINUTE
BEARER = {"Authorization": f"Bearer {PAYMENTS_KEY}"}


def with_the_real_fake(shop: Customer, seen: list[str]) -> FlaskClient:
    """Put the dev stack's fake processor (keys kept a day, on the shop's clock) behind the
    shop's processor URL; ``seen`` collects ``METHOD path?query`` of each request to it."""
    app = payment_processor.create_app(PAYMENTS_KEY, now_s=lambda: shop.clock.now_ms() / 1000)

    def recorded(environ: dict[str, Any], start_response: Any) -> Any:
        query = environ.get("QUERY_STRING")
        seen.append(
            f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}{'?' if query else ''}{query or ''}"
        )
        return app.wsgi_app(environ, start_response)

    shop.processor.app.wsgi_app = recorded  # type: ignore[method-assign]
    return app.test_client()


def authorized_then_down(shop: Customer, fake: FlaskClient, seen: list[str]) -> str:
    """Check out: the processor authorizes, its answer is lost, and it is down from then on,
    so payment-esg gives up (a fault) and checkout cancels the order at its deadline; then
    it is back, unasked. Returns the order id."""
    assert fake.post("/_fake/fail-next", json={"count": 1, "after": True}).status_code == 200
    down: list[bool] = []

    def go_down(_subscription: str, _seconds: float) -> None:
        if not down and "POST /v1/authorizations" in seen:
            down.append(True)
            fake.post("/_fake/fail-next", json={"count": 1000})

    shop.system.hub.delivery_observers.append(go_down)
    shop.tick_while_waiting()
    order_id = shop.place_order()
    assert shop.doc("orders", order_id)["reason"] == "payment-timeout"
    assert shop.store.get("payments", order_id) is None
    assert fake.post("/_fake/fail-next", json={"count": 0}).status_code == 200
    return order_id


def resubmit_at(shop: Customer, at_ms: int) -> None:
    """The processor is back at ``at_ms``, and a person resubmits payment-esg's fault then."""
    [fault] = shop.store.query("faults")
    shop.clock.advance_to(at_ms)
    resubmit(shop.store, shop.system.hub.publisher("customer"), fault.key)
    shop.system.run_until_quiet()


def held_by(fake: FlaskClient, order_id: str) -> list[dict[str, Any]]:
    found = fake.get(f"/v1/authorizations?reference={order_id}", headers=BEARER).get_json()
    authorizations: list[dict[str, Any]] = found["authorizations"]
    return authorizations


@pytest.mark.parametrize("hours", [22, 25])
def test_a_retry_after_the_processor_may_have_forgotten_the_key_authorizes_once(
    shop: Customer, hours: int
) -> None:
    # GIVEN the processor authorized the order, but its answer was lost and it was down since
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    order_id = authorized_then_down(shop, fake, seen)
    [first] = held_by(fake, order_id)
    seen.clear()

    # WHEN the fault is resubmitted within the day the processor keeps the key, or after
    resubmit_at(shop, START + hours * HOUR)

    # THEN the authorization the first request made is the order's, voided as the order is
    # cancelled: never a second one left holding the customer's money
    [authorization] = held_by(fake, order_id)
    assert authorization["id"] == first["id"]
    assert authorization["status"] == "voided"
    assert payment(shop, order_id)["authorizationId"] == first["id"]
    assert payment(shop, order_id)["status"] == "voided"
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    # looked up by reference only once the key may be gone; asked again only while it is kept
    lookup = f"GET /v1/authorizations?reference={order_id}&limit=100"
    asked = [r for r in seen if r in (lookup, "POST /v1/authorizations")]
    assert asked == (["POST /v1/authorizations"] if hours == 22 else [lookup])


@pytest.mark.parametrize("after", [False, True], ids=["before-its-work", "after-its-work"])
def test_a_failure_the_processor_keeps_under_the_key_is_looked_up_then_asked_anew(
    shop: Customer, after: bool
) -> None:
    # GIVEN the processor fails the authorization on its side (before or after it authorized)
    # and, as Stripe does, keeps that 500 under the key and replays it to every retry
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    fake.post("/_fake/fail-inside", json={"count": 1, "after": after})

    # WHEN the customer checks out
    order_id = shop.place_order()

    # THEN payment-esg does not wait a day for the key to go: once the replay says the request
    # is over, it takes what that request made, found by reference, or, with nothing found,
    # asks anew under a new key; one authorization, the order placed within its deadline
    lookup = f"GET /v1/authorizations?reference={order_id}&limit=100"
    asked = [r for r in seen if r in (lookup, "POST /v1/authorizations")]
    first_two = ["POST /v1/authorizations"] * 2  # the first attempt, and its replay
    assert asked == first_two + ([lookup] if after else [lookup, "POST /v1/authorizations"])
    [authorization] = held_by(fake, order_id)
    key = f"{order_id}:authorize" if after else f"{order_id}:authorize:2"
    assert [op["idempotencyKey"] for op in authorization["operations"]] == [key]
    assert payment(shop, order_id)["authorizationId"] == authorization["id"]
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert shop.clock.now_ms() < START + 10 * MINUTE
    assert shop.faults() == []

    # AND the order's void, once cancelled, releases that one authorization
    shop.order_status(order_id, "cancelled", reason="rejected")
    assert [a["status"] for a in held_by(fake, order_id)] == ["voided"]


def test_a_new_key_after_a_kept_failure_is_kept_for_a_retry_after_a_lost_answer(
    shop: Customer,
) -> None:
    # GIVEN the processor keeps a 500 under the order's first key, and the answer to the
    # request under the new key is lost
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    fake.post("/_fake/fail-inside", json={"count": 1})
    lost: list[bool] = []

    def lose_the_new_keys_answer(_subscription: str, _seconds: float) -> None:
        if not lost and any(r.startswith("GET /v1/authorizations?") for r in seen):
            lost.append(True)
            fake.post("/_fake/fail-next", json={"count": 1, "after": True})

    shop.system.hub.delivery_observers.append(lose_the_new_keys_answer)

    # WHEN the customer checks out
    order_id = shop.place_order()

    # THEN the retry asks under the new key again, never a third: one authorization, placed
    assert lost
    assert seen.count("POST /v1/authorizations") == 4  # kept 500, its replay, lost, replayed
    [authorization] = held_by(fake, order_id)
    assert [op["idempotencyKey"] for op in authorization["operations"]] == [
        f"{order_id}:authorize:2"
    ]
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert shop.faults() == []


def test_a_settlement_whose_kept_failure_came_after_its_work_is_done(shop: Customer) -> None:
    # GIVEN an order paid, and a processor that captures, then fails on its side and keeps
    # that 500 under the capture's key
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    order_id = shop.place_order()
    fake.post("/_fake/fail-inside", json={"count": 1, "after": True})

    # WHEN the order is delivered
    shop.order_status(order_id, "delivered")

    # THEN the replayed 500 is read against the authorization: captured, so done at once
    [authorization] = held_by(fake, order_id)
    assert [op["kind"] for op in authorization["operations"]] == ["authorize", "capture"]
    assert len([r for r in seen if r.endswith("/capture")]) == 2
    assert payment(shop, order_id)["status"] == "captured"
    assert [e.body["status"] for e in shop.events("payment-captured")] == ["captured"]
    assert shop.faults() == []


@pytest.mark.parametrize(
    ("order_status", "settled"), [("delivered", "captured"), ("cancelled", "voided")]
)
def test_a_settlement_whose_kept_failure_did_nothing_is_asked_anew_under_a_new_key(
    shop: Customer, order_status: str, settled: str
) -> None:
    # GIVEN an order paid, and a processor that fails the settlement on its side before doing
    # anything, and keeps that 500 under the settlement's key
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    order_id = shop.place_order()
    fake.post("/_fake/fail-inside", json={"count": 1})

    # WHEN the order is delivered (or cancelled)
    shop.order_status(order_id, order_status)

    # THEN the replayed 500 is read against the authorization, still authorized, so the
    # settlement is asked anew under a new key at once: settled once, no fault for a person
    action = "capture" if order_status == "delivered" else "void"
    [authorization] = held_by(fake, order_id)
    assert [(op["kind"], op["idempotencyKey"]) for op in authorization["operations"]] == [
        ("authorize", f"{order_id}:authorize"),
        (action, f"{order_id}:{action}:2"),
    ]
    assert len([r for r in seen if r.endswith(f"/{action}")]) == 3  # failed, replayed, anew
    assert payment(shop, order_id)["status"] == settled
    assert len({e.id for e in shop.events(f"payment-{settled}")}) == 1
    assert shop.faults() == []


def test_a_settlement_whose_kept_failure_left_another_state_is_a_fault(shop: Customer) -> None:
    # GIVEN a capture the processor fails on its side, keeping the 500, and the authorization
    # is voided by hand meanwhile
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    order_id = shop.place_order()
    fake.post("/_fake/fail-inside", json={"count": 1})
    [first] = held_by(fake, order_id)

    voided: list[int] = []

    def voided_by_hand(_subscription: str, _seconds: float) -> None:
        if not voided and any(r.endswith("/capture") for r in seen):
            by_hand = {**BEARER, "Idempotency-Key": "by-hand"}
            voided.append(
                fake.post(f"/v1/authorizations/{first['id']}/void", headers=by_hand).status_code
            )

    shop.system.hub.delivery_observers.append(voided_by_hand)

    # WHEN the order is delivered
    shop.order_status(order_id, "delivered")

    # THEN nothing is asked anew: a person settles a delivered order its payment cannot pay
    assert voided == [200]
    [fault] = shop.faults()
    assert f"kept under idempotency key {order_id}:capture" in fault["error"]["message"]
    assert "it is voided: settle it by hand" in fault["error"]["message"]
    assert len([r for r in seen if r.endswith("/capture")]) == 2
    assert payment(shop, order_id)["status"] == "capture-failed"


def test_an_authorization_found_settled_is_adopted_never_made_again(shop: Customer) -> None:
    # GIVEN the first authorization's answer was lost, and a person voided it meanwhile
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    order_id = authorized_then_down(shop, fake, seen)
    [first] = held_by(fake, order_id)
    voided = fake.post(
        f"/v1/authorizations/{first['id']}/void", headers={**BEARER, "Idempotency-Key": "by-hand"}
    )
    assert voided.status_code == 200

    # WHEN the fault is resubmitted the next day
    resubmit_at(shop, START + 25 * HOUR)

    # THEN the payment takes it as it stands: nothing authorized anew, the void announced
    [authorization] = held_by(fake, order_id)
    assert authorization["status"] == "voided"
    assert [op["kind"] for op in authorization["operations"]] == ["authorize", "void"]
    assert payment(shop, order_id)["status"] == "voided"
    assert [e.body["authorizationId"] for e in shop.events("payment-voided")] == [first["id"]]
    assert shop.events("order-placed") == []


def test_the_adapter_finds_the_authorizations_of_a_reference() -> None:
    processor = real_fake_adapter()
    assert processor.find("o-1") == []
    first = authorize(processor, "o-1")
    authorize(processor, "o-2")
    assert isinstance(first, Authorized)
    processor.settle(first.authorization_id, "void", idempotency_key="o-1:void")

    assert processor.find("o-1") == [
        Authorization(first.authorization_id, "voided", first.authorized_at_ms, 100, "EUR")
    ]


@pytest.mark.parametrize(
    "answer",
    [
        ({"authorizations": [{"status": "authorized"}]}, 200),
        ({"items": []}, 200),
        ({}, 503),
        ({"authorizations": [], "hasMore": "yes"}, 200),
        ({"authorizations": [], "hasMore": True}, 200),
    ],
    ids=["entry-without-id", "no-list", "outage", "unreadable-has-more", "more-after-nothing"],
)
def test_a_look_up_the_adapter_cannot_read_is_asked_again_never_taken_for_none(
    answer: tuple[dict[str, Any], int],
) -> None:
    app = flask.Flask("processor")
    app.add_url_rule("/v1/authorizations", view_func=lambda: answer)
    session = http_session({PAYMENTS_URL: WsgiTransport(app)})
    processor = HttpPaymentProcessor(
        session, PAYMENTS_URL, Secret.given("PAYMENT_PROCESSOR_KEY", PAYMENTS_KEY)
    )

    with pytest.raises(ProcessorUnavailable):
        processor.find("o-1")


def test_the_adapter_reads_every_page_of_a_look_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the processor holds more authorizations by a reference than a page lists
    monkeypatch.setattr(processor_module, "FIND_PAGE_LIMIT", 5)
    processor = real_fake_adapter()
    made = []
    for n in range(12):
        outcome = processor.authorize(
            reference="o-1",
            amount=100,
            currency="EUR",
            payment_method="pm_card_visa",
            idempotency_key=f"by-hand-{n}",
        )
        assert isinstance(outcome, Authorized)
        made.append(outcome.authorization_id)

    # WHEN the adapter looks them up, THEN it finds them all, oldest first
    assert [a.authorization_id for a in processor.find("o-1")] == made


def test_a_look_up_reads_a_bounded_number_of_pages_never_a_part_for_the_whole() -> None:
    # GIVEN a processor whose pages never end
    asked: list[str | None] = []
    app = flask.Flask("processor")

    @app.get("/v1/authorizations")
    def endless() -> ResponseReturnValue:
        asked.append(flask.request.args.get("startingAfter"))
        entry = {"id": f"auth-{len(asked)}", "status": "voided"}
        return {"authorizations": [entry], "hasMore": True}

    session = http_session({PAYMENTS_URL: WsgiTransport(app)})
    processor = HttpPaymentProcessor(
        session, PAYMENTS_URL, Secret.given("PAYMENT_PROCESSOR_KEY", PAYMENTS_KEY)
    )

    # WHEN the adapter looks up by reference, THEN it follows the pages up to its bound, then
    # it is a fault: the one to adopt may be on a page it did not read
    with pytest.raises(BusinessRuleViolation, match="more than 1000 authorizations"):
        processor.find("o-1")
    assert asked == [None] + [f"auth-{n}" for n in range(1, FIND_MAX_PAGES)]


def test_a_look_up_refused_for_our_credentials_is_a_fault(customer: Customer) -> None:
    with pytest.raises(BusinessRuleViolation, match="401"):
        adapter(customer, key="sk_wrong").find("o-1")


def test_an_authorization_found_in_a_status_payments_do_not_know_is_a_fault(shop: Customer) -> None:
    # GIVEN the first request's answer is lost, its attempt's time is unknown (noted before
    # attempts kept it), and the processor has since moved the authorization to its own status
    shop.sign_up()
    shop.fill_cart()
    shop.processor.lost_answers = 1

    def disputed_and_untimed() -> None:
        [attempt] = shop.store.query("payment-attempts")
        shop.store.update("payment-attempts", attempt.key, lambda a: {**a, "askedAt": None})
        shop.processor.authorizations["auth-1"]["status"] = "disputed"

    after_the_first_authorize_call(shop, disputed_and_untimed)

    # WHEN payment-esg asks again
    order_id = checkout(shop)

    # THEN it neither authorizes anew nor guesses: a person settles it
    assert len(authorize_calls(shop)) == 1
    assert shop.store.get("payments", order_id) is None
    [fault] = shop.faults()
    assert "auth-1, is disputed: settle it by hand" in fault["error"]["message"]


@pytest.mark.parametrize(
    "held", [{"amount": 100}, {"currency": "GBP"}], ids=["another-amount", "another-currency"]
)
def test_an_authorization_found_for_another_amount_is_never_adopted(
    shop: Customer, held: dict[str, Any]
) -> None:
    # GIVEN the first request's answer is lost, a retry looks the authorization up by reference
    # (its attempt's time unknown), and what the processor holds by it is not the order's total
    shop.sign_up()
    shop.fill_cart()
    shop.processor.lost_answers = 1

    def another_amount() -> None:
        as_before_attempts_kept_their_card(shop)
        shop.processor.authorizations["auth-1"].update(held)

    after_the_first_authorize_call(shop, another_amount)

    # WHEN payment-esg asks again
    order_id = checkout(shop)

    # THEN it does not place the order on it (its capture would take another sum): a person
    # settles it, and nothing is authorized anew
    assert len(authorize_calls(shop)) == 1
    assert shop.store.get("payments", order_id) is None
    assert shop.events("payment-authorized") == []
    [fault] = shop.faults()
    assert "hold none of its 2550 EUR: settle them by hand" in fault["error"]["message"]


@pytest.mark.parametrize(
    "answer",
    [{"amount": 99, "currency": "EUR"}, {"amount": 100, "currency": "USD"}],
    ids=["another-amount", "another-currency"],
)
def test_an_authorization_answered_for_another_sum_is_a_fault(
    customer: Customer, answer: dict[str, Any]
) -> None:
    customer.processor.failures = 1
    customer.processor.failure = ({"id": "auth-9", **answer}, 201)

    with pytest.raises(BusinessRuleViolation, match=r"auth-9 of .*: void it by hand"):
        authorize(adapter(customer))


def test_an_authorization_found_captured_pays_for_the_order_it_is_adopted_by(
    shop: Customer,
) -> None:
    # GIVEN the first request's answer is lost, and a person captured its authorization before
    # payment-esg, not knowing when it first asked, looks it up by reference
    shop.sign_up()
    shop.fill_cart()
    shop.processor.lost_answers = 1

    def captured_by_hand() -> None:
        as_before_attempts_kept_their_card(shop)
        shop.processor.authorizations["auth-1"]["status"] = "captured"

    after_the_first_authorize_call(shop, captured_by_hand)
    order_id = checkout(shop)

    # THEN the money taken pays for the order: placed, and its delivery announces the capture
    # without capturing again
    assert shop.doc("orders", order_id)["status"] == "placed"
    shop.order_status(order_id, "delivered")
    assert shop.processor.paths("/capture") == []
    assert [e.body["status"] for e in shop.events("payment-captured")] == ["captured"]
    assert shop.faults() == []


@pytest.mark.parametrize("status", [400, 404])
def test_a_card_token_the_processor_quotes_is_never_logged_nor_kept_in_a_fault(
    shop: Customer, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    # GIVEN the processor refuses the authorization quoting the card token, as Stripe's "No
    # such PaymentMethod" does (a 400 declines the order, a 404 is our URL: a fault)
    shop.processor.failures = 1
    quoted = {"error": "No such PaymentMethod: 'pm_card_visa'", "code": "resource_missing"}
    shop.processor.failure = (quoted, status)

    # WHEN the customer checks out
    with caplog.at_level("INFO"):
        shop.place_order()

    # THEN what is logged and kept says what was refused, without the token
    assert "No such PaymentMethod: '[card token]'" in caplog.text
    assert "pm_card_visa" not in caplog.text
    assert "pm_card_visa" not in str(shop.store.query("faults"))


def test_an_order_cancelled_before_a_kept_failure_is_seen_is_never_asked_anew(
    shop: Customer,
) -> None:
    # GIVEN the processor fails the authorization on its side, making nothing, and keeps that
    # 500 under the key; the customer cancels before payment-esg asks again
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    fake.post("/_fake/fail-inside", json={"count": 1})
    cancelled: list[bool] = []

    def cancel(_subscription: str, _seconds: float) -> None:
        if not cancelled and "POST /v1/authorizations" in seen:
            [order] = shop.store.query("orders")
            cancelled.append(give_up(shop.store, order.key, "customer", shop.clock.now_ms()))

    shop.system.hub.delivery_observers.append(cancel)

    # WHEN payment-esg gets the kept failure replayed
    order_id = shop.place_order()

    # THEN it holds nothing on the customer's card: no new key, no authorization to void
    assert cancelled == [True]
    assert seen.count("POST /v1/authorizations") == 2  # the first attempt, and its replay
    assert held_by(fake, order_id) == []
    assert payment(shop, order_id)["status"] == "declined"
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    assert shop.doc("orders", order_id)["paymentMethod"] is None
    assert "paymentMethod" not in shop.doc("payment-attempts", order_id)
    assert shop.faults() == []


@pytest.mark.parametrize(
    ("answered", "outcome"),
    [
        ("authorized", Authorized("auth-9")),
        ("captured", Authorized("auth-9", status="captured")),
        (
            "requires_action",
            Declined(
                "authorization_requires_action",
                refusal="201 authorization auth-9 is requires_action",
            ),
        ),
        ("voided", Declined("authorization_voided", refusal="201 authorization auth-9 is voided")),
        (
            "expired",
            Declined("authorization_expired", refusal="201 authorization auth-9 is expired"),
        ),
    ],
)
def test_the_adapter_reads_where_the_money_stands_from_the_answer(
    customer: Customer, answered: str, outcome: Authorized | Declined
) -> None:
    customer.processor.failures = 1
    customer.processor.failure = ({"id": "auth-9", "status": answered}, 201)
    assert authorize(adapter(customer)) == outcome


@pytest.mark.parametrize("status", ["processing", ["captured"], 7])
def test_the_adapter_takes_an_authorization_in_a_status_it_cannot_tell_for_a_fault(
    customer: Customer, status: object
) -> None:
    customer.processor.failures = 1
    customer.processor.failure = ({"id": "auth-9", "status": status}, 201)
    with pytest.raises(BusinessRuleViolation, match=r"auth-9 in status .*, which it may"):
        authorize(adapter(customer))


def capturing_at_once(shop: Customer) -> None:
    """Make the shop's processor capture each authorization as it makes it and answer
    ``captured``, as an account set to capture automatically does."""
    authorize_view = shop.processor.app.view_functions["_authorize"]

    def captured() -> tuple[dict[str, Any], int]:
        answer, status = authorize_view()
        for made in shop.processor.authorizations.values():
            if made["status"] == "authorized":
                made["status"] = "captured"
        return ({**answer, "status": "captured"} if status == 201 else answer), status

    shop.processor.app.view_functions["_authorize"] = captured


def test_an_authorization_answered_captured_pays_for_the_order_captured_once(
    shop: Customer,
) -> None:
    # GIVEN a processor account that captures when it authorizes
    capturing_at_once(shop)

    # WHEN the customer checks out and the order is delivered
    order_id = shop.place_order()
    assert payment(shop, order_id)["status"] == "captured"
    assert shop.doc("orders", order_id)["status"] == "placed"
    shop.order_status(order_id, "delivered")

    # THEN the money taken at checkout pays for it: nothing captured again, the capture told
    assert shop.processor.paths("/capture") == []
    assert [e.body["status"] for e in shop.events("payment-captured")] == ["captured"]
    assert shop.faults() == []


def test_an_order_whose_payment_was_captured_at_once_is_refunded_on_cancellation(
    shop: Customer,
) -> None:
    capturing_at_once(shop)
    order_id = shop.place_order()

    shop.order_status(order_id, "cancelled", reason="rejected")

    assert shop.processor.paths("/void") == []
    assert shop.processor.paths("/refund") == ["/v1/authorizations/auth-1/refund"]
    assert shop.processor.calls[-1]["key"] == f"{order_id}:refund"
    assert shop.processor.authorizations["auth-1"]["status"] == "refunded"
    assert payment(shop, order_id)["status"] == "refunded"
    assert [e.body["status"] for e in shop.events("payment-refunded")] == ["refunded"]
    assert shop.faults() == []


def test_a_captured_authorization_after_the_payment_deadline_is_refunded_once(
    shop: Customer,
) -> None:
    # GIVEN a processor that captures when it authorizes, down for longer than an order may
    # wait for its payment: checkout cancels the order before the answer comes
    capturing_at_once(shop)
    shop.processor.down_until = START + 15 * MINUTE
    shop.tick_while_waiting()

    order_id = shop.place_order()

    # THEN the money taken after the cancellation goes back, once
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    assert shop.processor.paths("/void") == []
    assert shop.processor.paths("/refund") == ["/v1/authorizations/auth-1/refund"]
    assert shop.processor.authorizations["auth-1"]["status"] == "refunded"
    assert payment(shop, order_id)["status"] == "refunded"
    assert len({e.id for e in shop.events("payment-refunded")}) == 1
    assert shop.faults() == []


def test_an_authorization_holding_nothing_declines_the_order(shop: Customer) -> None:
    # GIVEN the processor answers an authorization that waits for the customer (3-D Secure)
    shop.processor.failures = 1
    shop.processor.failure = ({"id": "auth-9", "status": "requires_action"}, 201)

    order_id = shop.place_order()

    # THEN it holds no money: the order is declined, saying why, never placed
    assert payment(shop, order_id)["status"] == "declined"
    [declined] = shop.events("payment-declined")
    assert declined.body == {"orderId": order_id, "reason": "authorization_requires_action"}
    assert shop.doc("orders", order_id)["status"] == "payment-declined"
    assert shop.events("payment-authorized") == shop.events("order-placed") == []
    assert shop.faults() == []


def test_an_authorization_in_a_status_it_cannot_tell_is_a_fault_nothing_stored(
    shop: Customer,
) -> None:
    shop.processor.failures = 1
    shop.processor.failure = ({"id": "auth-9", "status": "processing"}, 201)

    order_id = shop.place_order()

    [fault] = shop.faults()
    assert "auth-9 in status 'processing'" in fault["error"]["message"]
    assert shop.store.get("payments", order_id) is None
    assert shop.events("payment-authorized") == shop.events("payment-declined") == []
    assert shop.doc("orders", order_id)["status"] == "pending-payment"


def test_a_void_that_finds_the_money_captured_refunds_it_once(
    shop: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an order authorized, whose authorization a person (or an account capturing
    # automatically, answered before payment-esg read the status) captured meanwhile
    order_id = shop.place_order()
    shop.processor.authorizations["auth-1"]["status"] = "captured"
    # and the first delivery dies once the refund is made, before it is stored
    update = shop.store.update

    def crash_once(collection: str, key: str, change: Callable[[Any], Any]) -> Any:
        if collection == "payments" and shop.processor.paths("/refund"):
            monkeypatch.setattr(shop.store, "update", update)
            raise ConnectionError("the process died here")
        return update(collection, key, change)

    monkeypatch.setattr(shop.store, "update", crash_once)

    # WHEN the order is cancelled, and Order's news of it delivered again
    cancelled = shop.order_status(order_id, "cancelled", reason="rejected")
    shop.send("order", cancelled)

    # THEN the money goes back under the refund's own key, refunded once, told once
    assert shop.processor.paths("/void") == ["/v1/authorizations/auth-1/void"]
    assert [c["key"] for c in shop.processor.calls if c["path"].endswith("/refund")] == [
        f"{order_id}:refund"
    ] * 2  # the redelivery's, replayed
    assert shop.processor.authorizations["auth-1"]["status"] == "refunded"
    assert payment(shop, order_id)["status"] == "refunded"
    refunded = shop.events("payment-refunded")
    assert {e.body["status"] for e in refunded} == {"refunded"}
    assert len({e.id for e in refunded}) == 1
    assert shop.events("payment-voided") == []
    assert shop.faults() == []


def test_a_void_that_finds_the_authorization_refunded_is_the_payment_refunded(
    shop: Customer,
) -> None:
    # GIVEN an order paid, whose authorization a person captured and then refunded whole at
    # the processor (its status says so; no amount refunded said: all of it)
    order_id = shop.place_order()
    shop.processor.authorizations["auth-1"]["status"] = "refunded"

    # WHEN the order is cancelled, and Order's news of it delivered again
    cancelled = shop.order_status(order_id, "cancelled", reason="rejected")
    shop.send("order", cancelled)

    # THEN the customer's money is back: the payment is refunded, saying why, and announced
    # once as any refund is; no fault, nothing asked of the processor but the one void
    assert shop.processor.paths("/void") == ["/v1/authorizations/auth-1/void"]
    assert shop.processor.paths("/refund") == []
    assert payment(shop, order_id)["status"] == "refunded"
    assert payment(shop, order_id)["reason"] == "authorization_refunded"
    refunded = shop.events("payment-refunded")
    assert {e.body["status"] for e in refunded} == {"refunded"}
    assert len({e.id for e in refunded}) == 1
    assert shop.events("payment-voided") == []
    assert shop.faults() == []


def test_a_void_that_finds_the_authorization_partly_refunded_is_a_fault_saying_so(
    shop: Customer,
) -> None:
    # GIVEN an order paid (2550 EUR), whose authorization a person captured and then refunded
    # only in part at the processor
    order_id = shop.place_order()
    shop.processor.authorizations["auth-1"].update(status="refunded", amountRefunded=1000)

    # WHEN the order is cancelled
    shop.order_status(order_id, "cancelled", reason="rejected")

    # THEN some of the customer's money is still taken: a fault says how much, nothing announced
    [fault] = shop.faults()
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert fault["error"]["message"].startswith(
        f"order {order_id} was cancelled, but its authorization auth-1 was captured and only "
        "1000 of its 2550 EUR refunded at the processor: refund the other 1550 by hand"
    )
    assert payment(shop, order_id)["status"] == "authorized"
    assert shop.events("payment-refunded") == shop.events("payment-voided") == []


def test_a_void_whose_kept_failure_finds_the_money_captured_refunds_it(shop: Customer) -> None:
    # GIVEN a void the processor fails on its side, keeping the 500, and the authorization
    # captured by hand meanwhile
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    order_id = shop.place_order()
    fake.post("/_fake/fail-inside", json={"count": 1})
    [first] = held_by(fake, order_id)
    captured: list[int] = []

    def captured_by_hand(_subscription: str, _seconds: float) -> None:
        if not captured and any(r.endswith("/void") for r in seen):
            by_hand = {**BEARER, "Idempotency-Key": "by-hand"}
            captured.append(
                fake.post(f"/v1/authorizations/{first['id']}/capture", headers=by_hand).status_code
            )

    shop.system.hub.delivery_observers.append(captured_by_hand)

    # WHEN the order is cancelled
    shop.order_status(order_id, "cancelled", reason="rejected")

    # THEN the replayed 500 is read against the authorization, captured: the money goes back
    assert captured == [200]
    [authorization] = held_by(fake, order_id)
    assert [(op["kind"], op["idempotencyKey"]) for op in authorization["operations"]] == [
        ("authorize", f"{order_id}:authorize"),
        ("capture", "by-hand"),
        ("refund", f"{order_id}:refund"),
    ]
    assert payment(shop, order_id)["status"] == "refunded"
    assert len({e.id for e in shop.events("payment-refunded")}) == 1
    assert shop.faults() == []


# -- an authorization the processor let expire (neither captured nor voided in 7 days) ---

DAY = 24 * HOUR


def test_a_void_that_finds_the_authorization_expired_is_the_payment_voided(
    shop: Customer,
) -> None:
    # GIVEN an order paid (the dev stack's fake processor, on the shop's clock), neither
    # captured nor voided for longer than the processor keeps an authorization: it expired,
    # and the customer's money is free again
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    order_id = shop.place_order()
    shop.clock.advance(8 * DAY)

    # WHEN the order is cancelled, and Order's news of it delivered again
    cancelled = shop.order_status(order_id, "cancelled", reason="rejected")
    shop.send("order", cancelled)

    # THEN the payment is voided as far as the customer is concerned: stored voided, saying
    # why, announced once as any void is; no fault for a person, the void asked once
    [authorization] = held_by(fake, order_id)
    assert authorization["status"] == "expired"
    assert payment(shop, order_id)["status"] == "voided"
    assert payment(shop, order_id)["reason"] == "authorization_expired"
    voided = shop.events("payment-voided")
    assert {e.body["status"] for e in voided} == {"voided"}
    assert len({e.id for e in voided}) == 1
    assert len([r for r in seen if r.endswith("/void")]) == 1
    assert shop.faults() == []


def test_an_authorization_found_expired_is_never_made_again_nor_left_a_fault(
    shop: Customer,
) -> None:
    # GIVEN the first authorization's answer was lost, the processor down since, and the
    # order cancelled at its payment deadline
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    order_id = authorized_then_down(shop, fake, seen)

    # WHEN the fault is resubmitted after the processor let that authorization expire
    resubmit_at(shop, START + 8 * DAY)

    # THEN the payment takes it as it stands, holding nothing: declined, nothing authorized
    # anew, nothing to void, no new fault
    [authorization] = held_by(fake, order_id)
    assert authorization["status"] == "expired"
    assert payment(shop, order_id)["status"] == "expired"
    [declined] = shop.events("payment-declined")
    assert declined.body == {"orderId": order_id, "reason": "authorization_expired"}
    assert shop.events("payment-authorized") == shop.events("payment-voided") == []
    assert shop.doc("orders", order_id)["status"] == "cancelled"
    # the only fault is the outage's, resubmitted
    assert [f["error"]["type"] for f in shop.faults()] == ["MaxDeliveryAttemptsExceeded"]


def test_a_capture_that_finds_the_authorization_expired_says_the_order_went_unpaid(
    shop: Customer,
) -> None:
    # GIVEN an order paid, its authorization left uncaptured until the processor let it expire
    seen: list[str] = []
    fake = with_the_real_fake(shop, seen)
    order_id = shop.place_order()
    [first] = held_by(fake, order_id)
    shop.clock.advance(8 * DAY)

    # WHEN the order is delivered
    shop.order_status(order_id, "delivered")

    # THEN the money cannot be taken any more: a fault tells a person plainly why, and that
    # the food went out unpaid; the payment says so too, for good
    unpaid = (
        f"order {order_id} was delivered unpaid: its authorization {first['id']} expired "
        "before it was captured"
    )
    [fault] = shop.faults()
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert fault["error"]["message"].startswith(unpaid)
    assert [a["status"] for a in held_by(fake, order_id)] == ["expired"]
    assert payment(shop, order_id)["status"] == "capture-failed"
    assert payment(shop, order_id)["reason"] == "authorization_expired"
    assert shop.events("payment-captured") == []
    assert len([r for r in seen if r.endswith("/capture")]) == 1

    # WHEN a person resubmits the fault
    resubmit_at(shop, shop.clock.now_ms() + HOUR)

    # THEN the same fault stands again (one record, reopened), the processor not asked again
    [again] = shop.faults()
    assert again["recurrences"] == 1
    assert again["status"] == "open"
    assert again["error"]["message"].startswith(unpaid)
    assert len([r for r in seen if r.endswith("/capture")]) == 1
    assert payment(shop, order_id)["status"] == "capture-failed"
    assert shop.events("payment-captured") == []


# -- an authorization the processor released otherwise (Stripe's ``canceled``: lapsed, or --
# -- cancelled at its dashboard); the dev stack's fake makes none, so the stub holds it ----


def test_a_void_that_finds_the_authorization_canceled_is_the_payment_voided(
    shop: Customer,
) -> None:
    # GIVEN an order paid, whose authorization someone cancelled at the processor: the
    # customer's money is free again
    order_id = shop.place_order()
    shop.processor.authorizations["auth-1"]["status"] = "canceled"

    # WHEN the order is cancelled, and Order's news of it delivered again
    cancelled = shop.order_status(order_id, "cancelled", reason="rejected")
    shop.send("order", cancelled)

    # THEN the payment is voided, saying why, announced once; no fault, the void asked once
    assert shop.processor.paths("/void") == ["/v1/authorizations/auth-1/void"]
    assert payment(shop, order_id)["status"] == "voided"
    assert payment(shop, order_id)["reason"] == "authorization_canceled"
    voided = shop.events("payment-voided")
    assert {e.body["status"] for e in voided} == {"voided"}
    assert len({e.id for e in voided}) == 1
    assert shop.faults() == []


def test_a_capture_that_finds_the_authorization_canceled_says_the_order_went_unpaid(
    shop: Customer,
) -> None:
    # GIVEN an order paid, whose authorization someone cancelled at the processor
    order_id = shop.place_order()
    shop.processor.authorizations["auth-1"]["status"] = "canceled"

    # WHEN the order is delivered
    shop.order_status(order_id, "delivered")

    # THEN a fault tells a person that the food went out unpaid, and the payment says why
    [fault] = shop.faults()
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert fault["error"]["message"].startswith(
        f"order {order_id} was delivered unpaid: its authorization auth-1 was canceled at "
        "the processor before it was captured"
    )
    assert payment(shop, order_id)["status"] == "capture-failed"
    assert payment(shop, order_id)["reason"] == "authorization_canceled"
    assert shop.events("payment-captured") == []


# -- an amount the processor cannot charge (Stripe: at most 8 digits, at least 50 cents) --


@pytest.mark.parametrize(
    ("price", "reason"), [(60_000_000, "amount_too_large"), (10, "amount_too_small")]
)
def test_an_amount_the_processor_cannot_charge_declines_the_order_with_its_reason(
    shop: Customer, price: int, reason: str
) -> None:
    # GIVEN a menu whose every dish costs so much (or so little) that the cart of three comes
    # to more than the processor charges (180 000 000 cents), or less (30 cents); the dev
    # stack's fake processor
    seen: list[str] = []
    with_the_real_fake(shop, seen)
    dishes = [{**dish, "price": price} for dish in DISHES]
    shop.menu(items=dishes)

    # WHEN the customer checks out
    order_id = shop.place_order()

    # THEN the processor's 400 is a decline the customer app can show, asked once: the order
    # is declined with the processor's code, its dishes back in the cart; no fault, no retry
    assert seen.count("POST /v1/authorizations") == 1
    assert payment(shop, order_id)["status"] == "declined"
    [declined] = shop.events("payment-declined")
    assert declined.body == {"orderId": order_id, "reason": reason}
    assert shop.doc("orders", order_id)["status"] == "payment-declined"
    assert shop.doc("orders", order_id)["reason"] == reason
    assert shop.events("payment-authorized") == shop.events("order-placed") == []
    assert shop.faults() == []


# -- a submission delivered again once its payment moved on --------------------------------


def paid_then_settled(shop: Customer, settled: str) -> str:
    """Check out, then move the order's payment to ``settled`` as Order's news does:
    ``voided`` (the kitchen refused it), ``captured`` (delivered), ``refunded`` (delivered,
    then cancelled), ``lapsed`` (cancelled once the processor let the authorization expire:
    stored voided). Returns the order id."""
    order_id = shop.place_order()
    if settled == "lapsed":
        shop.clock.advance(8 * DAY)
    if settled in ("captured", "refunded"):
        shop.order_status(order_id, "delivered")
    if settled != "captured":
        shop.order_status(order_id, "cancelled", reason="rejected", detail="out of dough")
    return order_id


@pytest.mark.parametrize("settled", ["voided", "captured", "refunded", "lapsed"])
def test_a_submission_delivered_again_once_its_payment_moved_on_announces_nothing_new(
    shop: Customer, settled: str
) -> None:
    # GIVEN an order authorized and placed, whose payment was then voided, captured or
    # refunded (the dev stack's fake processor, on the shop's clock)
    seen: list[str] = []
    with_the_real_fake(shop, seen)
    order_id = paid_then_settled(shop, settled)
    stored = payment(shop, order_id)
    published = {m.attributes["id"] for m in shop.messages[Topic.BUS]}
    [submitted] = shop.events("order-submitted")
    seen.clear()

    # WHEN Pub/Sub delivers its order-submitted again, at once and much later (past the day
    # the processor keeps keys, and the week it keeps an authorization)
    shop.send("customer", submitted)
    shop.clock.advance(9 * DAY)
    shop.send("customer", submitted)

    # THEN the processor is asked nothing, the payment stays as it is, and nothing new is
    # announced: at most the payment-authorized it announced then, as the same event; never
    # a decline of an order that was paid
    assert seen == []
    assert payment(shop, order_id) == stored
    assert shop.events("payment-declined") == []
    assert {m.attributes["id"] for m in shop.messages[Topic.BUS]} == published
    assert len({e.id for e in shop.events("payment-authorized")}) == 1
    assert shop.doc("orders", order_id)["status"] == "placed"
    assert shop.faults() == []
