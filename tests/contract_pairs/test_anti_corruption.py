"""Anti-corruption, derived from the topology: a payload that breaks an ingress's reader
becomes a fault carrying the validation error; nothing is emitted and nothing is written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shared.catalog.inventory import Published, Reading
from shared.catalog.schemas import example
from shared.clock import ManualClock
from shared.contracts import SCHEMA_VERSION_TAG
from shared.hub.message import Message, to_message
from shared.hub.routing import on_types
from shared.runtime.app import SubsystemApp
from shared.runtime.embedded import EmbeddedSystem
from shared.topology import Topic
from tests.contract_pairs.conftest import (
    EVENTS,
    START,
    app_named,
    committed_schema,
    envelope,
    ingress_of,
    routed,
    settings,
)

CASES = [(event, reading) for event in EVENTS for reading in event.consumers]


def broken(event: Published) -> dict[str, Any]:
    """A valid example with every top-level field replaced by a value no reader accepts."""
    return {name: [[None]] for name in example(committed_schema(event))}


@pytest.mark.parametrize(
    ("event", "reading"), CASES, ids=[f"{e.key}->{r.qualified}" for e, r in CASES]
)
def test_a_payload_that_breaks_the_reader_becomes_a_fault_and_changes_nothing(
    event: Published, reading: Reading, dev_key: Path
) -> None:
    assert_becomes_a_fault(app_named(reading.subsystem), event, reading, dev_key)


def filtering_otherwise() -> list[tuple[Published, Reading, str, str]]:
    """Each case whose event has an attribute of enumerated values, with every value of it
    but the example's: an ingress filtering on that one gets no example."""
    found = []
    for event, reading in CASES:
        schema = committed_schema(event)
        valid = example(schema)
        for name in event.attributes:
            for value in schema["properties"][name].get("enum", ()):
                if value != valid[name]:
                    found.append((event, reading, name, value))
    return found


OTHERWISE = filtering_otherwise()


@pytest.mark.parametrize(
    ("event", "reading", "attribute", "value"),
    OTHERWISE,
    ids=[f"{e.key}->{r.qualified}.{a}={v}" for e, r, a, v in OTHERWISE],
)
def test_the_broken_payload_reaches_an_ingress_filtering_on_another_value(
    event: Published, reading: Reading, attribute: str, value: str, dev_key: Path
) -> None:
    # The payload carried the example's attributes (status=placed): an ingress filtering on
    # another status never got it, and the test died unpacking no fault.
    app, service, ingress = ingress_of(reading)
    rule = on_types(event.type, **{SCHEMA_VERSION_TAG: str(event.version), attribute: value})
    narrowed = replace(ingress, channel=replace(ingress.channel, rule=rule))
    functions = tuple(narrowed if fn is ingress else fn for fn in service.functions)
    services = tuple(
        replace(s, functions=functions) if s is service else s for s in app.topology.services
    )
    other = replace(app, topology=replace(app.topology, services=services))
    assert_becomes_a_fault(other, event, reading, dev_key)


def assert_becomes_a_fault(
    app: SubsystemApp[Any], event: Published, reading: Reading, dev_key: Path
) -> None:
    """``event`` with a broken payload, published with attributes ``reading``'s rule in
    ``app`` selects, becomes one fault of that ingress and changes nothing else."""
    system = EmbeddedSystem(
        [app], standalone=True, clock=ManualClock(START), settings=settings(dev_key)
    )
    published: list[tuple[str, str, Message]] = []
    system.hub.observers.append(lambda project, topic, m: published.append((project, topic, m)))

    rule = ingress_of(reading, app)[2].channel.rule
    # The attributes a producer's bug leaves right, as the ingress's subscription selects.
    valid = routed(rule, event, example(committed_schema(event)))
    sent = envelope(event, broken(event), valid)
    assert rule.matches(to_message(sent).attributes), rule.to_filter()
    system.inject(event.producer, Topic.EXTERNAL, sent)
    system.run_until_quiet()

    [fault] = system.faults(reading.subsystem)
    assert fault["function"] == reading.qualified
    assert fault["error"]["type"] == "InvalidEventError"
    assert f"{event.type} does not fit" in fault["error"]["message"]
    emitted = [topic for project, topic, _ in published if project == reading.subsystem]
    assert emitted == [Topic.FAULTS]
    store = system.stores[reading.subsystem]
    written = {collection for collection, _key in store.snapshot()}  # every collection
    assert written == {"faults"}
