"""How long the subsystem remembers an order it keeps no ticket of (notes and markers).

Such a record only guards against the order's events arriving late or again (Order's
announcements may go out of order, Pub/Sub redelivers, a fault is resubmitted): it
carries :data:`EXPIRES`, a Firestore TTL field (the topology lists its collections,
Terraform declares the policy), and Firestore deletes it some time after that.
Embedded and on the emulators nothing deletes it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.idempotency_keys import EXPIRES

__all__ = ["EXPIRES", "KEEP_FOR", "expire_at"]

KEEP_FOR = timedelta(days=30)
"""Well past Pub/Sub's longest retention of an unacknowledged message (7 days): an event
of the order heard later than this (a fault resubmitted after a month) is taken afresh."""


def expire_at(event_ms: int) -> datetime:
    """When a record written for an event of ``event_ms`` (epoch ms) may be deleted."""
    return datetime.fromtimestamp(event_ms / 1000, UTC) + KEEP_FOR
