"""Everything one subsystem's host runs beside its HTTP routes.

Builds the subsystem's infrastructure once (Firestore and Pub/Sub on the
emulators, through :class:`~shared.runtime.functions.FunctionHost`, so the
functions are wired exactly as their functions-framework targets), then starts
a :class:`~devstack.triggers.TriggerFeed` per trigger, the schedules, and the
lake writer.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.checkpoint import Checkpoint
from devstack.lake import SUBSCRIPTION as LAKE_SUBSCRIPTION
from devstack.lake import LakeWriter
from devstack.scheduler import Scheduler
from devstack.stats import CountingStore, RecordingPublisher, Stats
from devstack.store_marks import checkpoint_path
from devstack.triggers import TriggerFeed
from shared.runtime.faults import FaultRecorder
from shared.runtime.functions import FunctionHost
from shared.runtime.outcome import Outcome
from shared.topology.model import Consumer, Endpoint, Schedule, Trigger

if TYPE_CHECKING:
    from shared.runtime.app import SubsystemApp
    from shared.settings import Settings
    from shared.stores.base import AbstractDocumentStore

_log = logging.getLogger("fooddelivery.dev.host")
DEAF_GRACE_S = 10.0
"""How long a trigger's watch may hear nothing (its listener ended and is being reopened)
before the host reports itself unhealthy (:meth:`HostRuntime.problems`)."""


class HostRuntime:
    """One subsystem's functions, triggers, schedules and lake writer in this process."""

    def __init__(
        self,
        app: SubsystemApp[Any],
        settings: Settings,
        state_dir: Path,
        lake_bucket: str | None = None,
    ) -> None:
        self.app, self.settings = app, settings
        self.stats = Stats(app.name)
        self.functions = FunctionHost(
            app,
            settings,
            wrap_publisher=lambda inner: RecordingPublisher(inner, self.stats),
            wrap_store=lambda inner: CountingStore(inner, self.stats),
        )
        self.checkpoint = Checkpoint(checkpoint_path(state_dir, app.name))
        self._lake_bucket = lake_bucket
        self.feeds: list[TriggerFeed] = []
        self.scheduler = Scheduler([])
        self.lake: LakeWriter | None = None
        self.recorder: FaultRecorder | None = None
        self.stats.pending = lambda: sum(feed.pending for feed in self.feeds)

    @property
    def project(self) -> str:
        """The emulator project of this subsystem."""
        return self.settings.project_of(self.app.name)

    @property
    def store(self) -> AbstractDocumentStore:
        """The subsystem's document store."""
        store: AbstractDocumentStore = self.functions.infrastructure()[0].store
        return store

    def targets(self) -> dict[str, Any]:
        """Every function's target name -> its declaration."""
        return {fn.target(service): fn for service, fn in self.app.topology.functions()}

    def problems(self, grace_s: float = DEAF_GRACE_S) -> list[str]:
        """Why this host does not do its work, if it does not: each trigger whose watch has
        heard nothing for longer than ``grace_s``, since when and why."""
        now = time.monotonic()
        found = []
        for feed in self.feeds:
            outage = feed.outage()
            if outage is not None and now - outage[0] > grace_s:
                found.append(
                    f"trigger {feed.target} has heard no changes for {now - outage[0]:.0f} s: "
                    f"{outage[1]}"
                )
        return found

    def start(self) -> None:
        """Build everything, then start feeding triggers, ticking schedules and writing the lake."""
        started = time.perf_counter()
        for name in self.targets():
            self.functions.runtime(name)  # fail now, not on the first request
        self.recorder = FaultRecorder(self.store)
        self._start_triggers()
        self.scheduler = Scheduler(
            [
                (name, fn.every_s, self._ticker(name))
                for name, fn in self.targets().items()
                if isinstance(fn, Schedule)
            ]
        )
        self.scheduler.start()
        if self._lake_bucket:
            self._start_lake(self._lake_bucket)
        _log.info(
            "%s host ready in %.1f s: %d functions (%s)",
            self.app.name,
            time.perf_counter() - started,
            len(self.targets()),
            "resumed triggers" if self.checkpoint.resumed else "fresh triggers",
        )

    def _start_triggers(self) -> None:
        from shared.stores.firestore_feed import FirestoreChangeFeed

        feed = FirestoreChangeFeed(self.project, self._firestore_client())
        for name, fn in self.targets().items():
            if isinstance(fn, Trigger):
                runtime = self.functions.runtime(name)
                trigger = TriggerFeed(name, runtime, self.checkpoint, self.stats)
                trigger.start(feed)
                self.feeds.append(trigger)

    def _firestore_client(self) -> Any:
        """The functions' Firestore client, for the change feed to share (``None``: none).

        gRPC runs a channel's streamed calls (queries, document reads) on a thread it
        starts whenever none of them is open: on the channel the feed's listeners keep
        open, the functions' streamed calls no longer start one each.
        """
        from shared.stores.firestore import ClientHolder

        store = self.store
        inner = store.inner if isinstance(store, CountingStore) else store
        return inner.client if isinstance(inner, ClientHolder) else None

    def _start_lake(self, bucket: str) -> None:
        from shared.hub.provision import subscription_path
        from shared.hub.pubsub_pull import PubSubBatchPuller
        from shared.lake.gcs import GcsLake

        puller = PubSubBatchPuller(subscription_path(self.project, LAKE_SUBSCRIPTION))
        infra, publisher, _ = self.functions.infrastructure()  # its faults go where theirs go
        self.lake = LakeWriter(
            self.app.name, puller, GcsLake(bucket), faults=publisher, env=infra.env
        )
        self.lake.start()

    def _ticker(self, name: str) -> Any:
        def tick() -> None:
            self.tick(name)

        return tick

    def tick(self, name: str) -> Outcome:
        """Run schedule ``name`` once, counted and logged like any delivery."""
        started = time.perf_counter()
        with self.stats.handling():
            outcome: Outcome = self.functions.runtime(name).handle()
        ms = (time.perf_counter() - started) * 1000
        self.stats.handled(name, "schedule", "tick", "", outcome.name.lower(), ms)
        return outcome

    def stop(self) -> None:
        """Stop feeding and ticking (running work finishes), then release the clients."""
        for feed in self.feeds:
            feed.stop()
        self.scheduler.stop()
        if self.lake is not None:
            self.lake.stop()
        self.checkpoint.close()


def kind_of(fn: Any) -> str:
    """push / http / trigger / schedule: how a function is reached."""
    if isinstance(fn, Consumer):
        return "push"
    if isinstance(fn, Endpoint):
        return "http"
    if isinstance(fn, Trigger):
        return "trigger"
    return "schedule"
