"""A fault's stored document change becomes the Eventarc CloudEvent that parses back into it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.exceptions import EnvelopeError
from shared.runtime.change_events import StoredChange, cloudevent_headers, document_event_data
from shared.runtime.consumer import change_message
from shared.stores.base import DocumentChange
from shared.stores.eventarc import epoch_ms, parse_document_written

VERSION = "2026-01-01T12:30:45.123456Z"
EVERY_KIND: dict[str, Any] = {
    "text": "Bergmannstraße 5",
    "count": 3,
    "big": 2**62,
    "price": 9.5,
    "open": False,
    "gone": None,
    "lines": [{"name": "margherita", "quantity": 2}, "tiramisu", [], {}],
    "address": {"lat": 52.49, "tags": ["door", "2nd floor"]},
    "empty": {},
    "none": [],
}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, EVERY_KIND),  # created
        ({"status": "placed"}, EVERY_KIND),  # updated
        ({"status": "placed"}, {"status": "placed"}),  # written again, unchanged
        (EVERY_KIND, None),  # deleted
    ],
)
def test_a_stored_change_parses_back_into_the_very_same_change(before, after):
    change = DocumentChange("pos-inbox", "o-9:accepted", before, after, VERSION, epoch_ms(VERSION))
    stored = StoredChange.from_data(change_message(change).data)
    assert stored is not None

    headers = cloudevent_headers("e-1", "order-dev", "pos-inbox/o-9:accepted")
    parsed = parse_document_written(document_event_data(stored, "order-dev"), headers)

    assert parsed == change


def test_the_headers_are_those_of_a_binary_mode_firestore_written_event():
    assert cloudevent_headers("e-1", "acme-fd-order-dev", "orders/o-1") == {
        "ce-id": "e-1",
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.firestore.document.v1.written",
        "ce-source": "//firestore.googleapis.com/projects/acme-fd-order-dev/databases/(default)",
        "ce-subject": "documents/orders/o-1",
        "ce-document": "orders/o-1",
        "Content-Type": "application/protobuf",
    }


@pytest.mark.parametrize(
    "data",
    [
        b"\x0a\x03not json",  # the undecodable CloudEvent data a trigger kept as it came
        b'{"tick": 1767225600000}',
        json.dumps({"collection": "c", "key": "k", "version": "v"}).encode(),  # no document
        json.dumps({"collection": "c", "key": 1, "after": {}, "version": "v"}).encode(),
        json.dumps({"collection": "c", "key": "k", "after": [], "version": "v"}).encode(),
    ],
)
def test_data_that_holds_no_change_is_no_stored_change(data):
    assert StoredChange.from_data(data) is None


def test_a_version_that_is_no_timestamp_is_refused():
    stored = StoredChange("orders", "o-1", None, {"a": 1}, "v7")
    with pytest.raises(EnvelopeError, match="'v7' is not a timestamp"):
        document_event_data(stored, "order-dev")


def test_a_stored_change_masks_the_fields_its_trigger_redacts() -> None:
    change = DocumentChange(
        "orders",
        "o-1",
        {"id": "o-1", "paymentMethod": None, "card": {"token": "pm_1", "last4": "4242"}},
        {"id": "o-1", "paymentMethod": "pm_2", "card": {"token": "pm_1", "last4": "4242"}},
        "v1",
    )

    stored = json.loads(change_message(change, redact=("paymentMethod", "card.token", "x.y")).data)

    assert stored["before"] == {
        "id": "o-1",
        "paymentMethod": None,
        "card": {"token": "[redacted]", "last4": "4242"},
    }
    assert stored["after"]["paymentMethod"] == "[redacted]"
    assert change.after is not None and change.after["paymentMethod"] == "pm_2"  # untouched


def test_a_fault_record_keeps_timestamps_and_bytes_as_what_they_are() -> None:
    after = {"at": datetime(2026, 1, 1, 12, 30, 45, 123456, tzinfo=UTC), "blob": b"\x00"}
    change = DocumentChange("pos-inbox", "o-9", None, after, VERSION, epoch_ms(VERSION))
    stored = StoredChange.from_data(change_message(change).data)
    assert stored is not None

    parsed = parse_document_written(document_event_data(stored, "order-dev"))

    assert parsed.after == after
