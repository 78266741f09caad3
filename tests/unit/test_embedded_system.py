"""The sample subsystems run end to end in one process, faults included."""

from __future__ import annotations

import json

import pytest

from shared.clock import ManualClock
from shared.envelope import new_event
from shared.hub.message import Message, to_message
from shared.lake.local import LocalDirectoryLake
from shared.runtime.embedded import FUNCTION_TIMEOUT_MS, EmbeddedSystem
from shared.runtime.faults import resubmit
from shared.sample import alpha, beta
from shared.stores.idempotent import META
from shared.topology import Topic


@pytest.fixture
def system(tmp_path):
    return EmbeddedSystem(
        [alpha.APP, beta.APP], clock=ManualClock(), lake=LocalDirectoryLake(tmp_path / "lake")
    )


def checkout(system, cart_id, items=("book",)):
    client = alpha.api(system.ports["alpha"]).test_client()
    return client.post(f"/carts/{cart_id}/checkout", json={"items": list(items)})


def test_a_checkout_crosses_both_subsystems_and_comes_back_shipped(system):
    # GIVEN a cart checked out through alpha's API
    assert checkout(system, "c1").status_code == 202
    # WHEN the hub delivers everything
    system.run_until_quiet()
    # THEN beta shipped it and alpha's view says so
    assert system.stores["alpha"].get("carts", "c1")["status"] == "shipped"
    assert [d.data["type"] for d in system.stores["beta"].query("shipping-events")] == [
        "order-received"
    ]
    assert system.faults("alpha") == system.faults("beta") == []


def test_every_bus_event_lands_in_the_lake(system):
    checkout(system, "c1")
    system.run_until_quiet()
    alpha_types = [e.type for e in system.hub._lake.replay("alpha")]
    beta_types = [e.type for e in system.hub._lake.replay("beta")]
    assert alpha_types == ["cart-checked-out", "order-shipped"]
    assert beta_types == ["order-received", "order-shipped"]


def test_a_transient_failure_is_retried_and_its_effects_happen_once(system):
    system.ports["alpha"].fail_times["c1"] = 2
    checkout(system, "c1")
    system.run_until_quiet()
    assert system.ports["alpha"].calls.count("egress:c1") == 3
    assert system.stores["alpha"].get("carts", "c1")["status"] == "shipped"
    assert len(system.stores["beta"].query("shipping-events")) == 1


def test_a_business_rule_violation_becomes_a_fault_and_the_flow_goes_on(system):
    checkout(system, "bad", items=["forbidden"])
    checkout(system, "good")
    system.run_until_quiet()
    [fault] = system.faults("alpha")
    assert fault["reason"] == "poison"
    assert fault["function"] == "alpha/orders-esg/egress"
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert system.ports["alpha"].calls.count("egress:bad") == 1
    assert system.stores["alpha"].get("carts", "good")["status"] == "shipped"


def test_an_undecodable_message_becomes_a_fault_not_a_crash(system):
    garbage = Message(data=b"{not json", attributes={"type": "order-shipped"})
    system.hub.publish("alpha", Topic.BUS, [garbage])
    system.run_until_quiet()
    [fault] = system.faults("alpha")
    assert fault["function"] == "alpha/cart-bff/listener"
    assert fault["error"]["type"] == "EnvelopeError"
    assert fault["message"]["attributes"] == {"type": "order-shipped"}


def test_a_message_that_keeps_failing_is_dead_lettered_then_resubmitted(system):
    system.ports["alpha"].fail_times["c1"] = 5
    checkout(system, "c1")
    system.run_until_quiet()
    [fault] = system.faults("alpha")
    assert fault["reason"] == "dead-letter"
    assert fault["function"] == "orders-esg-egress"
    assert fault["deliveryAttempt"] == 5
    assert json.loads(__import__("base64").b64decode(fault["message"]["data"]))["type"] == (
        "cart-checked-out"
    )
    assert system.stores["alpha"].get("carts", "c1")["status"] == "checked-out"

    # WHEN the partner is back and the fault is resubmitted
    resubmit(system.stores["alpha"], system.hub.publisher("alpha"), fault["id"])
    system.run_until_quiet()
    assert system.stores["alpha"].get("carts", "c1")["status"] == "shipped"
    assert system.faults("alpha")[0]["status"] == "resubmitted"


def test_a_fresh_event_delivered_twice_changes_the_view_once(system):
    checkout(system, "c1")
    system.run_until_quiet()
    view_before = system.stores["alpha"].get("carts", "c1")
    writes: list[dict] = []
    system.stores["alpha"].watch("carts", lambda change: writes.append(change.after))
    system.clock.advance(60_000)
    shipped = new_event(
        "order-shipped", "order", {"id": "c1"}, partition_key="c1", timestamp=system.clock.now_ms()
    )  # newer than everything applied: only the duplicate check can drop its second delivery
    publisher = system.hub.publisher("alpha")

    publisher.publish(Topic.BUS, [to_message(shipped)])
    system.run_until_quiet()
    view_after_first = system.stores["alpha"].get("carts", "c1")
    publisher.publish(Topic.BUS, [to_message(shipped)])
    system.run_until_quiet()

    assert view_after_first != view_before  # the first delivery was applied
    assert view_after_first[META]["timestamp"] == shipped.timestamp
    assert view_after_first[META]["ids"].count(shipped.id) == 1
    assert system.stores["alpha"].get("carts", "c1") == view_after_first  # the second was not
    assert writes == [view_after_first]  # one write: a trigger on carts would fire once
    assert system.ports["alpha"].calls.count("view:c1") == 3  # both were delivered, though


def test_a_stale_event_leaves_the_view_unchanged(system):
    checkout(system, "c1")
    system.run_until_quiet()
    view_before = system.stores["alpha"].get("carts", "c1")
    writes: list[dict] = []
    system.stores["alpha"].watch("carts", lambda change: writes.append(change.after))
    stale = new_event(
        "order-shipped", "order", {"id": "c1"}, partition_key="c1", timestamp=1
    )  # a new id, but older than everything applied
    assert stale.id not in view_before[META]["ids"]

    system.hub.publisher("alpha").publish(Topic.BUS, [to_message(stale)])
    system.run_until_quiet()

    assert system.ports["alpha"].calls.count("view:c1") == 2  # delivered, then dropped
    assert system.stores["alpha"].get("carts", "c1") == view_before
    assert writes == []


def test_redelivered_external_event_is_processed_once_downstream(system):
    checkout(system, "c1")
    system.run_until_quiet()
    [submitted] = [e for e in system.hub._lake.replay("alpha") if e.type == "cart-checked-out"]
    # the egress output derives its id from its cause: republishing the cause re-emits the same id
    system.hub.publisher("alpha").publish(Topic.BUS, [to_message(submitted)])
    system.run_until_quiet()
    assert len(system.stores["beta"].query("shipping-events")) == 1


def test_threaded_mode_runs_the_same_flow():
    from shared.clock import SystemClock

    system = EmbeddedSystem([alpha.APP, beta.APP], clock=SystemClock())
    system.start()
    try:
        for i in range(20):
            checkout(system, f"c{i}")
        assert system.hub.wait_until_idle(10)
    finally:
        system.stop()
    shipped = [d for d in system.stores["alpha"].query("carts") if d.data["status"] == "shipped"]
    assert len(shipped) == 20


def test_schedules_tick_as_virtual_time_passes():
    from shared.hub.routing import on_types
    from shared.runtime.app import SubsystemApp
    from shared.topology import Channel, Consumer, Role, Schedule, Service, ServiceKind, Subsystem

    seen: list[int] = []

    def expire(now_ms, ctx):
        ctx.emit("deadline-passed", "deadline", {"at": now_ms}, partition_key="d1")

    def record(event, ctx):
        seen.append(event.body["at"])

    topology = Subsystem(
        "timer",
        (
            Service(
                "deadlines",
                ServiceKind.CONTROL,
                (
                    Schedule("tick", Role.TRIGGER, every_s=60, handlers=(expire,)),
                    Consumer(
                        "listener",
                        Role.LISTENER,
                        Channel(on_types("deadline-passed")),
                        handlers=(record,),
                    ),
                ),
            ),
        ),
    )
    clock = ManualClock()
    start = clock.now_ms()
    system = EmbeddedSystem([SubsystemApp(topology, lambda infra: None)], clock=clock)
    system.advance(180_000)
    assert seen == [start + 60_000, start + 120_000, start + 180_000]


def test_an_ingress_keeps_the_time_the_fact_happened(system):
    from shared.envelope import Envelope

    published: list[Envelope] = []
    system.hub.observers.append(
        lambda project, topic, message: published.append(Envelope.from_bytes(message.data))
    )
    system.clock.advance(60_000)
    happened = system.clock.now_ms() - 45_000  # the producer published it 45 s ago
    shipped = new_event(
        "beta.order-shipped", "order", {"id": "c9"}, partition_key="c9", timestamp=happened
    )
    system.inject("beta", Topic.EXTERNAL, shipped)
    system.run_until_quiet()

    [translated] = [e for e in published if e.type == "order-shipped"]
    assert translated.tags["function"] == "ingress"
    assert translated.timestamp == happened


def test_a_failed_tick_is_not_retried_within_the_tick():
    from shared.runtime.app import SubsystemApp
    from shared.topology import Role, Schedule, Service, ServiceKind, Subsystem

    runs: list[int] = []

    def fail(now_ms, ctx):
        runs.append(now_ms)
        raise ConnectionError("the store is down")

    topology = Subsystem(
        "timer",
        (
            Service(
                "deadlines",
                ServiceKind.CONTROL,
                (Schedule("tick", Role.TRIGGER, every_s=60, handlers=(fail,)),),
            ),
        ),
    )
    system = EmbeddedSystem([SubsystemApp(topology, lambda infra: None)], clock=ManualClock())
    system.advance(120_000)
    assert len(runs) == 2  # Cloud Scheduler's job has retry_count 0: one run per tick


def test_each_delivery_of_a_change_decodes_its_own_copy():
    from shared.runtime.app import SubsystemApp
    from shared.topology import Role, Service, ServiceKind, Subsystem, Trigger

    seen: list[dict] = []

    def mutate_then_fail(change, ctx):
        seen.append(dict(change.after))
        change.after["status"] = "tampered"
        if len(seen) == 1:
            raise ConnectionError("try again")

    topology = Subsystem(
        "watcher",
        (
            Service(
                "svc",
                ServiceKind.CONTROL,
                (Trigger("on-doc", Role.TRIGGER, collection="docs", handlers=(mutate_then_fail,)),),
            ),
        ),
    )
    system = EmbeddedSystem([SubsystemApp(topology, lambda infra: None)], clock=ManualClock())
    system.stores["watcher"].put("docs", "d1", {"status": "new"})
    system.run_until_quiet()
    assert seen == [{"status": "new"}, {"status": "new"}]
    assert system.stores["watcher"].get("docs", "d1") == {"status": "new"}


def test_a_failing_change_does_not_hold_back_later_changes_of_its_document():
    from shared.runtime.app import SubsystemApp
    from shared.topology import Role, Service, ServiceKind, Subsystem, Trigger

    handled: list[int] = []
    failures = {1: 1}

    def record(change, ctx):
        n = change.after["n"]
        if failures.get(n):
            failures[n] -= 1
            raise ConnectionError("try again")
        handled.append(n)

    topology = Subsystem(
        "watcher",
        (
            Service(
                "svc",
                ServiceKind.CONTROL,
                (Trigger("on-doc", Role.TRIGGER, collection="docs", handlers=(record,)),),
            ),
        ),
    )
    system = EmbeddedSystem([SubsystemApp(topology, lambda infra: None)], clock=ManualClock())
    system.stores["watcher"].put("docs", "d1", {"n": 1})
    system.stores["watcher"].put("docs", "d1", {"n": 2})
    system.run_until_quiet()
    assert handled == [2, 1]  # as on Eventarc, which does not order a document's changes


def test_channels_keep_their_declared_ordering_and_ack_deadline():
    """The embedded wiring gives each subscription its channel's ``ordered`` and ``ack_deadline_s``.

    Two listeners read two events of one key and fail the first once: the ordered one holds
    the second back until the first is acknowledged, the unordered one does not. Two more take
    30 s (virtual) over their first delivery of a third event: past a 20 s ack deadline that
    delivery counts as failed and is redelivered, within a 60 s one it stands.
    """
    from shared.hub.routing import on_types
    from shared.runtime.app import SubsystemApp
    from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Subsystem

    seen: dict[str, list[int]] = {}

    def fails_first_once(name):
        def handle(event, ctx):
            seen.setdefault(name, []).append(event.body["n"])
            if seen[name] == [1]:
                raise ConnectionError("try again")

        return handle

    def slow_first(name):
        def handle(event, ctx):
            seen.setdefault(name, []).append(event.body["n"])
            if len(seen[name]) == 1:
                ctx.clock.advance(30_000)

        return handle

    def listener(name, event_type, handler, **channel):
        return Consumer(
            name,
            Role.LISTENER,
            Channel(on_types(event_type), min_backoff_s=1, max_backoff_s=1, **channel),
            handlers=(handler(name),),
        )

    topology = Subsystem(
        "wired",
        (
            Service(
                "views",
                ServiceKind.CONTROL,
                (
                    listener("ordered", "step", fails_first_once, ordered=True),
                    listener("unordered", "step", fails_first_once, ordered=False),
                    listener("short-deadline", "slow", slow_first, ack_deadline_s=20),
                    listener("long-deadline", "slow", slow_first, ack_deadline_s=60),
                ),
            ),
        ),
    )
    system = EmbeddedSystem([SubsystemApp(topology, lambda infra: None)], clock=ManualClock())
    for n in (1, 2):
        system.inject("wired", Topic.BUS, new_event("step", "k", {"n": n}, partition_key="k"))
    system.inject("wired", Topic.BUS, new_event("slow", "k", {"n": 1}, partition_key="k"))
    system.run_until_quiet()

    assert seen["ordered"] == [1, 1, 2]  # 2 waited for 1 to be acknowledged
    assert seen["unordered"] == [1, 2, 1]  # 2 went ahead of 1's retry
    assert seen["short-deadline"] == [1, 1]  # answered after 30 s > 20 s: redelivered
    assert seen["long-deadline"] == [1]  # answered after 30 s < 60 s: acknowledged


def test_events_keep_the_time_of_what_caused_them_however_late_they_are_handled(tmp_path):
    # A trigger stamps what a write causes with the write's time, and a gateway keeps the
    # time of the fact it translates, so views ordering by event time are not fooled by a
    # late delivery or a retry.
    clock = ManualClock()
    system = EmbeddedSystem([alpha.APP, beta.APP], clock=clock)
    published: list[tuple[str, str, Message]] = []
    system.hub.observers.append(lambda p, t, m: published.append((p, t, m)))
    written_at = clock.now_ms()
    checkout(system, "c1")
    clock.advance(30_000)  # the trigger and the gateway run half a minute later

    system.run_until_quiet()

    stamps = {
        m.attributes["type"]: json.loads(m.data)["timestamp"]
        for p, _, m in published
        if p == "alpha"
    }
    assert stamps["cart-checked-out"] == written_at
    assert stamps["alpha.order-submitted"] == written_at


def test_an_injected_event_pubsub_would_refuse_is_refused_and_nothing_is_delivered(system):
    from shared.exceptions import PublishError

    delivered: list[str] = []
    system.hub.delivery_observers.append(lambda name, _s: delivered.append(name))
    huge = new_event("cart-checked-out", "cart", {"blob": "x" * 10_000_000}, partition_key="c1")

    with pytest.raises(PublishError, match=r"alpha/topics/bus.*more than 10000000"):
        system.inject("alpha", Topic.BUS, huge)

    system.run_until_quiet()
    assert delivered == []


def test_a_trigger_run_past_its_function_timeout_counts_as_failed_and_runs_again(system):
    # On GCP a trigger's function times out after 60 s (Terraform's timeout for a function
    # no channel feeds) and Eventarc delivers the change again.
    runs: list[str] = []

    def first_trigger_run_takes_too_long(name: str, seconds: float) -> None:
        if name.startswith("alpha/") and "trigger" in name:
            runs.append(name)
            if len(runs) == 1:
                system.clock.advance(FUNCTION_TIMEOUT_MS + 1)

    system.hub.delivery_observers.append(first_trigger_run_takes_too_long)
    checkout(system, "c1")
    system.run_until_quiet()
    # the cart's two changes (checked out, then shipped), the first run twice
    assert len(runs) == 3 and len(set(runs)) == 1
    assert system.stores["alpha"].get("carts", "c1")["status"] == "shipped"
    assert system.faults("alpha") == system.faults("beta") == []
