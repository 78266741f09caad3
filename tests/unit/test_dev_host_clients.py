"""What a dev host's background work costs: the clients it shares, how often the lake writes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devstack.host_runtime import HostRuntime
from devstack.lake import LakeWriter
from order.topology import APP as ORDER
from shared.settings import Settings
from shared.stores.firestore import FirestoreDocumentStore

POS = {"POS_URL": "http://pos.test", "POS_CALLBACK_URL": "http://o.test", "POS_WEBHOOK_SECRET": "s"}


def test_the_trigger_feeds_listen_on_the_functions_firestore_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One client, so the functions' streamed reads run on the channel the listeners keep
    open instead of each starting gRPC's event thread anew."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # never reached
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")
    feeds: list[Any] = []

    class Feed:
        def __init__(self, project: str, client: Any = None) -> None:
            feeds.append(client)

    class Trigger:
        def __init__(self, *args: Any) -> None:
            self.pending = 0

        def start(self, feed: Any) -> None:
            pass

    monkeypatch.setattr("shared.stores.firestore_feed.FirestoreChangeFeed", Feed)
    monkeypatch.setattr("devstack.host_runtime.TriggerFeed", Trigger)
    host = HostRuntime(ORDER, Settings(mode="emulator", extra=POS), tmp_path)
    try:
        host._start_triggers()
        functions_store = host.store.inner  # type: ignore[attr-defined]
        assert isinstance(functions_store, FirestoreDocumentStore)
        assert feeds == [functions_store.client]
    finally:
        host.checkpoint.close()


def test_the_lake_writer_pulls_a_batch_every_few_seconds_not_every_second() -> None:
    """Each batch costs a pull, an upload and an acknowledgement however small it is."""
    pulls: list[float] = []

    class Puller:
        def pull(self) -> list[Any]:
            pulls.append(time.monotonic())
            return []

        def close(self) -> None:
            pass

    writer = LakeWriter("order", Puller(), lake=None)  # type: ignore[arg-type]
    writer.start()
    threading.Event().wait(2.5)
    writer.stop()
    assert len(pulls) == 1, f"{len(pulls)} pulls in 2.5 s"
