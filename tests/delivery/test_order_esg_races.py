"""order-esg egress: two of one delivery's statuses handled at once (a redelivery after an ack
deadline while the first delivery still runs) publish every status at least once, each with a
``revision`` consumers order them by; a status both publish is one event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.exceptions import PublishError
from shared.hub.message import Message, from_message
from shared.runtime import consumer
from shared.runtime.outcome import Outcome
from shared.topology import Topic
from tests.delivery.conftest import Delivery, offer_then_accept, picked_up_unpublished
from tests.delivery.held import before_update

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pytest

    from shared.envelope import Envelope


def held_by_egress(
    monkeypatch: pytest.MonkeyPatch, held: set[str]
) -> Callable[..., Callable[[], None]]:
    """Keep from order-esg's egress the first ``delivery-status-changed`` of each status in
    ``held``, acknowledged as if handled; the function returned names one (by its status) and
    returns what delivers it then (and checks it is handled with ``outcome``)."""
    real = consumer.ConsumerRuntime.handle
    kept: dict[str, tuple[consumer.ConsumerRuntime[Any], Message]] = {}

    def handle(self: consumer.ConsumerRuntime[Any], message: Message) -> Outcome:
        status = from_message(message).body.get("status")
        if self.qualified == "delivery/order-esg/egress" and status in held - kept.keys():
            kept[status] = (self, message)
            return Outcome.ACK
        return real(self, message)

    monkeypatch.setattr(consumer.ConsumerRuntime, "handle", handle)

    def deliverer(status: str, outcome: Outcome = Outcome.ACK) -> Callable[[], None]:
        def deliver() -> None:
            runtime, message = kept[status]
            assert real(runtime, message) == outcome

        return deliver

    return deliverer


def taken_and_handed_back(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Callable[[], None]]:
    """dan took o-1 and handed it back, and order-esg's egress has heard neither: the function
    returned names one (by its status) and returns what delivers it then (see
    :func:`held_by_egress`)."""
    delivery.driver("dan")
    held = held_by_egress(monkeypatch, {"assigned", "released"})
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/release", "dan", {})
    return held


def while_noting(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch, step: Callable[[], None]
) -> list[str]:
    """Run ``step`` once, after a status was published and before it is noted as told: the
    other status handled in full meanwhile."""
    return before_update(delivery, monkeypatch, "egress-deliveries", "_hear.<locals>.note", step)


def published(delivery: Delivery) -> list[tuple[str, str, str]]:
    """(revision, status, driver) of each ``delivery.delivery-status-changed``, in the order
    consumers ordering them by revision take them (a repeat once)."""
    statuses = {
        (e.body.get("revision") or "", e.body["status"], e.body["driver"]["id"])
        for e in delivery.events[Topic.EXTERNAL]
        if e.type == "delivery.delivery-status-changed"
    }
    return sorted(statuses)


HANDED_BACK = [("assigned", "dan"), ("released", "dan")]
"""(status, driver) consumers hear of when dan took o-1 and handed it back, in that order."""


def heard(delivery: Delivery) -> list[tuple[str, str]]:
    """(status, driver) of each status published, in revision order (a repeat once)."""
    return [(status, driver) for _, status, driver in published(delivery)]


def told(delivery: Delivery) -> Any:
    """What order-esg's egress noted it told consumers of d-o-1."""
    return (delivery.store.get("egress-deliveries", "d-o-1") or {}).get("told")


def test_a_hand_back_handled_while_the_assignment_is_published_is_published(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan took o-1 and handed it back; the egress publishes the assignment and, before
    # it notes it as told, handles the hand-back (the assignment redelivered meanwhile)
    held = taken_and_handed_back(delivery, monkeypatch)
    interleaved = while_noting(delivery, monkeypatch, held("released"))

    # WHEN the assignment is handled, the hand-back in the middle of it
    held("assigned")()

    # THEN consumers hear of the hand-back after the assignment, whatever order they come in
    assert interleaved == ["d-o-1"]
    assert len(delivery.events[Topic.EXTERNAL]) == 3  # the assignment twice, as one event
    assert all(revision for revision, *_ in published(delivery))
    assert heard(delivery) == HANDED_BACK
    assert told(delivery) == {"status": "released", "driver": {"id": "dan", "name": "Dan"}}


def test_an_assignment_published_again_by_the_hand_back_handled_meanwhile_is_the_same_event(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan took o-1 and handed it back; the egress publishes the assignment and, before
    # it notes it as told, handles the hand-back, which publishes the assignment again
    held = taken_and_handed_back(delivery, monkeypatch)
    while_noting(delivery, monkeypatch, held("released"))

    # WHEN the assignment is handled, the hand-back in the middle of it
    held("assigned")()

    # THEN both copies of the assignment are one event: consumers keep the first by its id
    # instead of hearing a second assignment of dan
    assignments = [e for e in delivery.events[Topic.EXTERNAL] if e.body["status"] == "assigned"]
    assert len(assignments) == 2
    assert len({e.id for e in assignments}) == 1


def test_a_hand_back_handled_while_the_assignment_is_published_comes_before_a_cancellation(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the hand-back was handled while dan's assignment was being published
    held = taken_and_handed_back(delivery, monkeypatch)
    while_noting(delivery, monkeypatch, held("released"))
    held("assigned")()

    # WHEN the order is cancelled before another driver takes it
    delivery.order("o-1", "cancelled", reason="customer", changedAt=delivery.clock.now_ms() + 1)

    # THEN nobody is told dan no longer brings it: they were told he handed it back
    assert heard(delivery) == HANDED_BACK


def test_an_assignment_whose_publication_failed_is_published_by_the_hand_back(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the egress claimed dan's assignment and handled his hand-back before publishing
    # it; then the assignment's publication failed (the instance died, say)
    held = taken_and_handed_back(delivery, monkeypatch)
    real, handled = consumer.ConsumerRuntime._publish, []

    def fails_after_the_hand_back(self: Any, emitted: Sequence[tuple[Topic, Envelope]]) -> None:
        statuses = [e.body["status"] for _, e in emitted]
        if self.qualified == "delivery/order-esg/egress" and statuses == ["assigned"]:
            if not handled:
                handled.append(True)
                held("released")()
            raise PublishError("the external topic is unavailable")
        real(self, emitted)

    monkeypatch.setattr(consumer.ConsumerRuntime, "_publish", fails_after_the_hand_back)
    held("assigned", Outcome.RETRY)()
    monkeypatch.setattr(consumer.ConsumerRuntime, "_publish", real)

    # WHEN the assignment is redelivered
    held("assigned")()

    # THEN the hand-back published the assignment it follows on from, before it; the late
    # assignment publishes nothing after it
    assert handled == [True]
    assert heard(delivery) == HANDED_BACK
    assert delivery.statuses() == HANDED_BACK


def test_a_status_heard_again_while_claimed_publishes_what_it_claimed_as_the_same_events(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dan's assignment and hand-back were each published, neither noted as told (the
    # instances died noting them)
    held = taken_and_handed_back(delivery, monkeypatch)
    update = delivery.store.update

    def dies_noting(collection: str, key: str, updater: Any) -> Any:
        if updater.__qualname__.startswith("_hear.<locals>.note"):
            raise RuntimeError("the instance died")
        return update(collection, key, updater)

    monkeypatch.setattr(delivery.store, "update", dies_noting)
    held("assigned", Outcome.RETRY)()
    held("released", Outcome.RETRY)()
    monkeypatch.setattr(delivery.store, "update", update)
    first = [e.id for e in delivery.events[Topic.EXTERNAL]]

    # WHEN the hand-back is redelivered
    held("released")()

    # THEN it publishes the assignment it follows on from and itself again, as the same events
    assert len(first) == 3  # the assignment, by itself and by the hand-back; the hand-back
    assert [e.id for e in delivery.events[Topic.EXTERNAL]][3:] == first[1:]
    assert heard(delivery) == HANDED_BACK
    assert told(delivery) == {"status": "released", "driver": {"id": "dan", "name": "Dan"}}


def test_locations_whose_publication_failed_are_published_once_the_topic_is_back(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the external topic is down while dan picks o-1 up and reports where he is (each
    # dead-lettered): what the egress keeps claimed does not grow with every location
    picked_up_unpublished(
        delivery, monkeypatch, *({"lat": lat, "lng": 13.406} for lat in (52.531, 52.535, 52.539))
    )
    record = delivery.store.get("egress-deliveries", "d-o-1") or {}
    assert [kept["status"]["status"] for kept in record["pending"]] == ["picked-up"]

    # WHEN dan delivers it
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")

    # THEN consumers hear of the pickup, at its latest location, then of the delivery
    assert delivery.statuses() == [("assigned", "dan"), ("picked-up", "dan"), ("delivered", "dan")]
    picked_up = delivery.events[Topic.EXTERNAL][1].body
    assert picked_up["location"] == {"lat": 52.539, "lng": 13.406}
