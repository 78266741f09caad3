"""Refusing what a transaction's callback must not do: what would hang on Firestore.

On Firestore an ``update`` (or ``delete_if``) runs its callback inside a transaction that
holds a process-wide lock on the document (:mod:`shared.stores.firestore`): an ``update``
called from inside that callback waits for the lock its caller holds, for ever when both
name one document, or two whose locks are shared. Its write is no part of the outer
transaction either: it stays when the outer one is tried again, or fails. A plain write
(``create``, ``put``, ``delete``) of the document the transaction holds waits for
Firestore's lock on it until it times out. The embedded store would do either at once (its
lock is re-entrant), so both backends refuse them, with :class:`NestedTransaction`, and a
test catches what would hang on GCP. A write of another document is taken (an updater
that makes one is not pure, as it must be, but Firestore takes it too).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Hashable, Iterator

from shared.exceptions import KitError


class NestedTransaction(KitError, RuntimeError):
    """A store's ``update`` or ``delete_if``, or a write of the document being updated, was
    called from inside an ``update``'s updater or a ``delete_if``'s condition, which on
    Firestore would hang; a bug in the caller."""


_running = threading.local()


@contextlib.contextmanager
def callback_of(action: str, document: tuple[Hashable, str, str]) -> Iterator[None]:
    """Mark this thread as running the callback of ``action`` (``"update orders/o-1"``) on
    ``document`` (its database, as :func:`refuse_write_held` names it, collection and key)
    while the block runs."""
    outer: tuple[str, Hashable] | None = getattr(_running, "callback", None)
    _running.callback = (action, document)
    try:
        yield
    finally:
        _running.callback = outer


def refuse_nested(action: str) -> None:
    """Raise :class:`NestedTransaction` if this thread is running a transaction's callback
    (of any store: Firestore's locks are shared by every store in the process)."""
    running: tuple[str, Hashable] | None = getattr(_running, "callback", None)
    if running is not None:
        raise NestedTransaction(
            f"{action} was called from inside the callback of {running[0]}: on Firestore it "
            "would wait for ever for the transaction that called it; read in the callback, "
            "write after it returns"
        )


def refuse_write_held(verb: str, database: Hashable, collection: str, key: str) -> None:
    """Raise :class:`NestedTransaction` if this thread is running the callback of a
    transaction on ``database``'s ``collection``/``key``, which Firestore holds locked until
    the callback returns (``verb`` names the write: ``put``)."""
    running: tuple[str, Hashable] | None = getattr(_running, "callback", None)
    if running is not None and running[1] == (database, collection, key):
        raise NestedTransaction(
            f"{verb} {collection}/{key} was called from inside the callback of {running[0]}, whose "
            "transaction holds the document: on Firestore it would wait for the lock until "
            "it timed out; return the new document from the updater instead"
        )
