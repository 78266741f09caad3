"""Which backfills a subsystem's store no longer needs: one small document in that store.

A backfill (:attr:`~shared.migrations.Migration.backfill`) is recorded here, with its
:attr:`~shared.migrations.Migration.version`, once a run of it found nothing to change;
``fooddelivery migrate`` then skips it unless ``--force``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.migrations import Migration
    from shared.stores.base import AbstractDocumentStore, Doc

COLLECTION = "migrations"
KEY = "backfills-done"
"""The document, in :data:`COLLECTION`, mapping each backfill done to
``{"version": int, "at": datetime}``."""


def done_at(store: AbstractDocumentStore, migration: Migration) -> datetime | None:
    """When a run of ``migration``'s version found nothing to change, or ``None`` if none did
    (or only one of another version)."""
    record = ((store.get(COLLECTION, KEY) or {}).get(migration.name)) or {}
    if record.get("version") != migration.version or not isinstance(record.get("at"), datetime):
        return None
    at: datetime = record["at"]
    return at


def record_done(store: AbstractDocumentStore, migration: Migration, at: datetime) -> None:
    """Note that a run of ``migration`` found nothing to change at ``at``."""
    entry = {"version": migration.version, "at": at}

    def add(current: Doc | None) -> Doc:
        return {**(current or {}), migration.name: entry}

    store.update(COLLECTION, KEY, add)
