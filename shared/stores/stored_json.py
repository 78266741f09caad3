"""Documents as JSON that keeps every Firestore value's type, for records that store them.

A fault record keeps the document change a trigger refused, as JSON, so an operator
can read it and ``faults resubmit`` can hand it back. Plain JSON has no timestamp,
bytes or geo point, so those travel tagged, each as a one-key map whose key is
``__timestamp__`` (RFC 3339, UTC, microseconds), ``__bytes__`` (base64) or
``__geopoint__`` (``[latitude, longitude]``). Firestore refuses field names of the
form ``__x__``, so no document's own map can be mistaken for one. Decoding gives the
values the Firestore client reads (:mod:`shared.stores.eventarc` has the table).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from shared.stores.memory import as_read

TIMESTAMP, BYTES, GEOPOINT = "__timestamp__", "__bytes__", "__geopoint__"


def to_json(value: Any) -> Any:
    """``value`` (a document or any value in one) in JSON form, non-JSON types tagged."""
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return {TIMESTAMP: moment.astimezone(UTC).isoformat(timespec="microseconds")}
    if isinstance(value, bytes):
        return {BYTES: base64.b64encode(value).decode()}
    if hasattr(value, "latitude") and hasattr(value, "longitude"):
        return {GEOPOINT: [value.latitude, value.longitude]}
    return value


def from_json(value: Any) -> Any:
    """The value :func:`to_json` made, with its types back; a tag that does not parse is kept
    as the map it is."""
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        [(tag, tagged)] = value.items()
        decoded = _untagged(tag, tagged)
        if decoded is not None:
            return decoded
    return {key: from_json(item) for key, item in value.items()}


def _untagged(tag: str, tagged: Any) -> Any:
    try:
        if tag == TIMESTAMP and isinstance(tagged, str):
            return as_read(datetime.fromisoformat(tagged))
        if tag == BYTES and isinstance(tagged, str):
            return base64.b64decode(tagged, validate=True)
        if tag == GEOPOINT and isinstance(tagged, list) and len(tagged) == 2:
            from google.cloud.firestore_v1 import GeoPoint  # the client: not at import time

            return GeoPoint(float(tagged[0]), float(tagged[1]))
    except (ValueError, binascii.Error):
        return None
    return None
