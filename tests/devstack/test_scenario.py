"""The demo story end to end on the emulators, through the BFF HTTP APIs only."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from devstack.layout import Manifest
from devstack.live import LiveStack
from scenario.story import FINAL, Story

pytestmark = pytest.mark.emulator


def test_the_story_delivers_pays_once_and_voids_the_rejection(manifest: Manifest) -> None:
    stack = LiveStack(manifest)
    faults_before = {f["id"] for f in stack.faults()}
    outcome = Story(stack, orders=3, seed=11).run(max_rounds=30)

    statuses = {order_id: o["status"] for order_id, o in outcome.orders.items()}
    assert set(statuses.values()) <= FINAL, statuses
    assert outcome.rejected is not None
    assert statuses[outcome.rejected] == "cancelled"
    [voided] = stack.authorizations(outcome.rejected)
    assert voided["status"] == "voided"
    delivered = [o for o, s in statuses.items() if s == "delivered"]
    assert len(delivered) == 2, statuses
    stack.settle()
    notifications = stack.notifications()
    for order_id in delivered:
        [payment] = stack.authorizations(order_id)
        assert payment["status"] == "captured"
        assert [op["kind"] for op in payment["operations"]].count("capture") == 1
        sent = Counter(
            m["data"]["status"]
            for m in notifications
            if m["to"]["kind"] == "customer" and m["data"].get("orderId") == order_id
        )
        assert {"accepted", "assigned", "picked-up", "delivered"} <= set(sent), sent
        assert max(sent.values()) == 1, f"one notification per status change: {sent}"
    assert {f["id"] for f in stack.faults()} == faults_before
    timeline = {(e.subsystem, e.type) for e in stack.events()}
    for subsystem in ("customer", "restaurant", "order", "delivery"):
        assert any(s == subsystem for s, _ in timeline), f"no event from {subsystem}"


def test_the_scenario_command_prints_the_timeline_and_summary(dev_stack) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.cli",
            "dev",
            "--scenario",
            "--attach",
            "--orders",
            "2",
            "--state-dir",
            str(dev_stack.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Food delivery on the emulators: 2 orders across 4 subsystems" in run.stdout
    assert "(cancelled):" in run.stdout and "(delivered):" in run.stdout
    assert "payment-voided" in run.stdout and "payment-captured" in run.stdout
    assert "order.order-status-changed v1" in run.stdout  # versioned, as the demo shows it
    assert "orders:        2 placed, 1 cancelled (rejected), 1 delivered" in run.stdout
    assert "faults:        0" in run.stdout
