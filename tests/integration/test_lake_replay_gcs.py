"""``fooddelivery lake replay`` on the emulators: events read from the lake bucket on the
Storage emulator go back on the subsystem's ``bus`` on the Pub/Sub emulator, reached as a
dev stack's shell reaches it (``FOODDELIVERY_MODE=emulator``, the subsystem's project)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]

from shared.cli import main
from shared.envelope import new_event
from shared.hub.message import from_message
from shared.hub.provision import provision_subscription, subscription_path, topic_path
from shared.hub.pubsub_pull import PubSubBatchPuller
from shared.lake.gcs import GcsLake
from shared.topology import Topic

WAIT_S = 30.0


def ms(hour: int, minute: int = 0) -> int:
    return int(datetime(2026, 1, 31, hour, minute, tzinfo=UTC).timestamp() * 1000)


def test_replayed_events_reach_the_bus_oldest_first_with_their_ids(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = f"replay-{uuid.uuid4().hex[:8]}"
    pubsub_v1.PublisherClient().create_topic(request={"name": topic_path(project, Topic.BUS)})
    provision_subscription(project, "probe", Topic.BUS)
    events = [
        new_event("order-placed", "order", {"n": n}, partition_key=f"o-{n % 2}", timestamp=at)
        for n, at in enumerate(range(ms(10), ms(14), 20 * 60_000))
    ]
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    lake = GcsLake(bucket)
    lake.ensure_bucket()
    lake.append("order", "bus", [(e.timestamp + 1000, e.to_bytes()) for e in events])
    lake.append("order", "bus", [(events[0].timestamp + 5000, events[0].to_bytes())])  # again
    monkeypatch.setenv("FOODDELIVERY_MODE", "emulator")
    monkeypatch.setenv("FOODDELIVERY_PROJECT_ORDER", project)

    code = main(["lake", "replay", "order", "--bucket", bucket, "--since", "2026-01-31T11:00"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "published 9 event(s)" in err

    chosen = [e for e in events if e.timestamp >= ms(11)]
    puller = PubSubBatchPuller(subscription_path(project, "probe"))
    received = []
    deadline = time.monotonic() + WAIT_S
    try:
        while len(received) < len(chosen) and time.monotonic() < deadline:
            batch = puller.pull()
            puller.ack([ack_id for ack_id, _ in batch])
            received += [message for _, message in batch]
    finally:
        puller.close()
    assert sorted(m.attributes["id"] for m in received) == sorted(e.id for e in chosen)
    # The probe delivers in no set order: the emulator's message ids count up as published.
    published = sorted(received, key=lambda m: int(m.message_id))
    for key in ("o-0", "o-1"):
        assert [from_message(m) for m in published if m.ordering_key == key] == [
            e for e in chosen if e.partition_key == key
        ]
