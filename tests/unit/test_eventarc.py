"""Parsing Firestore's Eventarc CloudEvents (``DocumentEventData``) into DocumentChange."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud.firestore_v1 import GeoPoint
from google.events.cloud.firestore import ArrayValue, Document, DocumentEventData, MapValue, Value
from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.type import latlng_pb2

from shared.exceptions import EnvelopeError
from shared.stores.eventarc import parse_document_written
from tests.contracts.firestore_values import typed

ROOT = "projects/demo/databases/(default)/documents"
NAME = f"{ROOT}/orders/o-1"
WRITTEN = "google.cloud.firestore.document.v1.written"
T1 = timestamp_pb2.Timestamp(seconds=1_764_150_000, nanos=123_456_000)
T2 = timestamp_pb2.Timestamp(seconds=1_764_150_001, nanos=500)
T1_ISO, T2_ISO = "2025-11-26T09:40:00.123456Z", "2025-11-26T09:40:01.000000Z"


def doc(fields: dict[str, Value], *, name: str = NAME, updated: Any = T1) -> Document:
    return Document(name=name, fields=fields, create_time=T1, update_time=updated)


def event(value: Document | None = None, old_value: Document | None = None) -> bytes:
    data = DocumentEventData(value=value, old_value=old_value)
    return bytes(DocumentEventData.serialize(data))


def string(s: str) -> Value:
    return Value(string_value=s)


def array(*values: Value) -> Value:
    return Value(array_value=ArrayValue(values=list(values)))


def mapping(**fields: Value) -> Value:
    return Value(map_value=MapValue(fields=fields))


def test_created() -> None:
    change = parse_document_written(
        event(value=doc({"status": string("placed")})), {"type": WRITTEN}
    )
    assert (change.collection, change.key, change.kind) == ("orders", "o-1", "created")
    assert (change.before, change.after, change.version) == (None, {"status": "placed"}, T1_ISO)
    assert change.written_ms == 1_764_150_000_123  # when it was written, for what it causes


def test_updated() -> None:
    data = event(
        value=doc({"status": string("paid")}, updated=T2),
        old_value=doc({"status": string("placed")}),
    )
    change = parse_document_written(data)
    assert change.kind == "updated"
    assert (change.before, change.after) == ({"status": "placed"}, {"status": "paid"})
    assert change.version == T2_ISO


def test_deleted_takes_its_version_from_the_event_time() -> None:
    data = event(old_value=doc({"status": string("paid")}))
    change = parse_document_written(data, {"ce-time": "2025-11-26T09:41:00.987654321Z"})
    assert (change.kind, change.before, change.after) == ("deleted", {"status": "paid"}, None)
    assert change.version == "2025-11-26T09:41:00.987654Z"
    assert change.written_ms == 1_764_150_060_987
    assert parse_document_written(data).version == T1_ISO  # no time: the old update time


def test_nested_values_become_what_the_firestore_client_reads() -> None:
    point = latlng_pb2.LatLng(latitude=52.5, longitude=13.4)
    fields = {
        "null": Value(null_value=struct_pb2.NULL_VALUE),
        "yes": Value(boolean_value=True),
        "no": Value(boolean_value=False),
        "zero": Value(integer_value=0),
        "big": Value(integer_value=2**62),
        "pi": Value(double_value=3.25),
        "at": Value(timestamp_value=T1),
        "text": string(""),
        "blob": Value(bytes_value=b"\x00\xff"),
        "ref": Value(reference_value=f"{ROOT}/customers/c-1"),
        "where": Value(geo_point_value=point),
        "items": array(
            mapping(sku=string("a"), qty=Value(integer_value=2)), Value(integer_value=1)
        ),
        "empty": array(),
        "meta": mapping(tags=array(string("x")), inner=mapping()),
    }
    assert typed(parse_document_written(event(value=doc(fields))).after) == typed(
        {
            "null": None,
            "yes": True,
            "no": False,
            "zero": 0,
            "big": 2**62,
            "pi": 3.25,
            "at": DatetimeWithNanoseconds(2025, 11, 26, 9, 40, 0, 123456, tzinfo=UTC),
            "text": "",
            "blob": b"\x00\xff",
            "ref": f"{ROOT}/customers/c-1",
            "where": GeoPoint(52.5, 13.4),
            "items": [{"sku": "a", "qty": 2}, 1],
            "empty": [],
            "meta": {"tags": ["x"], "inner": {}},
        }
    )


def test_sub_collection_path() -> None:
    name = f"{ROOT}/orders/o-1/items/i-9"
    change = parse_document_written(event(value=doc({}, name=name)))
    assert (change.collection, change.key, change.after) == ("orders/o-1/items", "i-9", {})


def test_json_content_type_and_http_headers() -> None:
    message = DocumentEventData(value=doc({"n": Value(integer_value=7)}))
    data = json_format.MessageToJson(DocumentEventData.pb(message)).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "ce-type": WRITTEN}
    change = parse_document_written(data, headers)
    assert (change.key, change.after, change.version) == ("o-1", {"n": 7}, T1_ISO)


@pytest.mark.parametrize(
    ("data", "attributes", "field"),
    [
        (b"\x0a\x05ab", {}, "$"),  # truncated: length 5, two bytes follow
        (b"\xff\xff\xff", {}, "$"),
        (b"", {}, "$"),  # neither value nor old_value
        (b"{not json", {"datacontenttype": "application/json"}, "$"),
        (event(value=doc({})), {"datacontenttype": "text/plain"}, "datacontenttype"),
        (event(value=doc({})), {"type": "google.cloud.pubsub.topic.v1.messagePublished"}, "type"),
        (event(value=doc({}, name="orders/o-1")), {}, "value.name"),
        (event(value=doc({}, name=f"{ROOT}/orders")), {}, "value.name"),
        (event(old_value=doc({}, name=f"{ROOT}//o-1")), {}, "old_value.name"),
        (event(value=doc({}), old_value=doc({}, name=f"{ROOT}/orders/o-2")), {}, "old_value.name"),
        (event(value=doc({"x": Value()})), {}, "value.fields.x"),
        (
            event(value=doc({"m": mapping(y=Value())})),
            {},
            "value.fields.m.y",
        ),
        (event(old_value=doc({}, updated=None)), {}, "value.update_time"),
        (event(old_value=doc({})), {"time": "yesterday"}, "time"),
    ],
)
def test_malformed_payloads_name_the_problem(
    data: bytes, attributes: dict[str, str], field: str
) -> None:
    with pytest.raises(EnvelopeError) as raised:
        parse_document_written(data, attributes)
    assert raised.value.field == field
