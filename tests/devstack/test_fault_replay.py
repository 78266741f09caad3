"""Faults that did not come from the subsystem's own bus go back to the function that
refused them, with ``fooddelivery faults resubmit``, once their cause is fixed."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
import requests

from devstack.layout import Manifest, project_of
from devstack.live import LiveStack
from shared.envelope import new_event
from shared.hub.message import to_message
from shared.runtime.faults import FAULTS_COLLECTION, recurrences
from shared.stores.eventarc import epoch_ms
from shared.topology.model import Topic
from tests.devstack.conftest import EMULATOR_VARS, DevProcess, eventually
from tests.devstack.test_faults import faults_keyed
from tests.devstack.test_faults_command import faults
from tests.devstack.world import TRATTORIA, World

pytestmark = pytest.mark.emulator

INGRESS = "intake_esg_from_customer"


def route(dev: DevProcess, target: str, url: str | None = None) -> None:
    """``python -m devstack.route order TARGET [URL]``, as a developer repoints a push."""
    env = {k: v for k, v in os.environ.items() if k not in EMULATOR_VARS}
    command = [sys.executable, "-m", "devstack.route", "order", target]
    command += [*([url] if url else []), "--state-dir", str(dev.state_dir)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_an_order_dead_lettered_by_a_broken_ingress_reaches_the_kitchen_once_replayed(
    dev_stack: DevProcess, manifest: Manifest
) -> None:
    world = World(LiveStack(manifest))
    customer, staff = world.customer("fiona"), world.staff[TRATTORIA]
    host = manifest.hosts["order"]
    route(dev_stack, INGRESS, f"{host}/{INGRESS}_broken")  # a deployment that answers 404
    try:
        order_id = customer.order(TRATTORIA, [("margherita", 1)])

        def dead_lettered() -> list[dict]:
            """the placed order is dead-lettered by the ingress's subscription"""
            return [f for f in faults_keyed(manifest, order_id) if f["reason"] == "dead-letter"]

        [fault] = eventually(dead_lettered, timeout_s=120)
    finally:
        route(dev_stack, INGRESS)  # fixed
    assert fault["function"] == "intake-esg-from-customer"
    assert order_id not in [t["id"] for t in staff.queue("new")]

    out = faults(manifest, "resubmit", "order", fault["id"]).stdout

    assert out.strip() == (
        f"{fault['id']} replayed to order/intake-esg/from-customer at {host}/{INGRESS}: "
        "took it (HTTP 204)"
    )

    def in_kitchen() -> bool:
        """the replayed order reaches the kitchen"""
        return order_id in [t["id"] for t in staff.queue("new")]

    eventually(in_kitchen, timeout_s=60)
    [record] = faults_keyed(manifest, order_id)
    assert (record["status"], len(record["replays"])) == ("resubmitted", 1)

    staff.reject(order_id, "closing early")  # leave the queue as it was

    def rejected() -> bool:
        """the customer sees the rejection"""
        view = customer.track(order_id)
        return (view["status"], view.get("reason")) == ("cancelled", "rejected")

    eventually(rejected, timeout_s=60)
    faults(manifest, "resubmit", "order", fault["id"])  # once more: it was handled already
    LiveStack(manifest).settle()
    view = customer.track(order_id)
    assert (view["status"], view["reason"]) == ("cancelled", "rejected")
    assert order_id not in [t["id"] for t in staff.queue("new")]


def test_a_refused_point_of_sale_callback_is_relayed_once_its_order_is_noted(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.stores.firestore import FirestoreDocumentStore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", manifest.env["FIRESTORE_EMULATOR_HOST"])
    store = FirestoreDocumentStore(project_of("order"))
    order_id = f"pos-{uuid.uuid4().hex[:8]}"
    callback = {
        "orderId": order_id,
        "restaurantId": TRATTORIA,
        "event": "accepted",
        "prepMinutes": 12,
        "receivedAt": 1_767_225_600_000,
    }
    try:
        store.create("pos-inbox", f"{order_id}:accepted", callback)  # before the order's note

        def refused() -> list[dict[str, Any]]:
            """the relay refuses the callback: a fault of the trigger"""
            found = requests.get(f"{manifest.hosts['order']}/_dev/faults", timeout=10).json()
            return [
                f
                for f in found["faults"]
                if f["message"]["attributes"].get("document") == f"{order_id}:accepted"
            ]

        [fault] = eventually(refused)
        assert (fault["function"], fault["error"]["type"]) == (
            "order/pos-esg/relay",
            "BusinessRuleViolation",
        )
        store.create("pos-orders", order_id, {"restaurantId": TRATTORIA})  # the cause, fixed

        out = faults(manifest, "resubmit", "order", fault["id"]).stdout

        assert out.strip().endswith(
            f"replayed to order/pos-esg/relay at {manifest.hosts['order']}/pos_esg_relay: "
            "took it (HTTP 200)"  # the trigger's own answer, as on GCP
        )
        events = requests.get(f"{manifest.hosts['order']}/_dev/events", timeout=10).json()
        [relayed] = [e for e in events["events"] if e["key"] == order_id]
        written = json.loads(base64.b64decode(fault["message"]["data"]))["version"]
        assert (relayed["type"], relayed["timestamp"]) == ("restaurant-accepted", epoch_ms(written))
        assert store.get(FAULTS_COLLECTION, fault["id"])["status"] == "resubmitted"
    finally:
        store.close()


def test_a_message_its_ingress_refuses_again_stays_open_and_counts_each_refusal(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.hub.pubsub import PubSubPublisher

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", manifest.env["PUBSUB_EMULATOR_HOST"])
    order_id = f"unreadable-{uuid.uuid4().hex[:8]}"
    request = new_event(  # no requestedAt: the ingress refuses it, however often it gets it
        "customer.order-cancel-requested",
        "order",
        {"id": order_id},
        partition_key=order_id,
        tags={"schemaVersion": "1", "source": "checkout-bff"},
    )
    publisher = PubSubPublisher(project_of("customer"))
    try:
        publisher.publish(Topic.EXTERNAL, [to_message(request)])
    finally:
        publisher.close()

    def refused(count: int) -> Any:
        def recorded() -> list[dict[str, Any]]:
            return [f for f in faults_keyed(manifest, order_id) if recurrences(f) == count]

        recorded.__doc__ = f"the ingress's fault, recorded {count} time(s) again"
        return recorded

    [fault] = eventually(refused(0))
    assert (fault["function"], fault["error"]["type"]) == (
        "order/intake-esg/from-customer",
        "InvalidEventError",
    )

    for count in (1, 2):
        done = faults(manifest, "resubmit", "order", fault["id"], returncode=1)

        assert done.stdout == ""
        assert done.stderr.startswith(
            f"left open: fault {fault['id']}: order/intake-esg/from-customer refused it again "
            "(HTTP 204): InvalidEventError: "
        )
        [record] = eventually(refused(count))
        assert (record["id"], record["status"], record.get("replays")) == (
            fault["id"],
            "open",
            None,
        )
