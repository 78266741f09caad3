"""When a record Firestore's TTL policy deletes may go: the value of its TTL field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def expire_after(written_ms: int, keep_for: timedelta) -> datetime:
    """The TTL field's value for a record written at ``written_ms`` (epoch ms) and kept
    ``keep_for``: Firestore deletes the record some time after it."""
    return datetime.fromtimestamp(written_ms / 1000, UTC) + keep_for
