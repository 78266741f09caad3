"""A stored document change as the Eventarc CloudEvent a database-first trigger receives.

The inverse of :func:`shared.stores.eventarc.parse_document_written`: a change kept
in a fault record (:func:`~shared.runtime.consumer.change_message`: collection, key,
before, after, version) becomes a binary-mode ``google.cloud.firestore.document.v1.written``
CloudEvent whose ``application/protobuf`` data parses back into the same change:
the same collection, key, documents and ``version``, hence the same cause id, so a
trigger that handled the change already emits nothing new.

Every value a document can hold travels as the Firestore value it is (a
``datetime`` as a timestamp, ``bytes`` as bytes, a ``GeoPoint`` as a geo point), so
the trigger reads the values the change held (see :mod:`shared.stores.eventarc`
for the mapping); a fault record keeps them typed (:mod:`shared.stores.stored_json`).
The event has no ``time``: the trigger's target then treats a
failure as one to retry (HTTP 500), never as one to record as a fault again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.exceptions import EnvelopeError
from shared.stores import stored_json
from shared.stores.eventarc import EVENT_TYPE_PREFIX, PROTOBUF

WRITTEN = f"{EVENT_TYPE_PREFIX}written"
DATABASE = "(default)"
"""The Firestore database every subsystem keeps its documents in (terraform's, the emulator's)."""


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A document change as a fault record keeps it."""

    collection: str
    key: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    version: str

    @classmethod
    def from_data(cls, data: bytes) -> StoredChange | None:
        """The change in a fault's message data, or ``None`` if the data holds none."""
        try:
            doc = json.loads(data)
        except ValueError:
            return None
        if not isinstance(doc, dict) or not all(
            isinstance(doc.get(name), str) for name in ("collection", "key", "version")
        ):
            return None
        before, after = doc.get("before"), doc.get("after")
        if not all(d is None or isinstance(d, dict) for d in (before, after)):
            return None
        if before is None and after is None:
            return None
        before, after = stored_json.from_json(before), stored_json.from_json(after)
        return cls(doc["collection"], doc["key"], before, after, doc["version"])


def cloudevent_headers(
    event_id: str, project: str, subject: str = "", content_type: str = PROTOBUF
) -> dict[str, str]:
    """The binary-mode headers of a Firestore ``written`` event from ``project``, its data
    of ``content_type``."""
    headers = {
        "ce-id": event_id,
        "ce-specversion": "1.0",
        "ce-type": WRITTEN,
        "ce-source": f"//firestore.googleapis.com/projects/{project}/databases/{DATABASE}",
        "Content-Type": content_type,
    }
    if subject:
        headers["ce-subject"] = f"documents/{subject}"
        headers["ce-document"] = subject
    return headers


def document_event_data(change: StoredChange, project: str) -> bytes:
    """``change`` as a serialized ``DocumentEventData`` message.

    Raises :class:`EnvelopeError` when its ``version`` is not a timestamp.
    """
    from google.events.cloud.firestore import DocumentEventData

    message = DocumentEventData.pb()()
    name = f"projects/{project}/databases/{DATABASE}/documents/{change.collection}/{change.key}"
    written = _timestamp(change.version)
    if change.after is not None:
        message.value.name = name
        _fill(message.value.fields, change.after)
        message.value.update_time.CopyFrom(written)
    if change.before is not None:
        message.old_value.name = name
        _fill(message.old_value.fields, change.before)
        if change.after is None:  # a delete's version is read from here when the event has no time
            message.old_value.update_time.CopyFrom(written)
    data: bytes = message.SerializeToString()
    return data


def _fill(fields: Any, doc: Mapping[str, Any]) -> None:
    for name, value in doc.items():
        _set(fields[name], value)


def _set(target: Any, value: Any) -> None:
    """Write a document value into a Firestore ``Value`` message, as the client encodes it."""
    if value is None:
        target.null_value = 0
    elif isinstance(value, bool):
        target.boolean_value = value
    elif isinstance(value, int):
        target.integer_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, datetime):
        target.timestamp_value.CopyFrom(_stamp(value))
    elif isinstance(value, list):
        target.array_value.SetInParent()
        for item in value:
            _set(target.array_value.values.add(), item)
    elif isinstance(value, dict):
        target.map_value.SetInParent()
        _fill(target.map_value.fields, value)
    elif _is_geo_point(value):
        target.geo_point_value.latitude = value.latitude
        target.geo_point_value.longitude = value.longitude
    else:
        raise EnvelopeError("$", f"{type(value).__name__} is not a Firestore value")


def _is_geo_point(value: Any) -> bool:
    from google.cloud.firestore_v1 import GeoPoint  # the client: not at import time

    return isinstance(value, GeoPoint)


def _timestamp(version: str) -> Any:
    try:
        moment = datetime.fromisoformat(version)
    except ValueError as e:
        raise EnvelopeError("version", f"{version!r} is not a timestamp") from e
    return _stamp(moment)


def _stamp(moment: datetime) -> Any:
    """``moment`` as a protobuf ``Timestamp``; a naive one is UTC, as the client takes it."""
    from google.protobuf import timestamp_pb2  # type: ignore[import-untyped]

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC).replace(tzinfo=None))
    return stamp
