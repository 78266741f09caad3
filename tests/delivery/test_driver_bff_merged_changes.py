"""driver-bff's triggers given one change for several writes of a document, as the local change
feed hands them over (``shared.stores.firestore_feed``: a snapshot listener reports a document
created and written again before it looked as one change, ``before`` ``None``; a host resumed
after a stop reports so each document created while it was down)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from delivery.dispatch_control.records import DECLINE_COOL_DOWN_MS
from delivery.events import offer_id_of
from shared.runtime import consumer
from shared.runtime.outcome import Outcome
from shared.stores import DocumentChange
from shared.topology import Topic
from tests.delivery.conftest import FAR, MINUTE, NEAR, START, Delivery, PushFake, order_event

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import pytest

    from shared.stores import Doc


def merged(
    delivery: Delivery,
    monkeypatch: pytest.MonkeyPatch,
    trigger: str,
    collection: str,
    key: str,
    driver: str | None = None,
) -> Callable[[], None]:
    """Keep every change of ``collection/key`` (to a state of ``driver``'s, if named) from the
    trigger named ``trigger``; the function
    returned hands it the document's writes since as one change (from the state before the
    first, nothing for a document created since, to the document as it is now), as the local
    change feed does, and delivers what that sets off; called again, it hands the same change
    over again (a redelivery)."""
    real = consumer.TriggerRuntime.handle
    runtimes: list[consumer.TriggerRuntime[Any]] = []
    befores: list[Doc | None] = []

    def handle(
        self: consumer.TriggerRuntime[Any], change: DocumentChange, attempt: int = 1
    ) -> Outcome:
        mine = driver is None or (change.after or {}).get("driverId") == driver
        if self.name == trigger and change.key == key and mine:
            runtimes.append(self)
            befores.append(change.before)
            return Outcome.ACK
        return real(self, change, attempt)

    monkeypatch.setattr(consumer.TriggerRuntime, "handle", handle)

    def hand_over() -> None:
        monkeypatch.undo()
        now = delivery.store.get(collection, key)
        assert runtimes and now is not None
        assert real(runtimes[0], DocumentChange(collection, key, befores[0], now, "merged")) is (
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


def release(delivery: Delivery, driver: str) -> None:
    """``driver`` hands o-1's delivery back, saying why."""
    path = "/deliveries/d-o-1/release"
    assert delivery.call("POST", path, driver, {"reason": "flat tyre"}).status_code == 200


def test_a_delivery_assigned_and_released_in_one_change_goes_to_the_next_driver(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the change feed hands over dan's new delivery of o-1 and his release as one change
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    hand_over = merged(delivery, monkeypatch, "deliveries-trigger", "driver-deliveries", "d-o-1")
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    release(delivery, "dan")

    # WHEN the trigger runs on it
    hand_over()

    # THEN dispatch hears of the release, with dan's reason, and offers o-1 to eve
    assert delivery.bus("driver-released") == [
        {"deliveryId": "d-o-1", "orderId": "o-1", "driverId": "dan", "reason": "flat tyre"}
    ]
    assert ("released", "dan") in delivery.statuses()
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"

    # ... and once eve takes it (dan's record moving aside), his release is not heard again
    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200
    assert delivery.delivery("o-1")["driver"]["id"] == "eve"
    assert len(delivery.bus("driver-released")) == 1


def test_a_delivery_handed_over_and_released_again_in_one_change_is_released_again(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan handed o-1 back, and the change feed hands over eve's assignment of it (which
    # replaces dan's record) and her release as one change
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    release(delivery, "dan")
    hand_over = merged(delivery, monkeypatch, "deliveries-trigger", "driver-deliveries", "d-o-1")
    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200
    release(delivery, "eve")

    # WHEN the trigger runs on it
    hand_over()

    # THEN dispatch hears eve's release too: o-1 is looked for a driver again
    assert [e["driverId"] for e in delivery.bus("driver-released")] == ["dan", "eve"]
    assert delivery.delivery("o-1")["status"] in ("searching", "offered")
    assert delivery.delivery("o-1")["driver"] is None


def test_an_offer_made_again_and_accepted_in_one_change_assigns_its_driver(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan declined o-1, and the change feed hands over o-1's next offer to him (made once
    # he may have it again) and his acceptance as one change
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    hand_over = merged(delivery, monkeypatch, "offers-trigger", "driver-offers", "d-o-1")
    delivery.system.advance(DECLINE_COOL_DOWN_MS)
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200

    # WHEN the trigger runs on it
    hand_over()

    # THEN dispatch hears of the acceptance: o-1 is dan's, not left to run out
    assert delivery.delivery("o-1")["status"] == "assigned"
    assert delivery.delivery("o-1")["driver"]["id"] == "dan"


def test_an_offer_to_the_next_driver_made_and_accepted_in_one_change_assigns_them(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan declined o-1, and the change feed hands over its offer to eve and her
    # acceptance as one change, from dan's declined offer
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")
    hand_over = merged(
        delivery, monkeypatch, "offers-trigger", "driver-offers", "d-o-1", driver="eve"
    )
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"
    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200

    # WHEN the trigger runs on it
    hand_over()

    # THEN dispatch hears of eve's acceptance: o-1 is hers
    assert delivery.delivery("o-1")["status"] == "assigned"
    assert delivery.delivery("o-1")["driver"]["id"] == "eve"


def test_the_same_merged_change_delivered_again_announces_nothing_new(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan's delivery of o-1 assigned and released, handed over as one change and handled
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    hand_over = merged(delivery, monkeypatch, "deliveries-trigger", "driver-deliveries", "d-o-1")
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    release(delivery, "dan")
    hand_over()
    released = [e.id for e in delivery.events_on(Topic.BUS, "driver-released")]
    assert len(released) == 1
    offered = delivery.bus("delivery-offered")

    # WHEN the same change is delivered again
    hand_over()

    # THEN it announces the same release, which dispatch drops as a repeat: o-1 is not
    # offered anew
    assert {e.id for e in delivery.events_on(Topic.BUS, "driver-released")} == set(released)
    assert delivery.bus("delivery-offered") == offered


ANSWERED = {
    "deliveryId": "d-o-1",
    "driverId": "dan",
    "answeredAt": START,
    "expiresAt": START + 2 * MINUTE,
}
"""dan's acceptance of o-1's first offer, as announced."""


def accepted_then_withdrawn(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """dan accepts o-1's offer just as dispatch, which heard the order cancelled first, takes
    it back; the function returned hands the offer's writes (made, accepted, withdrawn) to
    the trigger as one change."""
    delivery.driver("dan")
    hand_over = merged(delivery, monkeypatch, "offers-trigger", "driver-offers", "d-o-1")
    delivery.order("o-1", "accepted")
    cancelled = order_event("o-1", "cancelled", START, reason="customer-cancelled")
    delivery.system.inject("order", Topic.EXTERNAL, cancelled)  # dispatch hears it first
    path = f"/offers/{delivery.offer_id('d-o-1')}/accept"
    accepted = delivery.client.post(path, headers=delivery.headers("dan"))
    assert accepted.get_json() == {
        "deliveryId": "d-o-1",
        "offerId": offer_id_of("d-o-1", START + 2 * MINUTE),
        "status": "accepted",
    }
    delivery.system.run_until_quiet()
    assert delivery.store.get("driver-offers", "d-o-1")["status"] == "withdrawn"  # type: ignore[index]
    return hand_over


def test_an_offer_accepted_and_withdrawn_in_one_change_announces_the_acceptance(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the change feed hands over dan's offer of o-1 made, accepted and withdrawn as one
    # change
    hand_over = accepted_then_withdrawn(delivery, monkeypatch)

    # WHEN the trigger runs on it
    hand_over()

    # THEN dispatch hears of the acceptance, as it would have from the accept alone; the
    # driver's app shows the offer withdrawn, as before
    assert delivery.bus("offer-accepted") == [ANSWERED]
    assert delivery.offers("dan") == []
    again = delivery.answer("d-o-1", "accept", "dan")
    assert (again.status_code, again.get_json()["error"]) == (
        409,
        "the offer is already withdrawn",
    )


def test_a_withdrawn_offer_stored_without_its_answer_announces_nothing(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan's offer of o-1 accepted and withdrawn as one change, the record as code before
    # the answer was kept stored it (no ``answer``)
    hand_over = accepted_then_withdrawn(delivery, monkeypatch)
    stored = delivery.store.get("driver-offers", "d-o-1")
    assert stored is not None
    delivery.store.put("driver-offers", "d-o-1", {k: v for k, v in stored.items() if k != "answer"})

    # WHEN the trigger runs on it
    hand_over()

    # THEN nothing tells what dan answered: nothing is announced, as before
    assert delivery.bus("offer-accepted") == delivery.bus("offer-declined") == []


def test_an_answer_in_a_merged_change_is_the_event_its_single_step_publishes(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, push: PushFake
) -> None:
    # GIVEN dan's acceptance of o-1 as its own change, in another run of the subsystem
    alone = Delivery(tmp_path / "alone", push)
    alone.driver("dan")
    alone.order("o-1", "accepted")
    assert alone.answer("d-o-1", "accept", "dan").status_code == 200
    [single] = alone.events_on(Topic.BUS, "offer-accepted")

    # WHEN the same acceptance, and the offer's withdrawal, come as one change, delivered twice
    hand_over = accepted_then_withdrawn(delivery, monkeypatch)
    hand_over()
    hand_over()

    # THEN it is announced as the same event, each time: consumers drop any repeat
    announced = delivery.events_on(Topic.BUS, "offer-accepted")
    assert announced
    assert {(e.id, e.type) for e in announced} == {(single.id, single.type)}
    assert all(e.body == single.body for e in announced)
