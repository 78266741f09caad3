"""kitchen-bff's trigger given one change for several writes of a ticket, as the local change
feed hands them over (``shared.stores.firestore_feed``: a snapshot listener reports the writes
it did not see one by one as one change, from the last state it saw, ``None`` for a document
it never saw)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from restaurant.events import ORDER_ACCEPTED, ORDER_READY, ORDER_REJECTED
from shared.runtime import consumer
from shared.runtime.outcome import Outcome
from shared.stores import DocumentChange
from tests.restaurant.test_kitchen_bff import act, status_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from shared.stores import Doc
    from tests.restaurant.conftest import Restaurant

ANSWERS = (ORDER_ACCEPTED, ORDER_REJECTED, ORDER_READY)


def merged(
    restaurant: Restaurant, monkeypatch: pytest.MonkeyPatch, key: str = "o-1"
) -> Callable[[], None]:
    """Keep every change of ``tickets/key`` from kitchen-bff's trigger; the function returned
    hands it the ticket's writes since as one change (from the state before the first, to the
    ticket as it is now), as the local change feed does, and delivers what that sets off;
    called again, it hands the same change over again (a redelivery)."""
    real = consumer.TriggerRuntime.handle
    runtimes: list[consumer.TriggerRuntime[Any]] = []
    befores: list[Doc | None] = []

    def handle(
        self: consumer.TriggerRuntime[Any], change: DocumentChange, attempt: int = 1
    ) -> Outcome:
        if self.qualified == "restaurant/kitchen-bff/trigger" and change.key == key:
            runtimes.append(self)
            befores.append(change.before)
            return Outcome.ACK
        return real(self, change, attempt)

    monkeypatch.setattr(consumer.TriggerRuntime, "handle", handle)

    def hand_over() -> None:
        restaurant.system.run_until_quiet()
        monkeypatch.undo()
        now = restaurant.store.get("tickets", key)
        assert runtimes and now is not None
        change = DocumentChange("tickets", key, befores[0], now, "merged")
        assert real(runtimes[0], change) is Outcome.ACK
        restaurant.system.run_until_quiet()

    return hand_over


def answers(restaurant: Restaurant) -> list[tuple[str, dict[str, Any]]]:
    return [(e.type, e.body) for e in restaurant.bus(*ANSWERS)]


@pytest.fixture
def kitchen(restaurant: Restaurant) -> Restaurant:
    """Restaurant r-1 (kitchen ordering) with order o-1 placed."""
    restaurant.open_restaurant("r-1")
    restaurant.receive(restaurant.order_status("o-1"))
    return restaurant


def test_a_ticket_accepted_and_marked_ready_in_one_change_announces_both(
    kitchen: Restaurant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the change feed hands over o-1's acceptance and its readiness as one change
    hand_over = merged(kitchen, monkeypatch)
    assert act(kitchen, "accept", {"prepMinutes": 15}).status_code == 200
    assert act(kitchen, "ready").status_code == 200
    ready_at = kitchen.clock.now_ms()

    # WHEN the trigger runs on it
    hand_over()

    # THEN Order hears the acceptance, then the readiness, as the writes one by one say
    ticket = {"id": "o-1", "restaurantId": "r-1"}
    assert answers(kitchen) == [
        (ORDER_ACCEPTED, {**ticket, "prepMinutes": 15}),
        (ORDER_READY, {**ticket, "readyAt": ready_at}),
    ]


def test_a_ticket_created_accepted_and_ready_in_one_change_announces_both(
    restaurant: Restaurant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the change feed never saw o-1 new: its creation, acceptance and readiness come
    # as one change from nothing
    restaurant.open_restaurant("r-1")
    hand_over = merged(restaurant, monkeypatch)
    restaurant.receive(restaurant.order_status("o-1"))
    assert act(restaurant, "accept", {"prepMinutes": 15}).status_code == 200
    assert act(restaurant, "ready").status_code == 200

    # WHEN the trigger runs on it
    hand_over()

    # THEN both answers are announced
    assert [t for t, _ in answers(restaurant)] == [ORDER_ACCEPTED, ORDER_READY]


def test_a_ticket_accepted_ready_and_rejected_in_one_change_announces_each_answer(
    kitchen: Restaurant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the change feed hands over o-1's acceptance, readiness and rejection as one change
    hand_over = merged(kitchen, monkeypatch)
    assert act(kitchen, "accept", {"prepMinutes": 15}).status_code == 200
    assert act(kitchen, "ready").status_code == 200
    assert act(kitchen, "reject", {"reason": "dropped on the floor"}).status_code == 200

    # WHEN the trigger runs on it
    hand_over()

    # THEN each answer is announced, in the order given
    assert [t for t, _ in answers(kitchen)] == [
        ORDER_ACCEPTED,
        ORDER_READY,
        ORDER_REJECTED,
    ]


def test_a_ticket_accepted_and_cancelled_by_order_in_one_change_announces_the_acceptance(
    kitchen: Restaurant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the change feed hands over o-1's acceptance and Order's cancellation as one change
    hand_over = merged(kitchen, monkeypatch)
    assert act(kitchen, "accept", {"prepMinutes": 15}).status_code == 200
    kitchen.receive(kitchen.order_status("o-1", "cancelled", reason="customer"))
    assert status_of(kitchen) == "cancelled"

    # WHEN the trigger runs on it
    hand_over()

    # THEN the acceptance is announced as it would have been alone; the cancellation,
    # Order's own word, is not the kitchen's to announce
    assert [t for t, _ in answers(kitchen)] == [ORDER_ACCEPTED]


def test_the_same_merged_change_delivered_again_announces_nothing_new(
    kitchen: Restaurant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN o-1 accepted and marked ready, handed over as one change and handled
    hand_over = merged(kitchen, monkeypatch)
    assert act(kitchen, "accept", {"prepMinutes": 15}).status_code == 200
    assert act(kitchen, "ready").status_code == 200
    hand_over()
    first = [e.id for e in kitchen.bus(*ANSWERS)]
    assert len(set(first)) == 2

    # WHEN the same change is delivered again
    hand_over()

    # THEN what it announces is the same events again, which consumers drop as repeats
    assert {e.id for e in kitchen.bus(*ANSWERS)} == set(first)
