"""dispatch-control's rules settle a delivery's drivers from a delivery they read before: an
offer try that reserved one of those drivers and made its offer meanwhile (another handling at
work) must keep its reservation, or the driver, free on paper, is offered a second delivery and
may be assigned both. And whatever left a driver two offers, accepting both assigns one."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import pytest

from shared.runtime import consumer
from shared.stores import Where
from tests.delivery.conftest import FAR, MINUTE, NEAR, Delivery

if TYPE_CHECKING:
    from collections.abc import Callable

    from shared.runtime.outcome import Outcome
    from shared.stores import DocumentChange


def running(function: str) -> bool:
    """Whether ``function`` is on the stack: the call is part of its work."""
    return any(frame.function == function for frame in inspect.stack())


def test_a_driver_offered_the_delivery_again_while_its_rules_settle_him_stays_reserved(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan, the only driver near, lets his offer of o-1 run out
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    first = delivery.delivery("o-1")["offer"]

    # ... and the rules, handling its withdrawal, read o-1 (searching) and stall just before
    # they settle dan; meanwhile another handling (a nudge's) offers o-1 to dan again
    update, ran = delivery.store.update, []

    def interleaved(collection: str, key: str, updater: Any) -> Any:
        if collection == "dispatch-drivers" and running("settle_drivers") and not ran:
            ran.append(key)
            assert (delivery.store.get("deliveries", "d-o-1") or {})["status"] == "searching"
            delivery.store.update("deliveries", "d-o-1", lambda d: {**d, "nudgedBy": "else"})
            delivery.system.run_until_quiet()
        return update(collection, key, updater)

    monkeypatch.setattr(delivery.store, "update", interleaved)

    # WHEN the offer is taken back as run out, and the stalled handling resumes
    delivery.system.advance(3 * MINUTE)
    monkeypatch.undo()

    # THEN o-1 is offered to dan, who stays reserved for it: the next order is not his
    assert ran == ["dan"]
    again = delivery.delivery("o-1")["offer"]
    assert again["driverId"] == "dan" and again["expiresAt"] > first["expiresAt"]
    dan = delivery.store.get("dispatch-drivers", "dan") or {}
    assert dan["offeredDeliveryId"] == "d-o-1"
    delivery.order("o-2", "accepted")
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]


def capture_first_change(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Outcome]:
    """Note the rules' first change (a delivery created); the function returned hands it to
    them again, as Eventarc may deliver a change more than once."""
    real = consumer.TriggerRuntime.handle
    seen: list[tuple[consumer.TriggerRuntime[Any], DocumentChange]] = []

    def handle(
        self: consumer.TriggerRuntime[Any], change: DocumentChange, attempt: int = 1
    ) -> Outcome:
        if self.name == "rules" and not seen:
            seen.append((self, change))
        return real(self, change, attempt)

    monkeypatch.setattr(consumer.TriggerRuntime, "handle", handle)

    def again() -> Outcome:
        [(runtime, change)] = seen
        assert change.before is None and change.after is not None
        return real(runtime, change)

    return again


def test_a_driver_offered_the_delivery_while_a_late_change_frees_its_reservations_stays_so(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN o-1 is offered to eve (dan is offline then), and dan comes online
    delivery.driver("dan", at=NEAR, online=False)
    delivery.driver("eve", at=FAR)
    hand_again = capture_first_change(monkeypatch)
    delivery.order("o-1", "accepted")
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"
    delivery.call("PUT", "/me/status", "dan", {"online": True})

    # ... and o-1's first change (created, searching) comes again: the rules read o-1 (no
    # longer searching) and stall before they look for drivers an offer try left reserved for
    # it; meanwhile eve declines it, and o-1 is offered to dan
    query, ran = delivery.store.query, []

    def interleaved(collection: str, where: Any = (), **options: Any) -> Any:
        reserved = [Where("offeredDeliveryId", "==", "d-o-1")]
        if collection == "dispatch-drivers" and list(where) == reserved and not ran:
            ran.append(collection)
            assert running("offer_to_nearest")
            assert delivery.answer("d-o-1", "decline", "eve").status_code == 200
        return query(collection, where, **options)

    monkeypatch.setattr(delivery.store, "query", interleaved)

    # WHEN the stalled handling resumes
    hand_again()
    delivery.system.run_until_quiet()
    monkeypatch.undo()

    # THEN dan stays reserved for o-1's offer: the next order goes to eve, not to him
    assert ran
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"
    dan = delivery.store.get("dispatch-drivers", "dan") or {}
    assert dan["offeredDeliveryId"] == "d-o-1"
    delivery.order("o-2", "accepted")
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]


@pytest.mark.parametrize("first", ["o-1", "o-2"])
def test_a_driver_offered_two_deliveries_is_assigned_only_one(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    # GIVEN dan's reservation for o-1's standing offer was dropped (a settle of the driver that
    # read o-1 inside its write just before the offer was written, on a store that does not
    # serialize the two: the one window the rules leave), so o-2 was offered to him as well
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.store.update("dispatch-drivers", "dan", lambda d: {**d, "offeredDeliveryId": None})
    delivery.order("o-2", "accepted")
    assert sorted(o["deliveryId"] for o in delivery.offers("dan")) == ["d-o-1", "d-o-2"]

    # WHEN he accepts both
    second = "o-2" if first == "o-1" else "o-1"
    assert delivery.answer(f"d-{first}", "accept", "dan").status_code == 200
    assert delivery.answer(f"d-{second}", "accept", "dan").status_code == 200

    # THEN he is assigned o-2, the delivery dispatch holds him for; o-1's offer is taken back,
    # counting against him neither as a decline nor as a miss, and o-1 searches again
    assert delivery.delivery("o-2")["status"] == "assigned"
    assert delivery.delivery("o-2")["driver"]["id"] == "dan"
    o1 = delivery.delivery("o-1")
    assert (o1["status"], o1["driver"], o1["declinedBy"], o1["missedBy"]) == (
        "searching",
        None,
        [],
        [],
    )
    assert [w["id"] for w in delivery.bus("offer-withdrawn")] == ["d-o-1"]
    assert delivery.statuses() == [("assigned", "dan")]
