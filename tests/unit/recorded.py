"""A subsystem's one trigger run on an in-memory hub, with what it publishes kept by topic."""

from __future__ import annotations

from typing import Any

from shared.clock import ManualClock
from shared.hub.memory import InMemoryHub
from shared.hub.message import Message
from shared.runtime.consumer import TriggerRuntime
from shared.topology import Subsystem, Topic


def trigger_runtime(
    topology: Subsystem,
) -> tuple[TriggerRuntime[Any], dict[str, list[Message]]]:
    """The runtime of ``topology``'s one trigger, with no ports, publishing to a hub that has
    each of the subsystem's topics; and the messages published there, by topic."""
    clock = ManualClock(1_000)
    hub = InMemoryHub(clock)
    for topic in Topic:
        hub.create_topic(topology.name, topic)
    published: dict[str, list[Message]] = {topic: [] for topic in Topic}
    hub.observers.append(lambda _project, topic, m: published[topic].append(m))
    [(service, fn)] = list(topology.triggers())
    runtime = TriggerRuntime(topology, service, fn, None, hub.publisher(topology.name), clock)
    return runtime, published
