"""One document holding every Firestore value the kit stores, and how a read returns it.

What a trigger sees must not depend on the backend, so every path a document
takes to a handler (the embedded store and its feed, the emulator's listener,
Eventarc's CloudEvent) is compared with :data:`AS_READ`: the values the
google-cloud-firestore client returns when it reads :data:`EVERY_VALUE` back.
:func:`typed` makes those comparisons see types too (``1`` is not ``1.0`` nor
``True``; a naive datetime is not an aware one).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from google.api_core.datetime_helpers import DatetimeWithNanoseconds

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
"""A timestamp with microseconds."""

EVERY_VALUE: dict[str, Any] = {
    "null": None,
    "yes": True,
    "no": False,
    "zero": 0,
    "int": -7,
    "max": 2**63 - 1,
    "min": -(2**63),
    "one": 1.0,
    "real": -2.5,
    "huge": 1e300,
    "text": "Bergmannstraße 5",
    "empty_text": "",
    "bytes": b"\x00\xff binary",
    "empty_bytes": b"",
    "utc": MOMENT,
    "naive": datetime(2026, 1, 2, 3, 4, 5, 678901),
    "berlin": datetime(2026, 1, 2, 4, 4, 5, 678901, tzinfo=timezone(timedelta(hours=1))),
    "array": [None, True, 1, 1.0, "s", b"b", MOMENT, {"in": [1, 2.0]}, {}],
    "map": {"deep": {"er": {"at": MOMENT, "blob": b"\x01", "n": 3, "x": 3.0}}, "e": {}},
    "empty_map": {},
    "empty_array": [],
}
"""Every kind of value the kit's stores accept (geo points and references they refuse)."""


def _read(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _read(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_read(v) for v in value]
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return DatetimeWithNanoseconds(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)
    return value


AS_READ: dict[str, Any] = _read(EVERY_VALUE)
""":data:`EVERY_VALUE` as the Firestore client reads it: every timestamp a
``DatetimeWithNanoseconds`` in UTC (a naive one taken as UTC), all else as written."""


def typed(value: Any) -> Any:
    """``value`` with the type (and a datetime's zone) of every part spelled out, to compare."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, datetime):
        return (type(value).__name__, value.isoformat())
    return (type(value).__name__, value)
