"""Consumer-driven contract tests, derived from the topology.

For every (published type and major version, consumer ingress) pair, many
payloads are generated from the producer's *committed* schema; each is wrapped
in the envelope the producer publishes and handed to the consumer's real
ingress function. The consumer must acknowledge it without a fault and emit
the internal events its mapping promises. A producer whose schema allows what
a consumer's reader refuses (or a reader that demands what the schema does
not promise) fails here, before any event crosses a boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema

from shared.catalog.inventory import Published, Reading
from shared.catalog.schemas import example
from shared.hub.message import from_message, to_message
from shared.runtime.outcome import Outcome
from shared.topology import Topic
from tests.contract_pairs.conftest import (
    EVENTS,
    RecordingPublisher,
    committed_schema,
    envelope,
    ingresses,
    runtime,
)

Promise = Callable[[str, dict[str, Any]], list[str]]


def by_type(table: dict[str, str]) -> Promise:
    return lambda event_type, body: [table[event_type]]


def by_status(table: dict[str, str]) -> Promise:
    return lambda event_type, body: [table[body["status"]]] if body["status"] in table else []


def collected_once(table: dict[str, str], collected: tuple[str, str]) -> Promise:
    """As :func:`by_status`, but of one order's two ``collected`` statuses only the first
    heard is passed on (again when heard again), until the other is heard."""
    first_heard: dict[str, str] = {}
    plain = by_status(table)

    def promise(event_type: str, body: Any) -> list[str]:
        if body["status"] not in collected:
            return plain(event_type, body)
        first = first_heard.setdefault(body["id"], body["status"])
        if first == body["status"]:
            return plain(event_type, body)
        del first_heard[body["id"]]
        return []

    return promise


def always(internal: str) -> Promise:
    return lambda event_type, body: [internal]


PROMISES: dict[str, Promise] = {
    "customer/delivery-esg/ingress": by_status(
        {
            status: "delivery-status-changed"
            for status in ("assigned", "released", "picked-up", "delivered")
        }
    ),
    "customer/order-esg/ingress": always("order-status-changed"),
    "customer/restaurant-esg/ingress": by_type(
        {
            "restaurant.restaurant-updated": "restaurant-updated",
            "restaurant.menu-updated": "menu-updated",
        }
    ),
    "delivery/order-esg/ingress": always("order-updated"),
    "order/intake-esg/from-customer": by_type(
        {
            "customer.order-placed": "order-placed",
            "customer.order-cancel-requested": "cancel-requested",
        }
    ),
    "order/intake-esg/from-delivery": by_status(
        {
            "assigned": "driver-assigned",
            "released": "driver-released",
            "picked-up": "order-picked-up",
            "delivered": "order-delivered",
        }
    ),
    "order/intake-esg/from-restaurant": by_type(
        {
            "restaurant.order-accepted": "restaurant-accepted",
            "restaurant.order-rejected": "restaurant-rejected",
            "restaurant.order-ready": "restaurant-ready",
            "restaurant.restaurant-updated": "restaurant-updated",
        }
    ),
    "restaurant/order-esg/ingress": collected_once(
        {
            "placed": "order-received",
            "cancelled": "order-withdrawn",
            "picked-up": "order-collected",
            "delivered": "order-collected",
        },
        ("picked-up", "delivered"),
    ),
}
"""What each ingress promises to emit on the bus for an event it reads (its mapping)."""

PAIRS = [(event, reading) for event in EVENTS for reading in event.consumers]


def generatable(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as hypothesis-jsonschema resolves it (local ``$ref``s, no base URI)."""
    return {k: v for k, v in schema.items() if k not in ("$id", "$schema")}


@pytest.mark.parametrize(
    ("event", "reading"), PAIRS, ids=[f"{e.key}->{r.qualified}" for e, r in PAIRS]
)
def test_the_consumer_reads_whatever_its_producer_may_publish(
    event: Published, reading: Reading, ports: dict[str, Any]
) -> None:
    publisher = RecordingPublisher()
    ingress = runtime(reading, ports, publisher)
    promise = PROMISES[reading.qualified]

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(from_schema(generatable(committed_schema(event))))
    def reads(body: dict[str, Any]) -> None:
        assert_kept(event, ingress, publisher, promise, body)

    reads()


def assert_kept(
    event: Published, ingress: Any, publisher: RecordingPublisher, promise: Promise, body: Any
) -> None:
    """The ingress acknowledges ``body`` without a fault and emits what it promises."""
    publisher.clear()
    message = to_message(envelope(event, body))
    if not ingress.fn.channel.rule.matches(message.attributes):
        # A consumer may leave out, by its filter, only what it would not act on.
        assert promise(event.type, body) == [], ("the routing rule refused it", body)
        return

    outcome = ingress.handle(message)

    faults = [from_message(m).body for m in publisher.sent[Topic.FAULTS]]
    assert (outcome, faults) == (Outcome.ACK, []), body
    emitted = [from_message(m).type for m in publisher.sent[Topic.BUS]]
    assert emitted == promise(event.type, body), body
    assert publisher.sent[Topic.EXTERNAL] == []


def enumerated(schema: dict[str, Any]) -> dict[str, list[Any]]:
    """Each top-level field of ``schema`` with a closed set of values, and those values."""
    fields: dict[str, list[Any]] = {}
    for name, sub in schema.get("properties", {}).items():
        options = [o for o in sub.get("anyOf", [sub]) if o.get("type") != "null"]
        values = [v for o in options for v in o.get("enum", ())]
        if values:
            fields[name] = values
    return fields


ENUMERATED = [
    (event, reading, field, value)
    for event, reading in PAIRS
    for field, values in enumerated(committed_schema(event)).items()
    for value in values
]


@pytest.mark.parametrize(
    ("event", "reading", "field", "value"),
    ENUMERATED,
    ids=[f"{e.key}.{f}={v}->{r.qualified}" for e, r, f, v in ENUMERATED],
)
def test_the_consumer_keeps_its_promise_for_every_value_of_an_enumerated_field(
    event: Published, reading: Reading, field: str, value: Any, ports: dict[str, Any]
) -> None:
    publisher = RecordingPublisher()
    ingress = runtime(reading, ports, publisher)
    body = {**example(committed_schema(event)), field: value}

    assert_kept(event, ingress, publisher, PROMISES[reading.qualified], body)


def test_every_ingress_states_what_it_promises_to_emit() -> None:
    assert sorted(PROMISES) == [r.qualified for r in ingresses()]


def test_every_consumed_type_and_version_has_a_producer() -> None:
    readers = {r for e in EVENTS for r in e.consumers}
    for reading in ingresses():
        assert reading in readers, f"{reading.qualified} reads nothing anyone publishes"


def test_every_published_type_and_version_has_consumers_and_the_catalog_lists_them() -> None:
    from tests.contract_pairs.conftest import CONTRACTS

    catalog = (CONTRACTS / "README.md").read_text(encoding="utf-8")
    for event in EVENTS:
        assert event.consumers, f"{event.key} has no consumer"
        [row] = [
            line
            for line in catalog.splitlines()
            if line.startswith(f"| [`{event.type}`]") and f"| v{event.version} |" in line
        ]
        for reading in event.consumers:
            assert reading.qualified in row


def test_the_v2_evolution_flows_beside_v1_with_a_consumer_still_on_v1() -> None:
    status = {
        e.version: {r.subsystem for r in e.consumers}
        for e in EVENTS
        if e.type == "order.order-status-changed"
    }
    assert status == {1: {"restaurant"}, 2: {"customer", "delivery"}}
    for event in EVENTS:
        if event.type == "order.order-status-changed":
            for reading in event.consumers:
                selects = f'attributes.schemaVersion = "{event.version}"'
                assert selects in reading.subscription_filter, reading.qualified
