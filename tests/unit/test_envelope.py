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
    assert "required" in str(info.value)


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


def _wire_text(**change: object) -> str:
    return json.dumps({**WIRE, **change})


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (_wire_text(id="\ud800"), "id"),
        (_wire_text(partitionKey="o-\udfff"), "partitionKey"),
        (_wire_text(tags={"source": "x\udc00"}), "tags.source"),
        (_wire_text(tags={"\udc00": "x"}), "tags.\\udc00"),
        (_wire_text(order={"id": "o-42", "lines": [{"name": "\ud83d"}]}), "order.lines[0].name"),
        (_wire_text(order={"\ud83d": 1}), "order.\\ud83d"),
        (_wire_text(raw="\udead"), "raw"),
        (_wire_text(metadata={"correlationId": "\ud800"}), "metadata.correlationId"),
    ],
)
def test_a_lone_surrogate_anywhere_is_refused_naming_its_field(text, field):
    # json.dumps escapes it (\ud800): valid JSON, but no UTF-8 text, so no envelope
    with pytest.raises(EnvelopeError) as info:
        Envelope.from_bytes(text.encode())
    assert info.value.field == field
    assert "lone surrogate" in str(info.value)
    str(info.value).encode()  # the error itself is text a fault event can carry


def test_escaped_surrogate_pairs_and_escaped_backslashes_are_text():
    event = Envelope.from_bytes(_wire_text(order={"id": "\ud83d\ude00", "note": "\\ud800"}))
    assert event.body == {"id": "😀", "note": "\\ud800"}


def test_an_event_built_with_a_lone_surrogate_is_refused_on_the_way_out_naming_it():
    event = new_event("order-placed", "order", {"items": [{"n": "\ud800"}]}, partition_key="o")
    with pytest.raises(EnvelopeError) as info:
        event.to_bytes()
    assert info.value.field == "order.items[0].n"


def test_a_number_beyond_a_double_is_not_json():
    # NaN and Infinity are refused as constants; 1e999 is Infinity spelled as a number
    with pytest.raises(EnvelopeError, match="1e999"):
        Envelope.from_bytes(json.dumps(WIRE).replace("1250", "1e999").encode())
    with pytest.raises(EnvelopeError, match="-1e999"):
        Envelope.from_bytes(json.dumps(WIRE).replace("1250", "-1e999").encode())
    assert Envelope.from_bytes(json.dumps(WIRE).replace("1250", "1e308")).body["total"] == 1e308


def test_nesting_too_deep_for_the_decoder_is_an_envelope_error_both_ways():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(EnvelopeError, match="nested too deeply"):
        Envelope.from_bytes(json.dumps(WIRE).replace("1250", deep).encode())
    nested: list[object] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(EnvelopeError, match="nested too deeply"):
        new_event("order-placed", "order", {"n": nested}, partition_key="o").to_bytes()


def test_the_size_limit_counts_the_bytes_of_text_too():
    text = json.dumps(
        {**WIRE, "order": {"blob": "é" * (MAX_ENVELOPE_BYTES // 2)}}, ensure_ascii=False
    )
    assert len(text) < MAX_ENVELOPE_BYTES < len(text.encode())
    with pytest.raises(EnvelopeError, match="exceeds the limit"):
        Envelope.from_bytes(text)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timestamp": 1764150000000.5}, "timestamp"),  # e.g. a time computed in seconds * 1000
        ({"timestamp": True}, "timestamp"),
        ({"partition_key": 42}, "partitionKey"),
        ({"id": None}, "id"),
        ({"type": 3}, "type"),
        ({"body": ["o-42"]}, "order"),
        ({"metadata": "flow-7"}, "metadata"),
        ({"tags": [("source", "x")]}, "tags"),
        ({"tags": {1: "x"}}, "tags"),
    ],
)
def test_an_event_built_in_code_has_the_types_its_consumers_read_back(change, field):
    # what a consumer's from_json would refuse is refused where the event is made
    fields = {
        "id": "e-1",
        "type": "order-placed",
        "timestamp": 1764150000000,
        "partition_key": "o-42",
        "entity": "order",
        "body": {"id": "o-42"},
    }
    with pytest.raises(EnvelopeError) as info:
        Envelope(**{**fields, **change})
    assert info.value.field == field
