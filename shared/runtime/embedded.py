"""The whole system in one process: every subsystem wired onto one in-memory hub.

Each subsystem keeps what it would have in its own GCP project: its own
``bus``/``faults``/``external`` topics, its own document store and its own
fault collection. Wiring follows the topology declarations only.

Each store has the composite indexes Terraform gives the subsystem's Firestore (the
kit's and its topology's): a query Firestore would refuse without one it lacks is
refused here too (:class:`~shared.stores.indexes.MissingIndex`), not first on GCP.

Chaos mode (:class:`~shared.hub.chaos.Chaos`, or ``FOODDELIVERY_CHAOS_SEED=<int>``
in the environment) delivers events and document changes in the orders and with
the duplicates Pub/Sub and Eventarc allow, instead of first in, first out and once.

A trigger that keeps failing on a change is retried on Eventarc's schedule and then
dead-lettered as on GCP (:mod:`shared.runtime.consumer`): its :data:`TRIGGER_ATTEMPTS`
runs span :data:`~shared.runtime.consumer.TRIGGER_RETRY_WINDOW_S` by the system's clock,
which a :class:`ManualClock` skips through, so a test sees the fault GCP would record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shared import ids
from shared.clock import Clock, ManualClock, SystemClock
from shared.exceptions import TopologyError
from shared.hub.chaos import Chaos
from shared.hub.limits import MAX_RETENTION_S
from shared.hub.memory import InMemoryHub, Subscription, dead_letter_to
from shared.hub.message import to_message
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.runtime.consumer import (
    TRIGGER_ATTEMPTS,
    TRIGGER_BACKOFF_S,
    ConsumerRuntime,
    ScheduleRuntime,
    TriggerRuntime,
)
from shared.runtime.faults import RECORDER_BACKOFF_S, FaultRecorder, declared_indexes
from shared.runtime.outcome import Outcome
from shared.runtime.secrets import IN_PROCESS, bootstrapping, require_declared, serve_endpoint
from shared.stores.memory import FrozenChange, InMemoryDocumentStore
from shared.topology.checks import check_system
from shared.topology.model import Endpoint, Topic

if TYPE_CHECKING:
    from requests.adapters import BaseAdapter

    from shared.envelope import Envelope
    from shared.hub.message import Message
    from shared.lake.base import AbstractLake

FAULT_RECORDER = "fault-recorder"
FUNCTION_TIMEOUT_MS = 60_000
"""The request timeout Terraform gives a function no channel feeds (a trigger) and the fault
recorder's ack deadline: a run not answered within it counts as failed, as on GCP."""


class EmbeddedSystem:
    """Runs the given subsystems in process with Pub/Sub push semantics.

    Use :meth:`run_until_quiet` for deterministic runs (tests, the demo with a
    manual clock) or :meth:`start`/:meth:`stop` for background delivery workers.
    """

    def __init__(
        self,
        apps: Sequence[SubsystemApp[Any]],
        *,
        clock: Clock | None = None,
        lake: AbstractLake | None = None,
        env: str = "embedded",
        settings: Mapping[str, str] | None = None,
        transports: Mapping[str, BaseAdapter] | None = None,
        standalone: bool = False,
        chaos: Chaos | None = None,
    ) -> None:
        """``standalone`` runs a subset of the system (a service's tests): the
        ``external`` topics of sister subsystems that are not given are created
        empty, for :meth:`inject` to publish on, instead of failing the check.

        ``chaos`` shuffles deliveries where Google gives no order, redelivers
        some acknowledged ones (:mod:`shared.hub.chaos`; with an ``overlap`` rate, pauses
        handlings at their publishes and as their store operations start) and runs every
        store updater twice, as a contended Firestore transaction may, and draws the
        process's new ids from its seed (:mod:`shared.ids`); by default it is what
        ``FOODDELIVERY_CHAOS_SEED`` asks for, off when that is unset."""
        problems = check_system(tuple(app.topology for app in apps))
        if problems and not standalone:
            raise TopologyError("the system is inconsistent:\n  " + "\n  ".join(problems))
        given = dict(settings or {})
        for app in apps:  # what a function host checks as it sets each function up
            for service, fn in app.topology.functions():
                qualified = f"{app.name}/{service.name}/{fn.name}"
                require_declared(qualified, fn.secrets, given, IN_PROCESS)
        self.clock = clock or SystemClock()
        chaos = chaos if chaos is not None else Chaos.from_env()
        ids.seed(chaos.seed if chaos is not None else None)  # a chaos run is its seed's
        self.hub = InMemoryHub(self.clock, lake, chaos, env)
        store_clock: Clock = self.clock
        if chaos is not None and chaos.tick_ms and isinstance(self.clock, ManualClock):
            store_clock = _TickingClock(self.clock, chaos.tick_ms)
        self.env = env
        self.apps = {app.name: app for app in apps}
        self.stores: dict[str, InMemoryDocumentStore] = {}
        run = self.hub.chaos  # under overlap, a handling may pause as a store operation starts
        pause_point = run.point if run is not None and run.chaos.overlap else None
        self.ports: dict[str, Any] = {}
        self.schedules: list[ScheduleRuntime[Any]] = []
        for app in apps:
            for topic in Topic:
                self.hub.create_topic(app.name, topic)
            for producer in app.topology.consumes():
                if standalone and producer not in self.apps:
                    self.hub.create_topic(producer, Topic.EXTERNAL)
        for app in apps:
            store = self.stores[app.name] = InMemoryDocumentStore(
                clock=store_clock,
                rerun_updaters=chaos is not None,
                indexes=declared_indexes(app.topology),
                pause_point=pause_point,
            )
            infra = Infrastructure(
                app.name, store, self.clock, env, dict(given), dict(transports or {})
            )
            with bootstrapping(app.name):
                self.ports[app.name] = app.bootstrap(infra)
            self._wire(app)

    def _wire(self, app: SubsystemApp[Any]) -> None:
        name, store, ports = app.name, self.stores[app.name], self.ports[app.name]
        publisher = self.hub.publisher(name)
        for service, consumer in app.topology.consumers():
            runtime = ConsumerRuntime(
                app.topology, service, consumer, ports, publisher, self.clock, self.env
            )
            sub_id = consumer.subscription(service)
            channel = consumer.channel
            self.hub.subscribe(
                channel.subsystem or name,
                channel.topic,
                Subscription(
                    name=f"{name}/{sub_id}",
                    deliver=_deliver_message(runtime),
                    rule=channel.rule,
                    ordered=channel.ordered,
                    max_attempts=channel.max_delivery_attempts,
                    min_backoff_ms=int(channel.min_backoff_s * 1000),
                    max_backoff_ms=int(channel.max_backoff_s * 1000),
                    ack_deadline_ms=channel.ack_deadline_s * 1000,
                    dead_letter=dead_letter_to(self.hub, name, sub_id),
                ),
            )
        for service, trigger in app.topology.triggers():
            trigger_runtime = TriggerRuntime(
                app.topology, service, trigger, ports, publisher, self.clock, self.env
            )
            subscription = Subscription(
                name=f"{name}/{trigger_runtime.subscription}",
                deliver=_deliver_change(trigger_runtime),
                ordered=False,  # Eventarc does not order a document's changes either
                max_attempts=TRIGGER_ATTEMPTS,
                min_backoff_ms=TRIGGER_BACKOFF_S[0] * 1000,
                max_backoff_ms=TRIGGER_BACKOFF_S[1] * 1000,
                ack_deadline_ms=FUNCTION_TIMEOUT_MS,
                dead_letter=_dead_letter_change(trigger_runtime),
            )
            store.watch_frozen(trigger.collection, _enqueue_change(self.hub, subscription))
        for service, schedule in app.topology.schedules():
            self.schedules.append(
                ScheduleRuntime(
                    app.topology, service, schedule, ports, publisher, self.clock, self.env
                )
            )
        recorder = FaultRecorder(store)
        self.hub.subscribe(
            name,
            Topic.FAULTS,
            Subscription(
                name=f"{name}/{FAULT_RECORDER}",
                deliver=lambda message, _attempt: (
                    Outcome.ACK if recorder.handle(message) else Outcome.RETRY
                ),
                ordered=False,
                max_attempts=None,
                min_backoff_ms=RECORDER_BACKOFF_S[0] * 1000,
                max_backoff_ms=RECORDER_BACKOFF_S[1] * 1000,
                ack_deadline_ms=FUNCTION_TIMEOUT_MS,
                retention_ms=MAX_RETENTION_S * 1000,  # Terraform's, without a dead-letter topic
            ),
        )

    def inject(self, subsystem: str, topic: Topic, event: Envelope) -> None:
        """Publish ``event`` on ``subsystem``'s ``topic`` as if its own functions had: through
        its publisher port, which refuses (:class:`~shared.exceptions.PublishError`) what
        Pub/Sub would."""
        self.hub.publisher(subsystem).publish(topic, [to_message(event)])

    def run_until_quiet(self, max_deliveries: int = 1_000_000) -> int:
        """Deliver everything pending on this thread; see :meth:`InMemoryHub.run_until_quiet`."""
        return self.hub.run_until_quiet(max_deliveries)

    def tick(self, since_ms: int | None = None) -> None:
        """Run the schedules at the clock's current time: every one (as ``gcloud scheduler
        jobs run`` would), or, given ``since_ms``, those whose cron fired after it (Cloud
        Scheduler fires every ``every_s`` seconds on the UTC clock: ``*/5 * * * *`` at
        minutes 0, 5, ...), once each however many times it fired."""
        now = self.clock.now_ms()
        for runtime in self.schedules:
            if since_ms is None or _fired_between(runtime.fn.every_s, since_ms, now):
                runtime.handle()  # a failed tick is not retried: the next one comes soon

    def advance(self, ms: int, *, tick_every_ms: int = 60_000) -> None:
        """Move a :class:`ManualClock` forward by ``ms`` in steps of at most
        ``tick_every_ms``, after each step running the schedules that fired during it
        (:meth:`tick`) and delivering what they and the earlier steps caused."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs the system to run on a ManualClock")
        target = self.clock.now_ms() + ms
        while self.clock.now_ms() < target:
            since = self.clock.now_ms()
            self.clock.advance(min(tick_every_ms, target - since))
            self.tick(since_ms=since)
            self.run_until_quiet()

    def start(self) -> None:
        """Deliver on the hub's background workers, concurrently across ordering keys."""
        self.hub.start()

    def stop(self) -> None:
        """Stop the background workers (waiting a while for handlers still running) and flush
        the lake."""
        self.hub.stop()

    def serve(self, subsystem: str, target: str) -> Any:
        """The app of ``subsystem``'s HTTP endpoint ``target`` (e.g. ``checkout_bff_api``).

        Each request runs scoped to the secrets the endpoint declares, as every
        other function does here.
        """
        service, fn = self.apps[subsystem].topology.find(target)
        if not isinstance(fn, Endpoint):
            raise TopologyError(f"{subsystem}/{target} is not an HTTP endpoint")
        return serve_endpoint(fn, self.ports[subsystem], f"{subsystem}/{service.name}/{fn.name}")

    def faults(self, subsystem: str) -> list[dict[str, Any]]:
        """The faults recorded by ``subsystem``."""
        return [d.data for d in self.stores[subsystem].query("faults")]


def _fired_between(every_s: int, since_ms: int, now_ms: int) -> bool:
    """Whether a schedule firing every ``every_s`` seconds on the UTC clock (at the
    multiples of ``every_s`` since the epoch, as its cron expression does: ``every_s``
    divides an hour or a day) fired after ``since_ms`` and at or before ``now_ms``."""
    period_ms = every_s * 1000
    return now_ms // period_ms > since_ms // period_ms


class _TickingClock(Clock):
    """The stores' clock in chaos mode: each reading moves the manual clock on first.

    An :class:`InMemoryDocumentStore` reads its clock once per write, to stamp the
    change (``written_ms``), so no two writes share a millisecond.
    """

    def __init__(self, clock: ManualClock, tick_ms: int) -> None:
        self._clock, self._tick_ms = clock, tick_ms

    def now_ms(self) -> int:
        self._clock.advance(self._tick_ms)
        return self._clock.now_ms()


def _deliver_message(runtime: ConsumerRuntime[Any]) -> Any:
    def deliver(message: Message, attempt: int) -> Outcome:
        # A message is immutable: the first delivery can hand over the stored one.
        given = message if message.delivery_attempt == attempt else message.delivered(attempt)
        return runtime.handle(given)

    return deliver


def _deliver_change(runtime: TriggerRuntime[Any]) -> Any:
    def deliver(change: FrozenChange, attempt: int) -> Outcome:
        return runtime.handle(change.thaw(), attempt)

    return deliver


def _dead_letter_change(runtime: TriggerRuntime[Any]) -> Callable[[Any, int], None]:
    def dead_letter(change: FrozenChange, attempts: int) -> None:
        runtime.dead_letter(change.thaw(), attempts)

    return dead_letter


def _enqueue_change(hub: InMemoryHub, subscription: Subscription) -> Any:
    """Queue each change frozen: every delivery thaws its own, as Eventarc's decode theirs."""

    def on_change(change: FrozenChange) -> None:
        hub.enqueue(subscription, change, f"{change.collection}/{change.key}")

    return on_change
