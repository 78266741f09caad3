"""driver-bff's triggers given one change for several writes of a document, as the local change
feed hands them over (``shared.stores.firestore_feed``: a snapshot listener reports a document
created and written again before it looked as one change, ``before`` ``None``; a host resumed
after a stop reports so each document created while it was down)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.runtime import consumer
from shared.runtime.outcome import Outcome
from shared.stores import DocumentChange
from tests.delivery.conftest import Delivery

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest


def merged(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, trigger: str, collection: str, key: str
) -> Callable[[], None]:
    """Keep every change of ``collection/key`` from the trigger named ``trigger``; the function
    returned hands it the document as it is now as one change from nothing, as the local change
    feed does, and delivers what that sets off."""
    real = consumer.TriggerRuntime.handle
    runtimes: list[consumer.TriggerRuntime[Any]] = []

    def handle(
        self: consumer.TriggerRuntime[Any], change: DocumentChange, attempt: int = 1
    ) -> Outcome:
        if self.name == trigger and change.key == key:
            runtimes.append(self)
            return Outcome.ACK
        return real(self, change, attempt)

    monkeypatch.setattr(consumer.TriggerRuntime, "handle", handle)

    def hand_over() -> None:
        monkeypatch.undo()
        now = delivery.store.get(collection, key)
        assert runtimes and now is not None
        assert real(runtimes[0], DocumentChange(collection, key, None, now, "merged")) is (
            Outcome.ACK
        )
        delivery.system.run_until_quiet()

    return hand_over


def test_an_offer_created_and_accepted_in_one_change_assigns_its_driver(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the change feed hands over dan's new offer of o-1 and his acceptance as one change
    delivery.driver("dan")
    hand_over = merged(delivery, monkeypatch, "offers-trigger", "driver-offers", "d-o-1")
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200

    # WHEN the trigger runs on it
    hand_over()

    # THEN dispatch hears of the acceptance: o-1 is dan's, not left to run out
    assert delivery.delivery("o-1")["status"] == "assigned"
    assert delivery.delivery("o-1")["driver"]["id"] == "dan"


def test_a_delivery_assigned_and_picked_up_in_one_change_is_picked_up(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the change feed hands over dan's new delivery of o-1 and his pickup as one change
    delivery.driver("dan")
    hand_over = merged(delivery, monkeypatch, "deliveries-trigger", "driver-deliveries", "d-o-1")
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    assert delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan").status_code == 200

    # WHEN the trigger runs on it
    hand_over()

    # THEN dispatch, and through it Order and the customer, hear of the pickup
    assert delivery.delivery("o-1")["status"] == "picked-up"
    assert ("picked-up", "dan") in delivery.statuses()
