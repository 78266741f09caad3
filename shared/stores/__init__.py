"""Document stores: the port, the embedded backend and idempotent event writes.

The Firestore adapter lives in :mod:`shared.stores.firestore` and is imported
only by code that runs against Firestore or its emulator.
"""

from shared.stores.base import (
    AbstractChangeFeed,
    AbstractDocumentStore,
    Doc,
    Document,
    DocumentChange,
    Watch,
    Where,
)
from shared.stores.idempotent import apply_event, record_event
from shared.stores.memory import InMemoryDocumentStore

__all__ = [
    "AbstractChangeFeed",
    "AbstractDocumentStore",
    "Doc",
    "Document",
    "DocumentChange",
    "InMemoryDocumentStore",
    "Watch",
    "Where",
    "apply_event",
    "record_event",
]
