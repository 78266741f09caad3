"""A subsystem's host killed mid-flow and restarted loses no order and repeats no side effect."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
import requests

from devstack.layout import Manifest
from devstack.live import LiveStack
from tests.devstack.conftest import eventually
from tests.devstack.world import TRATTORIA, World

pytestmark = pytest.mark.emulator


def host_pid(manifest: Manifest, subsystem: str) -> int | None:
    try:
        stats = requests.get(f"{manifest.hosts[subsystem]}/_dev/stats", timeout=2)
    except requests.RequestException:
        return None
    return int(stats.json()["pid"]) if stats.ok else None


def handled(manifest: Manifest, subsystem: str, target: str) -> int:
    """How many deliveries ``target`` has handled in its host's current process."""
    stats = requests.get(f"{manifest.hosts[subsystem]}/_dev/stats", timeout=5).json()
    return int(stats["byTarget"].get(target, 0))


def test_killing_the_order_host_mid_flow_loses_no_order(manifest: Manifest) -> None:
    stack = LiveStack(manifest)
    world = World(stack)
    alice, dan = world.customer("alice"), world.driver("dan")
    staff = world.staff[TRATTORIA]
    stack.settle()
    killed = host_pid(manifest, "order")
    assert killed is not None
    egressed = handled(manifest, "customer", "order_esg_egress")

    os.kill(killed, signal.SIGSTOP)  # Order hears nothing of the order before the kill
    try:
        order_id = alice.order(TRATTORIA, [("margherita", 2), ("tiramisu", 1)])

        def on_its_way() -> bool:
            """customer.order-placed is published to Order (whose host is frozen)"""
            return handled(manifest, "customer", "order_esg_egress") > egressed

        eventually(on_its_way, timeout_s=30)
    finally:
        os.kill(killed, signal.SIGKILL)

    def restarted() -> bool:
        """the dev command restarted the order host"""
        pid = host_pid(manifest, "order")
        return pid is not None and pid != killed

    eventually(restarted, timeout_s=30)

    def in_kitchen() -> bool:
        """the order reaches the kitchen queue"""
        return order_id in [t["id"] for t in staff.queue("new")]

    eventually(in_kitchen, timeout_s=60)
    assert handled(manifest, "order", "intake_esg_from_customer") >= 1, "the new host took it"
    staff.accept(order_id, prep_minutes=10)

    def offered() -> list:
        """dan gets the delivery offer"""
        return dan.offers()

    [offer] = eventually(offered, timeout_s=30)
    delivery_id = offer["deliveryId"]
    dan.accept(offer["offerId"])
    eventually(lambda: alice.track(order_id).get("driver"), timeout_s=30)
    staff.ready(order_id)
    eventually(lambda: alice.track(order_id)["status"] == "ready", timeout_s=30)
    dan.picked_up(delivery_id)
    eventually(lambda: alice.track(order_id)["status"] == "picked-up", timeout_s=30)
    dan.delivered(delivery_id)
    eventually(lambda: alice.track(order_id)["payment"] == "captured", timeout_s=30)
    dan.api.call("PUT", "/me/status", {"online": False})  # leave no idle driver to other tests
    stack.settle()

    view = alice.track(order_id)
    assert view["status"] == "delivered"
    [payment] = stack.authorizations(order_id)
    assert payment["status"] == "captured"
    assert [op["kind"] for op in payment["operations"]].count("capture") == 1
    sent = Counter(
        m["data"]["status"]
        for m in stack.notifications()
        if m["to"]["kind"] == "customer" and m["data"].get("orderId") == order_id
    )
    assert {"accepted", "picked-up", "delivered"} <= set(sent), sent
    assert max(sent.values()) == 1, f"one notification per status change: {sent}"
