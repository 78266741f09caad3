"""Missed offers counted out of order, heard while the driver answers, or forgiven by an
answer of an older form: no driver is taken offline wrongly, nor left online wrongly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from delivery.dispatch_control import misses
from shared.envelope import new_event
from shared.runtime import consumer
from shared.runtime.outcome import Outcome
from tests.delivery.conftest import MINUTE, NEAR, START, Delivery, hold_change
from tests.delivery.held import hold_event
from tests.delivery.test_missed_offers import (
    FIRST,
    MISSED,
    SECOND,
    misses_two_offers,
    profile,
    told_offline,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

    from shared.stores import DocumentChange


def count_fails_then_held(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, expires_at: int
) -> Callable[[], None]:
    """The rules' run on the withdrawal of the offer expiring at ``expires_at`` fails in
    counting the miss (the driver is freed and offered the next delivery first), and Eventarc
    retries it only after later changes ran; calling the function returned retries it."""
    real = consumer.TriggerRuntime.handle
    held: list[tuple[consumer.TriggerRuntime[Any], DocumentChange]] = []

    def unavailable(driver: Any, expires: int) -> Any:
        raise ConnectionError("the store is unavailable")

    def handle(
        self: consumer.TriggerRuntime[Any], change: DocumentChange, attempt: int = 1
    ) -> Outcome:
        offer = (change.before or {}).get("offer") or {}
        withdrawn = (change.after or {}).get("status") == "searching"
        if self.name == "rules" and not held and withdrawn and offer.get("expiresAt") == expires_at:
            held.append((self, change))
            with monkeypatch.context() as failing:
                failing.setattr(misses, "_missed", unavailable)
                assert real(self, change, attempt) == Outcome.RETRY
            return Outcome.ACK
        return real(self, change, attempt)

    monkeypatch.setattr(consumer.TriggerRuntime, "handle", handle)

    def retry() -> None:
        [(runtime, change)] = held
        assert real(runtime, change, 2) == Outcome.ACK
        delivery.system.run_until_quiet()

    return retry


def test_a_miss_counted_after_the_next_one_still_takes_the_driver_offline(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dispatch counts dan's first miss only after his second (its trigger failed, and
    # was retried later)
    retry = count_fails_then_held(delivery, monkeypatch, FIRST)
    misses_two_offers(delivery)
    assert [m["missed"] for m in delivery.bus(MISSED)] == [[SECOND]]

    retry()

    assert delivery.bus(MISSED)[-1]["missed"] == [FIRST, SECOND]
    me = profile(delivery, "dan")
    assert (me["online"], me["offlineReason"]) == (False, "missed-offers")
    assert len(told_offline(delivery, "dan")) == 1


def test_misses_heard_while_the_driver_declines_an_offer_leave_them_online(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the second miss reaches driver-bff just as dan's decline of the offer made after
    # it is written
    deliver_late = hold_event(delivery, monkeypatch, "listener", MISSED, lambda b: b["count"] == 2)
    misses_two_offers(delivery)  # o-1 is offered to dan a third time at 6:00
    store, write = delivery.store, delivery.store.update

    def heard_right_after(collection: str, key: str, updater: Any) -> Any:
        written = write(collection, key, updater)
        if collection == "driver-offers" and written and written["status"] == "declined":
            deliver_late()
        return written

    monkeypatch.setattr(store, "update", heard_right_after)

    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200

    assert profile(delivery, "dan")["online"] is True
    assert told_offline(delivery, "dan") == []


def test_an_accept_announced_before_answers_named_their_offer_still_assigns(
    delivery: Delivery,
) -> None:
    # GIVEN dan's accept, announced before answers carried the offer's expiresAt (in flight
    # across the release, or resubmitted from the dead letters)
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    body = {"deliveryId": "d-o-1", "driverId": "dan", "answeredAt": START + 1_000}
    accepted = new_event("offer-accepted", "offer", body, partition_key="o-1", timestamp=START)

    delivery.inject(accepted)

    assert delivery.statuses() == [("assigned", "dan")]
    assert delivery.faults() == []


def test_a_miss_counted_after_the_driver_came_online_again_is_not_announced(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the withdrawal of dan's first offer, run out at 2:00, reaches the rules trigger
    # only after dan went offline and online again at 3:10, which forgave it
    deliver_late = hold_change(delivery, monkeypatch, "rules", "offered", "searching")
    delivery.driver("dan", at=NEAR)
    delivery.order("o-1", "accepted")
    delivery.system.advance(3 * MINUTE)
    delivery.clock.advance(10_000)
    delivery.call("PUT", "/me/status", "dan", {"online": False})
    delivery.call("PUT", "/me/status", "dan", {"online": True})

    deliver_late()

    # THEN dispatch announces no miss (driver-bff would leave it out anyway)
    assert delivery.bus(MISSED) == []
    assert (delivery.store.get("dispatch-drivers", "dan") or {})[misses.MISSED] == []
