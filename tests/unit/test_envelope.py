from __future__ import annotations

import json

import pytest

from shared.envelope import MAX_ENVELOPE_BYTES, Envelope, derive_id, new_event
from shared.exceptions import EnvelopeError

WIRE = {
    "id": "e-1",
    "type": "order-placed",
    "timestamp": 1764150000000,
    "partitionKey": "o-42",
    "tags": {"source": "checkout-bff", "subsystem": "customer"},
    "order": {"id": "o-42", "total": 1250},
    "raw": {"native": True},
    "metadata": {"correlationId": "flow-7"},
}


def test_wire_form_round_trips_with_the_brief_field_names():
    event = Envelope.from_bytes(json.dumps(WIRE))
    assert event.entity == "order"
    assert event.body == {"id": "o-42", "total": 1250}
    assert event.partition_key == "o-42"
    assert event.correlation_id == "flow-7"
    assert json.loads(event.to_bytes()) == WIRE


def test_optional_fields_are_left_out_when_absent():
    event = new_event("order-placed", "order", {"id": "o"}, partition_key="o", timestamp=5)
    assert set(event.to_json()) == {"id", "type", "timestamp", "partitionKey", "tags", "order"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"type": 3}, "type"),
        ({"type": "Order Placed"}, "type"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": True}, "timestamp"),
        ({"timestamp": -1}, "timestamp"),
        ({"partitionKey": ""}, "partitionKey"),
        ({"type": "order-placed\n"}, "type"),
        ({"timestamp": 2**60}, "timestamp"),
        ({"id": "e" * 1025}, "id"),
        ({"partitionKey": "k" * 1025}, "partitionKey"),
        ({"tags": {"googSource": "x"}}, "tags.googSource"),
        ({"tags": {"timeout": "30"}}, "tags.timeout"),  # the Pub/Sub client's own keyword
        ({"tags": {"t" * 257: "x"}}, "tags." + "t" * 257),
        ({"tags": {f"t{n}": "x" for n in range(98)}}, "tags"),
        ({"tags": ["a"]}, "tags"),
        ({"tags": {"source": 1}}, "tags.source"),
        ({"order": "not an object"}, "order"),
        ({"metadata": "x"}, "metadata"),
        ({"payment": {}}, "<entity>"),
    ],
)
def test_wrongly_typed_fields_are_named(change, field):
    with pytest.raises(EnvelopeError) as info:
        Envelope.from_json({**WIRE, **change})
    assert info.value.field == field


@pytest.mark.parametrize("missing", ["id", "type", "timestamp", "partitionKey", "tags", "order"])
def test_missing_fields_are_named(missing):
    doc = {k: v for k, v in WIRE.items() if k != missing}
    with pytest.raises(EnvelopeError) as info:
        Envelope.from_json(doc)
    assert info.value.field == ("<entity>" if missing == "order" else missing)
    assert "required" in str(info.value) or "missing" in str(info.value)


def test_not_json_and_oversized_input_are_rejected():
    with pytest.raises(EnvelopeError, match="not JSON"):
        Envelope.from_bytes(b"\xff{")
    with pytest.raises(EnvelopeError, match="expected a JSON object"):
        Envelope.from_bytes(b"[1, 2]")
    big = json.dumps({**WIRE, "order": {"blob": "x" * MAX_ENVELOPE_BYTES}})
    with pytest.raises(EnvelopeError, match="exceeds the limit"):
        Envelope.from_bytes(big)


def test_derived_events_get_deterministic_ids_and_carry_the_correlation():
    cause = Envelope.from_json(WIRE)
    first = new_event("order-accepted", "order", {}, partition_key="o-42", cause=cause)
    again = new_event("order-accepted", "order", {}, partition_key="o-42", cause=cause)
    other = new_event(
        "order-accepted", "order", {}, partition_key="o-42", cause=cause, discriminator="2"
    )
    assert first.id == again.id != other.id
    assert first.metadata == {"correlationId": "flow-7", "causationId": "e-1"}
    assert derive_id("a", "b") == derive_id("a", "b") != derive_id("ab")


def test_root_events_get_unique_ids():
    ids = {new_event("x", "thing", {}, partition_key="k").id for _ in range(100)}
    assert len(ids) == 100


def test_nan_and_infinity_are_not_json_either_way():
    with pytest.raises(EnvelopeError):
        Envelope.from_bytes(json.dumps(WIRE).replace("1250", "NaN"))
    event = new_event(
        "order-placed", "order", {"lat": float("nan")}, partition_key="o", timestamp=5
    )
    with pytest.raises(EnvelopeError, match="not JSON"):
        event.to_bytes()
