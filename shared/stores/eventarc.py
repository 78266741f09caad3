"""Parse Firestore's Eventarc CloudEvents into :class:`DocumentChange`.

On GCP, database-first triggers receive ``google.cloud.firestore.document.v1.written``
(or ``.created``/``.updated``/``.deleted``) CloudEvents whose data is a
``google.events.cloud.firestore.v1.DocumentEventData`` message, serialized as
``application/protobuf`` (the default) or ``application/json``. This module turns
one into the same :class:`DocumentChange` the embedded and emulator change feeds
deliver.

Field values
------------
Whatever the backend, a trigger sees the Python values the google-cloud-firestore
client returns for a read (the embedded store holds the same, see
:mod:`shared.stores.memory`; the emulator's listener decodes with the client):

==================  =====================================================================
Firestore value     Python value
==================  =====================================================================
null                ``None``
boolean             ``bool``
integer             ``int`` (64 bits; never a ``float``, even when whole)
double              ``float`` (``1.0`` stays a ``float``; NaN and infinities as they are)
string              ``str``
bytes               ``bytes`` (not base64 text)
timestamp           ``DatetimeWithNanoseconds`` (a ``datetime``) in UTC, to the microsecond;
                    written naive it is taken as UTC, written in another zone it reads
                    back as the same instant in UTC
geo point           ``google.cloud.firestore_v1.GeoPoint`` (the stores refuse to write
                    one; a document written by other means may hold one)
reference           its resource name, ``projects/.../documents/...`` as ``str``: the
                    client returns a ``DocumentReference``, which needs a client this
                    module has not (the stores refuse to write one)
array               ``list``
map                 ``dict`` (``{}`` for an empty map)
==================  =====================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.events.cloud.firestore import DocumentEventData
from google.protobuf import json_format  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from shared.exceptions import EnvelopeError
from shared.stores.base import DocumentChange

if TYPE_CHECKING:
    from shared.stores.base import Doc

EVENT_TYPE_PREFIX = "google.cloud.firestore.document.v1."
PROTOBUF = "application/protobuf"
JSON = "application/json"
CONTENT_TYPE = "datacontenttype"
"""The CloudEvent attribute naming its data's media type (:data:`PROTOBUF` unless given);
a trigger's poison message keeps it under the same name, so a replay sends it as it came."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAME = re.compile(r"^projects/[^/]+/databases/[^/]+/documents/(?P<path>.+)$")


def iso_utc(moment: datetime) -> str:
    """``moment`` as RFC 3339 UTC with microseconds, the form of every change ``version``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_ms(version: str) -> int:
    """The epoch milliseconds of an :func:`iso_utc` ``version``."""
    moment = datetime.strptime(version, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_document_written(
    data: bytes, attributes: Mapping[str, Any] | None = None
) -> DocumentChange:
    """Parse the data of a Firestore document CloudEvent into a :class:`DocumentChange`.

    ``attributes`` are the CloudEvent's attributes (``type``, ``time``,
    ``datacontenttype``, ...) or its binary-mode HTTP headers (``ce-type``,
    ``Content-Type``, ...); all are optional. The change's ``version`` is the new
    document's update time; for a delete it is the event ``time`` (the commit
    time), or else the deleted document's update time.

    Raises :class:`EnvelopeError` naming the problem when the payload is malformed.
    """
    attrs = _normalize(attributes or {})
    event_type = attrs.get("type")
    if event_type is not None and not str(event_type).startswith(EVENT_TYPE_PREFIX):
        raise EnvelopeError("type", f"{event_type!r} is not a Firestore document event")
    message = _decode(data, str(attrs.get(CONTENT_TYPE) or PROTOBUF))
    new: Any = message.value if message.HasField("value") else None
    old: Any = message.old_value if message.HasField("old_value") else None
    if new is None and old is None:
        raise EnvelopeError("$", "neither value nor old_value is set")
    if new is not None:
        collection, key = _document_path(new.name, "value.name")
    else:
        collection, key = _document_path(old.name, "old_value.name")
    if new is not None and old is not None and old.name != new.name:
        raise EnvelopeError("old_value.name", f"{old.name!r} differs from value.name {new.name!r}")
    if new is not None and new.HasField("update_time"):
        version = _timestamp(new.update_time, "value.update_time")
    elif attrs.get("time"):
        version = _event_time(str(attrs["time"]))
    elif old is not None and old.HasField("update_time"):
        version = _timestamp(old.update_time, "old_value.update_time")
    else:
        raise EnvelopeError("value.update_time", "is required when the event has no time")
    return DocumentChange(
        collection=collection,
        key=key,
        before=_fields(old.fields, "old_value.fields") if old is not None else None,
        after=_fields(new.fields, "value.fields") if new is not None else None,
        version=version,
        written_ms=epoch_ms(version),
    )


def value_to_python(value: Any, path: str = "$") -> Any:
    """Convert a Firestore ``Value`` protobuf into what the Firestore client reads for it.

    See the module's table: timestamps become UTC datetimes, bytes stay bytes,
    geo points become ``GeoPoint`` and references stay resource names.
    """
    kind = value.WhichOneof("value_type")
    match kind:
        case "null_value":
            return None
        case "boolean_value" | "integer_value" | "double_value" | "string_value":
            return getattr(value, kind)
        case "bytes_value":
            return bytes(value.bytes_value)
        case "reference_value":
            return value.reference_value
        case "timestamp_value":
            return _moment(value.timestamp_value, path)
        case "geo_point_value":
            from google.cloud.firestore_v1 import GeoPoint  # the client: not at import time

            point = value.geo_point_value
            return GeoPoint(point.latitude, point.longitude)
        case "array_value":
            values = value.array_value.values
            return [value_to_python(v, f"{path}[{i}]") for i, v in enumerate(values)]
        case "map_value":
            return _fields(value.map_value.fields, path)
    raise EnvelopeError(path, "value has no type set")


# -- internals -----------------------------------------------------------------------


def _normalize(attributes: Mapping[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for name, value in attributes.items():
        lowered = name.lower().removeprefix("ce-")
        attrs[CONTENT_TYPE if lowered == "content-type" else lowered] = value
    return attrs


def _decode(data: bytes, content_type: str) -> Any:
    message_class = DocumentEventData.pb()
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not isinstance(data, bytes | bytearray):
        raise EnvelopeError("$", f"expected bytes, got {type(data).__name__}")
    try:
        if media_type == PROTOBUF:
            return message_class.FromString(bytes(data))
        if media_type == JSON:
            return json_format.Parse(bytes(data), message_class(), ignore_unknown_fields=True)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError) as e:
        raise EnvelopeError("$", f"not a DocumentEventData message ({e})") from e
    raise EnvelopeError("datacontenttype", f"unsupported content type {content_type!r}")


def _document_path(name: str, field: str) -> tuple[str, str]:
    match = _NAME.match(name)
    if match is None:
        raise EnvelopeError(field, f"{name!r} is not a Firestore document name")
    segments = match["path"].split("/")
    if len(segments) % 2 or "" in segments:
        raise EnvelopeError(field, f"{match['path']!r} is not a document path")
    return "/".join(segments[:-1]), segments[-1]


def _fields(fields: Any, path: str) -> Doc:
    return {name: value_to_python(value, f"{path}.{name}") for name, value in fields.items()}


def _moment(timestamp: Any, path: str) -> DatetimeWithNanoseconds:
    """A timestamp field as the client reads it: UTC, to the microsecond."""
    try:
        moment = _EPOCH + timedelta(seconds=timestamp.seconds, microseconds=timestamp.nanos // 1000)
    except OverflowError as e:
        raise EnvelopeError(path, f"timestamp out of range ({e})") from e
    fields = (*moment.timetuple()[:6], moment.microsecond)
    return DatetimeWithNanoseconds(*fields, tzinfo=UTC)  # type: ignore[no-untyped-call]


def _timestamp(timestamp: Any, path: str) -> str:
    return iso_utc(_moment(timestamp, path))


def _event_time(time: str) -> str:
    try:
        moment = datetime.fromisoformat(time)
    except ValueError as e:
        raise EnvelopeError("time", f"{time!r} is not an RFC 3339 timestamp") from e
    return iso_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
