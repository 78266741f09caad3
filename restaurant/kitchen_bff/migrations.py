"""Bring the open tickets stored by older versions up to what the queue is listed by.

The queue is ordered by ``queuedAt``, and the lapse schedule closes accepted and ready
tickets by it: Firestore leaves out of such a query every document without the field, so an
open ticket queued before the field was written would vanish from the queue and never lapse.
It gets its ``receivedAt`` (when Order sent the order, about when the kitchen heard it).
Finished tickets need none (the history is by ``receivedAt``), so a run reads the open ones
alone: a queue, not the history kept for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.kitchen_bff.models import OPEN_STATUSES, QUEUED_AT, TICKETS
from shared.migrations import Migration, rewrite_each
from shared.stores import Where

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Doc

OPEN = (Where("status", "in", list(OPEN_STATUSES)),)
"""The tickets in the queue: only those are listed by ``queuedAt``."""


def _with_queued_at(ticket: Doc) -> Doc | None:
    if ticket.get(QUEUED_AT) is not None:
        return None
    return {**ticket, QUEUED_AT: ticket["receivedAt"]}


def stamp_queued_tickets(store: AbstractDocumentStore) -> int:
    """Give every open ticket without ``queuedAt`` its ``receivedAt`` there; returns how
    many. Not a new revision: the ticket as staff act on it is unchanged."""
    return rewrite_each(store, TICKETS, _with_queued_at, OPEN)


MIGRATIONS = (
    Migration(
        "kitchen-tickets-queued-at",
        "open tickets queued before the queue was ordered by when the kitchen heard them "
        "(queuedAt) get their receivedAt there, so the queue lists them and the lapse "
        "schedule closes them",
        stamp_queued_tickets,
    ),
)
"""The kitchen's migrations, in the order they run. Not a backfill: the version before,
still answering during a rollout, queues tickets without ``queuedAt``, and the run reads the
open tickets alone."""
