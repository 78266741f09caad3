"""How long the subsystem keeps records it needs only while an order runs.

An order's micro event store (``order-events``) and the point of sale's stored
callbacks (``pos-inbox``) are read while the order is folded, and nothing folds an
order once it has ended, hours after it was placed. Each such record carries
:data:`EXPIRES`, a Firestore TTL field (the topology lists its collections, Terraform
declares the policy), and Firestore deletes it some time after that; the event lake
keeps every event (for good, unless the deployment sets `lake_retention_days`). Embedded
and on the emulators nothing deletes it. The
folded orders (``orders``) and the hand-over notes (``pos-orders``) are kept: they
are what keeps a late or resubmitted event from starting an ended order again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.idempotency_keys import EXPIRES
from shared.stores.ttl import expire_after

__all__ = ["EXPIRES", "KEEP_FOR", "expire_at"]

KEEP_FOR = timedelta(days=30)
"""Well past the longest an order runs (its deadlines add up to hours) and Pub/Sub's
longest retention of an unacknowledged message (7 days)."""


def expire_at(event_ms: int) -> datetime:
    """When a record written at ``event_ms`` (epoch ms) may be deleted. Callers pass when
    this subsystem wrote it, never another subsystem's time, which may be far off: an
    order's event stamped long ago would expire while the order runs."""
    return expire_after(event_ms, KEEP_FOR)
