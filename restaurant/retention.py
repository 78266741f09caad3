"""How long the subsystem remembers an order it keeps no ticket of (notes and markers).

Such a record only guards against the order's events arriving late or again (Order's
announcements may go out of order, Pub/Sub redelivers, a fault is resubmitted): it
carries :data:`EXPIRES`, a Firestore TTL field (the topology lists its collections,
Terraform declares the policy), and Firestore deletes it some time after that.
Embedded and on the emulators nothing deletes it.

The time is counted from when the record is written, by the subsystem's own clock, not
from the event's timestamp, which is Order's: an event stamped long ago (Order's clock set
back) would otherwise leave a record Firestore deletes at once, and one stamped in the far
future a record it never deletes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.idempotency_keys import EXPIRES
from shared.stores.ttl import expire_after

__all__ = ["EXPIRES", "KEEP_FOR", "TOO_LATE", "expire_at"]

KEEP_FOR = timedelta(days=30)
"""Well past Pub/Sub's longest retention of an unacknowledged message (7 days): an event
of the order heard later than this (a fault resubmitted after a month) is taken afresh; the
order itself is then too late to be queued (:data:`TOO_LATE`)."""


TOO_LATE = timedelta(days=7)
"""An order heard this long after its time to answer ran out is not queued: no one could
answer it without its ticket, so Order cancelled it long since, and the marker of that
withdrawal, or the note that the order went to the point of sale, may be gone: kept
:data:`KEEP_FOR` from when it was written, never long before the time to answer ran out
(10 minutes after Order sent the order). Pub/Sub keeps a message 7 days at most, so only a
fault resubmitted late comes this late."""


def expire_at(written_ms: int) -> datetime:
    """When a record written at ``written_ms`` (epoch ms, the subsystem's clock) may be
    deleted."""
    return expire_after(written_ms, KEEP_FOR)
