"""Bring the tickets stored by older versions up to what the queue and the history are listed
by.

The queue is ordered by ``queuedAt``, and the lapse schedule closes accepted and ready
tickets by it: Firestore leaves out of such a query every document without the field, so an
open ticket queued before the field was written would vanish from the queue and never lapse.
It gets its ``receivedAt`` (when Order sent the order, about when the kitchen heard it).

The history is ordered by ``finishedAt`` likewise, so a finished ticket stored before the
field was written would vanish from it. It gets the latest time known of it
(:func:`finished_estimate`): never later than when it really finished, so the tickets that
finish from now on come first, and the old ones keep about the order they finished in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.kitchen_bff.models import (
    FINAL_STATUSES,
    FINISHED_AT,
    LAPSED_AT,
    OPEN_STATUSES,
    QUEUED_AT,
    TICKETS,
)
from shared.migrations import Migration, rewrite_each
from shared.stores import Where

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Doc

OPEN = (Where("status", "in", list(OPEN_STATUSES)),)
"""The tickets in the queue: only those are listed by ``queuedAt``."""
FINISHED = (Where("status", "in", sorted(FINAL_STATUSES)),)
"""The tickets in the history: only those are listed by ``finishedAt``."""
KNOWN_TIMES = (LAPSED_AT, "readyAt", QUEUED_AT, "receivedAt")
"""The times a ticket may hold, each no later than when it finished (``lapsedAt`` is when it
did, for one the kitchen closed itself)."""


def _with_queued_at(ticket: Doc) -> Doc | None:
    if ticket.get(QUEUED_AT) is not None:
        return None
    return {**ticket, QUEUED_AT: ticket["receivedAt"]}


def stamp_queued_tickets(store: AbstractDocumentStore) -> int:
    """Give every open ticket without ``queuedAt`` its ``receivedAt`` there; returns how
    many. Not a new revision: the ticket as staff act on it is unchanged."""
    return rewrite_each(store, TICKETS, _with_queued_at, OPEN)


def finished_estimate(ticket: Doc) -> int:
    """When a ticket stored without ``finishedAt`` finished, as far as it says: the latest of
    the times it holds (:data:`KNOWN_TIMES`)."""
    return max(int(ticket[name]) for name in KNOWN_TIMES if ticket.get(name) is not None)


def _with_finished_at(ticket: Doc) -> Doc | None:
    if ticket.get(FINISHED_AT) is not None:
        return None
    return {**ticket, FINISHED_AT: finished_estimate(ticket)}


def stamp_finished_tickets(store: AbstractDocumentStore) -> int:
    """Give every finished ticket without ``finishedAt`` its :func:`finished_estimate` there;
    returns how many. Not a new revision: the ticket as staff act on it is unchanged."""
    return rewrite_each(store, TICKETS, _with_finished_at, FINISHED)


MIGRATIONS = (
    Migration(
        "kitchen-tickets-queued-at",
        "open tickets queued before the queue was ordered by when the kitchen heard them "
        "(queuedAt) get their receivedAt there, so the queue lists them and the lapse "
        "schedule closes them",
        stamp_queued_tickets,
    ),
    Migration(
        "kitchen-tickets-finished-at",
        "finished tickets stored before the history was ordered by when they finished "
        "(finishedAt) get the latest time they hold there, so the history lists them",
        stamp_finished_tickets,
        backfill=True,
    ),
)
"""The kitchen's migrations, in the order they run.

``kitchen-tickets-queued-at`` is no backfill: the version before, still answering during a
rollout, queues tickets without ``queuedAt``, and the run reads the open tickets alone.
``kitchen-tickets-finished-at`` reads the history, kept for good, so it is a backfill, run
until a run finds nothing to change: the version before it finishes tickets without
``finishedAt`` only until the rollout that brings this one ends, and the run after that
rollout's apply changes the history stored before it, so it records nothing and the next
deploy's run stamps what the version before wrote behind it."""
