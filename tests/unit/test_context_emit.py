"""Context.emit: the ids of emitted events, by cause or by the fact they state."""

from __future__ import annotations

import logging

from shared.clock import ManualClock
from shared.runtime.context import Context
from shared.topology import Role


def context(cause_id: str) -> Context[None]:
    return Context(
        subsystem="order",
        service="intake-esg",
        function="from-delivery",
        role=Role.INGRESS,
        ports=None,
        clock=ManualClock(1_000),
        log=logging.LoggerAdapter(logging.getLogger("test")),
        cause_id=cause_id,
        correlation_id="c-1",
    )


def emitted_id(cause_id: str, fact: str | None = None, key: str = "o-1") -> str:
    event = context(cause_id).emit(
        "order-picked-up", "order", {"id": key}, partition_key=key, fact=fact
    )
    return event.id


def test_events_of_one_fact_share_an_id_whatever_caused_them() -> None:
    assert emitted_id("e-1", fact="d-1/picked-up") == emitted_id("e-2", fact="d-1/picked-up")


def test_other_facts_and_plain_events_get_ids_of_their_own() -> None:
    ids = {
        emitted_id("e-1", fact="d-1/picked-up"),
        emitted_id("e-1", fact="d-2/picked-up"),
        emitted_id("e-1", fact="d-1/picked-up", key="o-2"),
        emitted_id("e-1"),
        emitted_id("e-2"),
    }
    assert len(ids) == 5


def test_the_event_still_names_its_own_cause() -> None:
    event = context("e-2").emit(
        "order-picked-up", "order", {}, partition_key="o-1", fact="d-1/picked-up"
    )
    assert event.metadata["causationId"] == "e-2"
