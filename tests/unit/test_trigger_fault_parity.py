"""A trigger that keeps failing leaves the same fault on every platform.

The same change, the same trigger (the sample's cart trigger, its bus down), run by the
embedded runtime, by the dev stack's trigger feed and by the functions-framework target
Cloud Functions runs on GCP (in process, handed Eventarc's CloudEvent): each gives up
on the change once it has failed for the retry window and records one fault of one
shape, so a test that passes embedded sees what a deployed system would record.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app
from google.events.cloud.firestore import Document, DocumentEventData, Value

from devstack.checkpoint import Checkpoint
from devstack.stats import Stats
from devstack.triggers import TriggerFeed
from shared.clock import ManualClock
from shared.hub.memory import InMemoryPublisher, Subscription
from shared.hub.message import Message
from shared.runtime.consumer import TRIGGER_ATTEMPTS, TRIGGER_RETRY_WINDOW_S
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.fault_replay import origin
from shared.runtime.faults import FaultRecorder
from shared.runtime.outcome import Outcome
from shared.sample import alpha, beta
from shared.stores.base import DocumentChange
from shared.stores.memory import InMemoryDocumentStore
from shared.topology import Topic
from shared.topology.model import Trigger

SOURCE = str(Path(__file__).parents[2] / "shared" / "sample" / "alpha_main.py")
CART = {"id": "c1"}


@pytest.fixture(autouse=True)
def bus_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every publication on a ``bus`` fails: the cart trigger asks for a retry every run."""
    publish = InMemoryPublisher.publish

    def refusing(self: InMemoryPublisher, topic: Topic, messages: Sequence[Message]) -> list[str]:
        if topic is Topic.BUS:
            raise ConnectionError("bus: 503 the service is unavailable")
        return publish(self, topic, messages)

    monkeypatch.setattr(InMemoryPublisher, "publish", refusing)
    monkeypatch.setenv("FOODDELIVERY_MODE", "memory")


def embedded() -> list[dict[str, Any]]:
    """The faults the embedded runtime records for the change."""
    clock = ManualClock()
    system = EmbeddedSystem([alpha.APP, beta.APP], clock=clock)
    written_ms = clock.now_ms()
    system.stores["alpha"].create("carts", "c1", dict(CART))
    system.run_until_quiet()
    # the retries took the window, on the manual clock
    assert clock.now_ms() - written_ms >= TRIGGER_RETRY_WINDOW_S * 1000
    return system.faults("alpha")


def functions_host() -> tuple[Any, FaultRecorder, InMemoryDocumentStore]:
    """The cart trigger's target loaded as Cloud Functions loads it, with a recorder
    storing what it publishes on ``faults``."""
    client = create_app(
        target="cart_bff_trigger", source=SOURCE, signature_type="cloudevent"
    ).test_client()
    host = sys.modules["alpha_main"].host
    _, publisher, _ = host.infrastructure()
    faults = InMemoryDocumentStore()
    recorder = FaultRecorder(faults)

    def record(message: Message, _attempt: int) -> Outcome:
        return Outcome.ACK if recorder.handle(message) else Outcome.RETRY

    publisher.hub.subscribe(publisher.project, Topic.FAULTS, Subscription("recorder", record))
    return (client, host, publisher.hub), recorder, faults


def on_gcp() -> list[dict[str, Any]]:
    """The faults the GCP target records for the change, delivered by Eventarc a minute
    after the write and again past the retry window."""
    (client, _, hub), _, faults = functions_host()
    data = DocumentEventData.serialize(
        DocumentEventData(
            value=Document(
                name="projects/demo/databases/(default)/documents/carts/c1",
                fields={"id": Value(string_value="c1")},
            )
        )
    )
    answers = []
    for age_s in (60, TRIGGER_RETRY_WINDOW_S + 60):
        written = datetime.now(UTC) - timedelta(seconds=age_s)
        headers = {
            "ce-id": "evt-1",
            "ce-source": "//firestore.googleapis.com/projects/demo/databases/(default)",
            "ce-type": "google.cloud.firestore.document.v1.written",
            "ce-specversion": "1.0",
            "ce-time": written.isoformat().replace("+00:00", "Z"),
            "ce-document": "carts/c1",
            "Content-Type": "application/protobuf",
        }
        answers.append(client.post("/", data=bytes(data), headers=headers).status_code)
        hub.run_until_quiet()
    assert answers == [500, 200]  # retried by Eventarc, then acknowledged as dead-lettered
    return [d.data for d in faults.query("faults")]


def in_the_dev_stack(tmp_path: Path) -> list[dict[str, Any]]:
    """The faults the dev stack's trigger feed records for the change (its waits cut)."""
    (_, host, hub), _, faults = functions_host()
    feed = TriggerFeed(
        "cart_bff_trigger",
        host.runtime("cart_bff_trigger"),
        Checkpoint(tmp_path / "cp.jsonl"),
        Stats("alpha"),
        min_backoff_s=0.001,
        max_backoff_s=0.001,
    )
    watch: dict[str, Any] = {}

    class Feed:
        def watch(self, collection: str, callback: Any, *, resume: Any = None) -> Any:
            watch["callback"] = callback
            return type("Watch", (), {"stop": lambda self: None})()

    feed.start(Feed())  # type: ignore[arg-type]
    watch["callback"](DocumentChange("carts", "c1", None, dict(CART), "2026-01-01T00:00:00Z"))
    deadline = time.monotonic() + 10
    while feed.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    feed.stop()
    hub.run_until_quiet()
    return [d.data for d in faults.query("faults")]


def shape(record: dict[str, Any]) -> dict[str, Any]:
    """What a person sees of a fault, and the change it keeps (its version aside)."""
    message = record["message"]
    change = json.loads(base64.b64decode(message["data"]))
    return {
        "reason": record["reason"],
        "function": record["function"],
        "error": record["error"],
        "deliveryAttempt": record["deliveryAttempt"],
        "status": record["status"],
        "attributes": message["attributes"],
        "change": {k: change[k] for k in ("collection", "key", "before", "after")},
    }


def test_a_trigger_that_keeps_failing_records_the_same_fault_embedded_in_dev_and_on_gcp(
    tmp_path: Path,
) -> None:
    [at_home] = embedded()
    [deployed] = on_gcp()
    [dev] = in_the_dev_stack(tmp_path)

    expected = {
        "reason": "dead-letter",
        "function": "cart-bff-trigger",
        "error": {
            "type": "MaxDeliveryAttemptsExceeded",
            "message": f"not acknowledged after {TRIGGER_ATTEMPTS} attempts",
        },
        "deliveryAttempt": TRIGGER_ATTEMPTS,
        "status": "open",
        "attributes": {"change": "created", "document": "c1"},
        "change": {"collection": "carts", "key": "c1", "before": None, "after": CART},
    }
    assert shape(at_home) == expected
    assert shape(deployed) == expected
    assert shape(dev) == expected
    # AND each names the trigger, for `faults replay` to hand the change back to it
    for record in (at_home, deployed, dev):
        assert isinstance(origin(alpha.TOPOLOGY, record).function, Trigger)
