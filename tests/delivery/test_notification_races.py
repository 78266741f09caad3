"""notification-esg: two statuses of one order handled at once (a redelivery while the first
delivery still runs) leave the customer told nothing older than what they were told."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.hub.message import Message, from_message
from shared.runtime import consumer
from shared.runtime.outcome import Outcome
from tests.delivery.conftest import START, Delivery, offer_then_accept
from tests.delivery.held import before_update

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest


def held_by_push(
    monkeypatch: pytest.MonkeyPatch, held: set[str]
) -> Callable[[str], Callable[[], None]]:
    """Keep from notification-esg's push function the ``order-updated`` and
    ``delivery-status-changed`` whose status is in ``held``, acknowledged as if handled; the
    function returned names one (by its status) and returns what delivers it then."""
    real = consumer.ConsumerRuntime.handle
    kept: dict[str, tuple[consumer.ConsumerRuntime[Any], Message]] = {}

    def handle(self: consumer.ConsumerRuntime[Any], message: Message) -> Outcome:
        event = from_message(message)
        status = event.body.get("status")
        if self.name == "push" and status in held and status not in kept:
            kept[status] = (self, message)
            return Outcome.ACK
        return real(self, message)

    monkeypatch.setattr(consumer.ConsumerRuntime, "handle", handle)

    def deliverer(status: str) -> Callable[[], None]:
        def deliver() -> None:
            runtime, message = kept[status]
            assert real(runtime, message) == Outcome.ACK

        return deliver

    return deliverer


def while_noting(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, step: Callable[[], None]
) -> list[str]:
    """Run ``step`` once, after a notice was sent and before it is noted in the order's
    record: the other delivery handled in full meanwhile."""
    return before_update(delivery, monkeypatch, "notification-orders", "_tell_customer.", step)


def told(delivery: Delivery) -> list[str]:
    """The titles of the customer's notices about o-1, in order."""
    return [m["title"] for m in delivery.push.to("customer", "ref-o-1")]


def test_an_older_status_handled_while_a_newer_one_is_sent_is_not_pushed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan picked o-1 up and delivered it; the push function hears of the pickup late,
    # while it is telling the customer of the delivery
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    held = held_by_push(monkeypatch, {"picked-up", "delivered"})
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    interleaved = while_noting(delivery, monkeypatch, held("picked-up"))

    # WHEN the delivery is handled, the pickup in the middle of it
    held("delivered")()

    # THEN the customer, told it arrived, is not told after that it is on its way
    assert interleaved == ["o-1"]
    assert told(delivery) == ["Order accepted", "Driver assigned", "Delivered"]


def test_an_older_status_noted_after_a_newer_one_does_not_let_a_stale_one_through(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the push function tells the customer of dan's assignment and, before it notes it,
    # of the delivery (handled at once); the pickup's announcement comes late
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    held = held_by_push(monkeypatch, {"assigned", "picked-up", "delivered"})
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    interleaved = while_noting(delivery, monkeypatch, held("delivered"))
    held("assigned")()

    # WHEN the pickup is handled
    held("picked-up")()

    # THEN the record keeps the delivery as the latest status, and the pickup is not pushed
    assert interleaved == ["o-1"]
    record = delivery.store.get("notification-orders", "o-1") or {}
    assert record["delivery"]["status"] == "delivered"
    assert told(delivery) == ["Order accepted", "Driver assigned", "Delivered"]


def test_an_acceptance_handled_while_an_assignment_is_sent_is_not_pushed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN o-1's acceptance reaches the push function only while it tells the customer of
    # dan's assignment (a redelivery, say)
    delivery.driver("dan")
    delivery.order("o-1", "placed")
    held = held_by_push(monkeypatch, {"accepted", "assigned"})
    delivery.order("o-1", "accepted", changedAt=START + 1)
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    interleaved = while_noting(delivery, monkeypatch, held("accepted"))

    # WHEN the assignment is handled, the acceptance in the middle of it
    held("assigned")()

    # THEN the customer hears of the driver, and nothing older after it
    assert interleaved == ["o-1"]
    assert told(delivery) == ["Driver assigned"]


def test_a_status_whose_push_failed_after_its_claim_is_pushed_on_its_retry(
    delivery: Delivery,
) -> None:
    # GIVEN the provider is down when the customer is to hear of dan's assignment
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.push.failures = 2

    # WHEN dan takes the order (the assignment's push is retried)
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200

    # THEN its claim does not keep its retry from telling the customer, once
    assert told(delivery) == ["Order accepted", "Driver assigned"]
    assert delivery.faults() == []
