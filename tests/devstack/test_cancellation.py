"""A customer cancels before the restaurant answers, on the emulators, through HTTP only."""

from __future__ import annotations

import pytest

from devstack.layout import Manifest
from devstack.live import LiveStack
from tests.devstack.conftest import eventually
from tests.devstack.world import TRATTORIA, World

pytestmark = pytest.mark.emulator


def test_a_cancelled_order_is_voided_and_leaves_the_kitchen(manifest: Manifest) -> None:
    stack = LiveStack(manifest)
    world = World(stack)
    alice, staff = world.customer("alice"), world.staff[TRATTORIA]
    order_id = alice.order(TRATTORIA, [("margherita", 1)])

    def in_kitchen() -> bool:
        """the order reaches the kitchen queue"""
        return order_id in [t["id"] for t in staff.queue("new")]

    eventually(in_kitchen, timeout_s=60)
    alice.cancel(order_id)

    def released() -> dict:
        """the order is cancelled and its payment voided"""
        view = alice.track(order_id)
        return view if (view["status"], view["payment"]) == ("cancelled", "voided") else {}

    assert eventually(released, timeout_s=60)["reason"] == "customer"
    eventually(lambda: order_id not in [t["id"] for t in staff.queue("new")], timeout_s=30)
