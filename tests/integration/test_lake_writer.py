"""The dev stack's lake writer on the Pub/Sub and Storage emulators: a backlog on ``bus``
reaches the lake in one go, though the emulator hands out at most 100 messages a pull."""

from __future__ import annotations

import time
import uuid

from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]

from devstack.lake import SUBSCRIPTION, LakeWriter
from shared.envelope import new_event
from shared.hub.provision import provision_subscription, subscription_path, topic_path
from shared.hub.pubsub_pull import PubSubBatchPuller
from shared.lake.gcs import GcsLake
from shared.topology import Topic

BACKLOG_WAIT_S = 30.0
"""How long the writer has to store the whole backlog."""


def test_a_backlog_of_the_bus_is_stored_at_once_each_event_once() -> None:
    project = f"lake-{uuid.uuid4().hex[:8]}"
    publisher = pubsub_v1.PublisherClient()
    publisher.create_topic(request={"name": topic_path(project, Topic.BUS)})
    provision_subscription(project, SUBSCRIPTION, Topic.BUS)
    events = [
        new_event("order-placed", "order", {"n": n}, partition_key=f"o-{n}") for n in range(450)
    ]
    for future in [publisher.publish(topic_path(project, Topic.BUS), e.to_bytes()) for e in events]:
        future.result()
    lake = GcsLake(f"lake-{uuid.uuid4().hex[:12]}")
    lake.ensure_bucket()
    puller = PubSubBatchPuller(subscription_path(project, SUBSCRIPTION))
    # A caught-up writer waits INTERVAL_S between batches: made far longer than the wait
    # below, a backlog stored only after such a wait fails the test however loaded the
    # machine, and one stored at once passes however slow its uploads.
    writer = LakeWriter("order", puller, lake, interval_s=BACKLOG_WAIT_S * 4)

    writer.start()
    deadline = time.monotonic() + BACKLOG_WAIT_S
    while writer.written < len(events) and time.monotonic() < deadline:
        time.sleep(0.1)
    writer.stop()

    assert sorted(e.id for e in lake.replay("order")) == sorted(e.id for e in events)
    assert writer.written == len(events)
