"""The envelope's Avro schema agrees with :class:`Envelope`: it declares what all envelopes have."""

from __future__ import annotations

import pytest

from shared.envelope import RESERVED_FIELDS, Envelope, new_event
from shared.exceptions import EnvelopeError
from shared.hub.topic_schemas import ENVELOPE_SCHEMA_ID, envelope_avro_schema, schema_path

SCHEMA = envelope_avro_schema()
DECLARED = {f["name"]: f["type"] for f in SCHEMA["fields"]}
FULL = new_event(
    "order-placed",
    "order",
    {"id": "o-1"},
    partition_key="o-1",
    tags={"source": "checkout-bff"},
    raw={"native": True},
    metadata={"correlationId": "flow-1"},
).to_json()
MINIMAL = Envelope(id="e", type="tick", timestamp=1, partition_key="k", entity="tick", body={})

# a value of the wrong kind for each Avro type, which Envelope.from_json must refuse too
WRONG_KIND = {"string": 7, "long": "1764150000000"}


def test_the_schema_is_pinned_so_a_change_gets_a_new_schema_id():
    assert ENVELOPE_SCHEMA_ID.endswith("-v1")
    assert {k: v for k, v in SCHEMA.items() if k != "doc"} == {
        "type": "record",
        "name": "Envelope",
        "namespace": "fooddelivery",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "type", "type": "string"},
            {"name": "timestamp", "type": "long"},
            {"name": "partitionKey", "type": "string"},
            {"name": "tags", "type": {"type": "map", "values": "string"}},
        ],
    }


def test_it_declares_exactly_the_reserved_fields_every_envelope_has():
    always_written = set(MINIMAL.to_json()) & RESERVED_FIELDS
    assert set(DECLARED) == always_written
    assert set(DECLARED) == RESERVED_FIELDS - {"raw", "metadata"}


@pytest.mark.parametrize("name", list(DECLARED))
def test_every_declared_field_is_required_by_the_envelope(name):
    with pytest.raises(EnvelopeError) as info:
        Envelope.from_json({k: v for k, v in FULL.items() if k != name})
    assert info.value.field == name


@pytest.mark.parametrize("name", list(DECLARED))
def test_every_declared_type_is_the_envelopes_own(name):
    avro = DECLARED[name]
    value = FULL[name]
    if avro == {"type": "map", "values": "string"}:
        assert isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        wrong: object = {"source": 1}
        field = f"{name}.source"
    else:
        assert isinstance(value, {"string": str, "long": int}[avro])
        wrong = WRONG_KIND[avro]
        field = name
    with pytest.raises(EnvelopeError) as info:
        Envelope.from_json({**FULL, name: wrong})
    assert info.value.field == field


@pytest.mark.parametrize("optional", ["raw", "metadata"])
def test_optional_fields_are_left_undeclared(optional):
    # Avro JSON needs every declared field present, and an envelope may omit these
    assert optional not in DECLARED
    assert Envelope.from_json({k: v for k, v in FULL.items() if k != optional})


def test_the_schema_lives_in_the_topics_project():
    assert schema_path("p-1") == "projects/p-1/schemas/fooddelivery-envelope-v1"
