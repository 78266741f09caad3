"""Context.emit: the ids of emitted events, by cause or by the fact they state."""

from __future__ import annotations

import logging

import pytest

from shared.clock import ManualClock
from shared.exceptions import EnvelopeError, PoisonError
from shared.hub.message import to_message
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


def test_the_same_event_emitted_twice_is_queued_once() -> None:
    ctx = context("e-1")
    first = ctx.emit("order-picked-up", "order", {"id": "o-1"}, partition_key="o-1")
    ctx.clock.advance(5)  # later, as a system clock would be
    again = ctx.emit("order-picked-up", "order", {"id": "o-1"}, partition_key="o-1")
    assert again is first
    assert [event for _, event in ctx.emitted] == [first]


def test_two_different_events_with_one_id_are_refused_not_left_for_consumers_to_drop() -> None:
    # two statuses of one order from one cause: without a discriminator they share an id,
    # and every consumer would take the second for a redelivery of the first
    ctx = context("e-1")
    ctx.emit("order-status-changed", "order", {"status": "placed"}, partition_key="o-1")
    with pytest.raises(PoisonError, match="discriminator"):
        ctx.emit("order-status-changed", "order", {"status": "cancelled"}, partition_key="o-1")
    ctx.emit(
        "order-status-changed",
        "order",
        {"status": "cancelled"},
        partition_key="o-1",
        discriminator="cancelled",
    )
    assert [event.body["status"] for _, event in ctx.emitted] == ["placed", "cancelled"]


@pytest.mark.parametrize(
    "name", ["id", "type", "partitionKey", "source", "function", "subsystem", "env"]
)
def test_a_tag_named_like_the_kits_attributes_is_refused_where_it_is_emitted(name: str) -> None:
    # an envelope attribute would overwrite it on the bus; a kit tag would say another
    # function emitted the event
    ctx = context("e-1")
    with pytest.raises(EnvelopeError, match=f"intake-esg/from-delivery may not tag .* {name!r}"):
        ctx.emit("order-picked-up", "order", {}, partition_key="o-1", tags={name: "x"})
    assert ctx.emitted == []
    assert issubclass(EnvelopeError, PoisonError)  # the delivery becomes a fault at once


def test_a_tag_of_its_own_travels_as_an_attribute_beside_the_kits() -> None:
    event = context("e-1").emit(
        "order-picked-up", "order", {}, partition_key="o-1", tags={"status": "picked-up"}
    )
    attributes = to_message(event).attributes
    assert attributes["status"] == event.tags["status"] == "picked-up"
    assert (attributes["source"], attributes["type"]) == ("intake-esg", "order-picked-up")
