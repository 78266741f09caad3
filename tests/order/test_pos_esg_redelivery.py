"""pos-esg: a cancellation heard again sends nothing to a point of sale that never had the
order."""

from __future__ import annotations

import pytest

from order.pos_esg.to_pos import NEVER, ORDERS
from shared.envelope import Envelope
from shared.hub.message import Message
from shared.topology import Topic
from tests.order.conftest import FakePos, OrderSystem


def cancel_request(order_system: OrderSystem) -> Envelope:
    """The customer's request to cancel o-1, as Customer publishes it."""
    body = {"id": "o-1", "requestedAt": order_system.clock.now_ms()}
    return order_system._event("customer.order-cancel-requested", "order", body, "o-1")


def test_a_cancellation_heard_again_is_not_withdrawn_from_a_pos_that_never_had_it(
    order_system: OrderSystem, pos: FakePos, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN "placed" is announced after "cancelled" (its first publication failed), so the
    # point of sale never got the order
    order_system.send("restaurant", order_system.restaurant_updated("r-1", ordering="pos"))
    hub = order_system.system.hub
    publish, failed = hub.publish, []

    def fail_placed_once(project: str, topic: str, messages: list[Message]) -> list[str]:
        placed = [m for m in messages if b'"status":"placed"' in m.data.replace(b" ", b"")]
        if project == "order" and topic == Topic.BUS and placed and not failed:
            failed.append(True)
            raise ConnectionError("Pub/Sub is unavailable")
        return publish(project, topic, messages)

    monkeypatch.setattr(hub, "publish", fail_placed_once)
    order_system.system.inject("customer", Topic.EXTERNAL, order_system.order_placed())
    order_system.system.inject("customer", Topic.EXTERNAL, cancel_request(order_system))
    order_system.system.run_until_quiet()
    assert failed and pos.requests == []

    # WHEN the cancellation is delivered to pos-esg again
    [cancelled] = [
        e for e in order_system.internal("order-status-changed") if e.body["status"] == "cancelled"
    ]
    order_system.system.inject("order", Topic.BUS, cancelled)
    order_system.system.run_until_quiet()

    # THEN the point of sale still hears nothing of it, and the note says so
    assert pos.requests == []
    note = order_system.store.get(ORDERS, "o-1")
    assert note is not None and note["status"] == NEVER
    assert order_system.faults() == []
