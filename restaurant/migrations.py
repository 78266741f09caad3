"""Bring the notes and markers the kitchen stored before they expired up to
:mod:`restaurant.retention`.

The notes of orders left to the point of sale (``kitchen-left-to-pos``) and the markers of
orders withdrawn before they arrived (``tickets`` with status ``withdrawn-unseen``) stored
before they carried :data:`~restaurant.retention.EXPIRES` have nothing for Firestore's TTL
policy to go by, so they would be kept for good. Tickets themselves never expire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.kitchen_bff.listener import LEFT_TO_POS
from restaurant.kitchen_bff.models import TICKETS, WITHDRAWN_UNSEEN
from restaurant.order_esg.pickups import HEARD
from restaurant.retention import expire_at
from shared.migrations import expire_unstamped, expiry_backfill
from shared.stores import Where

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore

MARKERS = (Where("status", "==", WITHDRAWN_UNSEEN),)
"""The tickets that are markers: only those expire (tickets are kept for good, so a run
reads the markers alone)."""


def expire_unstamped_notes(store: AbstractDocumentStore, now_ms: int) -> int:
    """Give every note and marker that does not expire yet the expiry of one written at
    ``now_ms`` (by this subsystem's clock, as :mod:`restaurant.retention` counts); returns
    how many it gave one."""
    expires = expire_at(now_ms)
    return (
        expire_unstamped(store, HEARD, expires)
        + expire_unstamped(store, LEFT_TO_POS, expires)
        + expire_unstamped(store, TICKETS, expires, MARKERS)
    )


MIGRATIONS = (
    expiry_backfill(
        "kitchen-notes-expire",
        "notes of orders left to the point of sale and markers of orders withdrawn unseen, "
        "stored before they expired (kept for good), expire a month from now",
        expire_unstamped_notes,
    ),
)
"""The kitchen's retention migrations, in the order they run."""
