"""A trigger sees the values the Firestore client reads, on the embedded store and on GCP.

The reference is the SDK itself: what ``google-cloud-firestore`` returns for a
document it encoded (:data:`~tests.contracts.firestore_values.AS_READ`). The
embedded store's feed and the Eventarc CloudEvent (as GCP sends it, and as the
devstack builds it) must yield exactly that. The emulator's listener is held
to the same by the store contract (``tests/integration/test_store_firestore.py``).
"""

from __future__ import annotations

from typing import Any

from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1._helpers import GeoPoint
from google.cloud.firestore_v1.types import Value as SdkValue
from google.events.cloud.firestore import Document, DocumentEventData, Value
from google.protobuf import timestamp_pb2

from shared.runtime.change_events import StoredChange, document_event_data
from shared.stores.base import DocumentChange
from shared.stores.eventarc import parse_document_written
from shared.stores.memory import InMemoryDocumentStore
from tests.contracts.firestore_values import AS_READ, EVERY_VALUE, MOMENT, typed

NAME = "projects/demo/databases/(default)/documents/orders/o-1"
VERSION = "2026-01-02T03:04:05.678901Z"
PLACE = GeoPoint(52.49, 13.42)


def as_event_value(value: Any) -> Value:
    """A value as Firestore puts it in a CloudEvent: the SDK's encoding, the same wire format."""
    encoded = SdkValue.pb(_helpers.encode_value(value)).SerializeToString()
    return Value.deserialize(encoded)


def gcp_event(doc: dict[str, Any]) -> bytes:
    """A ``written`` event for a created document holding ``doc``."""
    fields = {name: as_event_value(value) for name, value in doc.items()}
    stamp = timestamp_pb2.Timestamp(seconds=int(MOMENT.timestamp()))
    data = DocumentEventData(value=Document(name=NAME, fields=fields, update_time=stamp))
    return bytes(DocumentEventData.serialize(data))


def sdk_read(doc: dict[str, Any]) -> dict[str, Any]:
    read: dict[str, Any] = _helpers.decode_dict(_helpers.encode_dict(doc), None)
    return read


def test_the_reference_is_what_the_firestore_client_reads() -> None:
    assert typed(sdk_read(EVERY_VALUE)) == typed(AS_READ)


def test_the_embedded_store_and_its_feed_hold_what_the_client_reads() -> None:
    store, seen = InMemoryDocumentStore(), list[DocumentChange]()
    store.watch("orders", seen.append)
    store.put("orders", "o-1", EVERY_VALUE)
    store.delete("orders", "o-1")
    assert [typed(c.after or c.before) for c in seen] == [typed(AS_READ)] * 2
    store.put("orders", "o-2", EVERY_VALUE)
    assert typed(store.get("orders", "o-2")) == typed(AS_READ)
    [found] = store.query("orders")
    assert typed(found.data) == typed(AS_READ)


def test_the_eventarc_event_gcp_sends_parses_into_what_the_client_reads() -> None:
    change = parse_document_written(gcp_event({**EVERY_VALUE, "place": PLACE}))
    assert typed(change.after) == typed(sdk_read({**EVERY_VALUE, "place": PLACE}))


def test_the_devstack_event_of_a_change_parses_back_into_the_same_values() -> None:
    for before, after in [(None, AS_READ), (AS_READ, {**AS_READ, "v": 1}), (AS_READ, None)]:
        stored = StoredChange("orders", "o-1", before, after, VERSION)
        parsed = parse_document_written(document_event_data(stored, "demo"))
        assert (typed(parsed.before), typed(parsed.after)) == (typed(before), typed(after))


def test_a_geo_point_survives_the_devstack_event() -> None:
    stored = StoredChange("orders", "o-1", None, {"place": PLACE, "at": [PLACE]}, VERSION)
    parsed = parse_document_written(document_event_data(stored, "demo"))
    assert typed(parsed.after) == typed({"place": PLACE, "at": [PLACE]})
