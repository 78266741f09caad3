"""Anti-corruption, derived from the topology: a payload that breaks an ingress's reader
becomes a fault carrying the validation error; nothing is emitted and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.catalog.inventory import Published, Reading
from shared.catalog.schemas import example
from shared.clock import ManualClock
from shared.hub.message import Message
from shared.runtime.embedded import EmbeddedSystem
from shared.topology import Topic
from tests.contract_pairs.conftest import (
    EVENTS,
    START,
    app_named,
    committed_schema,
    envelope,
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
    system = EmbeddedSystem(
        [app_named(reading.subsystem)],
        standalone=True,
        clock=ManualClock(START),
        settings=settings(dev_key),
    )
    published: list[tuple[str, str, Message]] = []
    system.hub.observers.append(lambda project, topic, m: published.append((project, topic, m)))

    valid = example(committed_schema(event))  # the attributes a producer's bug leaves right
    system.inject(event.producer, Topic.EXTERNAL, envelope(event, broken(event), valid))
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
