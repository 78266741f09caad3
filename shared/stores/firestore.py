"""The Firestore backend of the document store port (GCP and the emulator).

The client honours ``FIRESTORE_EMULATOR_HOST``, so the same code runs against
the emulator and against Firestore. Nothing talks to Firestore at import time.

Queries that combine conditions with ``order_by`` need composite indexes on
Firestore (the emulator needs none); declare them with the service.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from google.api_core.exceptions import Aborted, Conflict, GoogleAPIError
from google.auth.exceptions import GoogleAuthError
from google.cloud import firestore
from google.cloud.firestore_v1 import DocumentSnapshot, FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.query import Query
from google.cloud.firestore_v1.watch import Watch as _SdkWatch

from shared.exceptions import ConflictError, StoreError
from shared.stores.base import (
    AbstractChangeFeed,
    AbstractDocumentStore,
    ChangeCallback,
    Doc,
    Document,
    DocumentChange,
    Updater,
    Watch,
    Where,
)
from shared.stores.eventarc import iso_utc

if TYPE_CHECKING:
    from datetime import datetime

    from google.cloud.firestore_v1.document import DocumentReference
    from google.cloud.firestore_v1.transaction import Transaction

TRANSACTION_ATTEMPTS = 10
"""Attempts of one ``update`` transaction before it fails with :class:`ConflictError`."""
_INEQUALITIES = frozenset({"!=", "<", "<=", ">", ">="})
_LOCKS = tuple(threading.Lock() for _ in range(64))
_log = logging.getLogger(__name__)


class _UpdaterFailed(Exception):
    """Carries an exception raised by an updater (``args[0]``) through the decorator."""


def _lock(project: str, path: str) -> threading.Lock:
    return _LOCKS[zlib.crc32(f"{project}\0{path}".encode()) % len(_LOCKS)]


@contextlib.contextmanager
def _sdk_errors(action: str) -> Iterator[None]:
    """Translate the SDK's exceptions into :class:`StoreError`."""
    try:
        yield
    except (GoogleAPIError, GoogleAuthError, ValueError, TypeError) as e:
        raise StoreError(f"firestore {action} failed: {e}") from e


def _transact(transaction: Transaction, ref: DocumentReference, updater: Updater) -> Doc | None:
    snapshot = ref.get(transaction=transaction)
    current = snapshot.to_dict() if snapshot.exists else None
    try:
        new = updater(current)
    except Exception as e:
        raise _UpdaterFailed(e) from e
    if new is not None:
        transaction.set(ref, new)
    return new


class _ClientUser:
    """Holds a Firestore client: the one given, or one it builds and closes."""

    def __init__(self, project: str, client: firestore.Client | None = None) -> None:
        self._project, self._owns_client = project, client is None
        with _sdk_errors("connect"):
            self._client = client if client is not None else firestore.Client(project=project)

    @property
    def client(self) -> firestore.Client:
        """The Firestore client (a store and a feed may share one)."""
        return self._client

    @property
    def project(self) -> str:
        """The Google Cloud project the documents live in."""
        return self._project

    def close(self) -> None:
        """Close the client if this object built it (stop any watches first)."""
        if self._owns_client:
            self._client.close()  # type: ignore[no-untyped-call]


class FirestoreDocumentStore(_ClientUser, AbstractDocumentStore):
    """Documents in Firestore: ``collection`` is a collection path, ``key`` a document id.

    Built from ``project`` (and ``client``, else a client for that project).
    ``update`` runs a Firestore transaction (retried on contention by the
    client's transactional decorator, so ``updater`` may run more than once and
    must be pure). Updates of one document from one process are also serialized
    locally, which spares Firestore (and the emulator, whose lock-timeout aborts
    make contended transactions very slow) most of the contention.
    """

    def _ref(self, collection: str, key: str) -> DocumentReference:
        return self._client.collection(collection).document(key)

    def get(self, collection: str, key: str) -> Doc | None:
        with _sdk_errors(f"get {collection}/{key}"):
            snapshot = self._ref(collection, key).get()
            return snapshot.to_dict() if snapshot.exists else None

    def create(self, collection: str, key: str, data: Doc) -> bool:
        with _sdk_errors(f"create {collection}/{key}"):
            try:
                self._ref(collection, key).create(data)
            except Conflict:  # AlreadyExists
                return False
            return True

    def put(self, collection: str, key: str, data: Doc) -> None:
        with _sdk_errors(f"put {collection}/{key}"):
            self._ref(collection, key).set(data)

    def update(self, collection: str, key: str, updater: Updater) -> Doc | None:
        try:
            with _sdk_errors(f"update {collection}/{key}"):
                ref = self._ref(collection, key)
                transaction = self._client.transaction(max_attempts=TRANSACTION_ATTEMPTS)
                run = firestore.transactional(_transact)  # per call: it holds the retry state
                with _lock(self._project, ref.path):
                    try:
                        new: Doc | None = run(transaction, ref, updater)
                    except ValueError as e:  # "failed to commit in N attempts"
                        if not isinstance(e.__cause__, Aborted):
                            raise
                        raise ConflictError(f"update {collection}/{key} kept aborting") from e
        except _UpdaterFailed as e:
            raise e.args[0] from None
        return copy.deepcopy(new)

    def delete(self, collection: str, key: str) -> None:
        with _sdk_errors(f"delete {collection}/{key}"):
            self._ref(collection, key).delete()

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        """Documents matching every condition; without ``order_by``, in key order.

        Firestore orders an inequality query by its inequality fields first, so
        without ``order_by`` such a query is sorted by key here, after the limit
        would have applied: it reads every match.
        """
        if limit is not None and limit <= 0:
            return []
        query: Any = self._client.collection(collection)
        for condition in where:
            value = list(condition.value) if condition.op == "in" else condition.value
            query = query.where(filter=FieldFilter(condition.field, condition.op, value))
        sort_here = order_by is None and any(w.op in _INEQUALITIES for w in where)
        if order_by is not None:
            direction = firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING
            query = query.order_by(order_by, direction=direction)
        elif not sort_here:
            query = query.order_by(FieldPath.document_id())
        if limit is not None and not sort_here:
            query = query.limit(limit)
        with _sdk_errors(f"query {collection}"):
            found = [Document(s.id, s.to_dict() or {}) for s in query.stream()]
        if sort_here:
            found.sort(key=lambda d: d.key)
        return found[:limit] if limit is not None else found


class _KeyOrderedQuery(Query):
    """A whole collection, for a listener: its watch orders documents by path cheaply.

    The SDK's listener sorts every document of the collection after each change
    with the query's comparator, which for a query without ``order_by`` builds
    protobuf messages on every comparison (profiled: a third of a host's CPU on
    a collection of a few hundred documents, all of it under the GIL). This one
    compares the same thing, the document paths, as plain tuples: the same
    order, the same results, no messages.
    """

    def _comparator(self, doc1: Any, doc2: Any) -> int:
        left: tuple[str, ...] = doc1.reference._path
        right: tuple[str, ...] = doc2.reference._path
        return (left > right) - (left < right)


class _FirestoreWatch(Watch):
    """One ``on_snapshot`` listener that turns snapshot diffs into :class:`DocumentChange`."""

    def __init__(
        self,
        collection: str,
        callback: ChangeCallback,
        resume: Mapping[str, tuple[str, Doc]] | None = None,
    ) -> None:
        self._collection, self._callback = collection, callback
        self._resume = resume
        self._last: dict[str, Doc] = {}
        self._handle: Any = None
        self._stopped = threading.Event()
        self.ready = threading.Event()

    def start(self, client: firestore.Client, timeout_s: float) -> None:
        with _sdk_errors(f"watch {self._collection}"):
            query = _KeyOrderedQuery(client.collection(self._collection))
            self._handle = _SdkWatch.for_query(  # type: ignore[no-untyped-call]
                query, self._on_snapshot, DocumentSnapshot
            )
        if not self.ready.wait(timeout_s):
            self.stop()
            raise StoreError(f"no initial snapshot of {self._collection} in {timeout_s:.0f} s")

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._handle is not None:
            self._handle.unsubscribe()

    def _on_snapshot(self, _docs: Any, changes: Any, read_time: datetime) -> None:
        if self._stopped.is_set():
            return
        if not self.ready.is_set():  # the initial state: remember it, announce nothing
            self._last = {c.document.id: c.document.to_dict() or {} for c in changes}
            missed = self._missed(changes, read_time) if self._resume is not None else []
            self.ready.set()
            for change in missed:
                self._announce(change)
            return
        for change in changes:
            key, snapshot = change.document.id, change.document
            before = self._last.get(key)
            if change.type.name == "REMOVED":
                self._last.pop(key, None)
                after, version = None, iso_utc(read_time)
                before = before if before is not None else snapshot.to_dict()
            else:
                after = snapshot.to_dict() or {}
                self._last[key] = copy.deepcopy(after)
                before = None if change.type.name == "ADDED" else before
                version = iso_utc(snapshot.update_time)
            if self._stopped.is_set():
                return
            self._announce(DocumentChange(self._collection, key, before, after, version))

    def _missed(self, changes: Any, read_time: datetime) -> list[DocumentChange]:
        """What changed since the ``resume`` state: the writes a stopped watcher missed."""
        known = dict(self._resume or {})
        missed: list[DocumentChange] = []
        for change in changes:
            key, snapshot = change.document.id, change.document
            version = iso_utc(snapshot.update_time)
            seen = known.pop(key, None)
            if seen is None or seen[0] != version:
                before = copy.deepcopy(seen[1]) if seen is not None else None
                after = snapshot.to_dict() or {}
                missed.append(DocumentChange(self._collection, key, before, after, version))
        for key, (_, doc) in sorted(known.items()):  # deleted while nobody watched
            missed.append(DocumentChange(self._collection, key, doc, None, iso_utc(read_time)))
        return missed

    def _announce(self, change: DocumentChange) -> None:
        try:
            self._callback(change)
        except Exception:
            _log.exception("change callback failed for %s/%s", self._collection, change.key)


class FirestoreChangeFeed(_ClientUser, AbstractChangeFeed):
    """A change feed on Firestore's listen stream (``collection.on_snapshot``), for local runs.

    On GCP, database-first triggers receive Eventarc's Firestore CloudEvents
    instead (see :mod:`shared.stores.eventarc`). Delivery is at-least-once, as
    with Eventarc, so callbacks must be idempotent; callbacks run one at a time
    on the listener's thread. The listener reports snapshots, not single writes:
    several quick writes to one document may arrive as one change. ``before`` is
    the last state this watch saw; a delete's ``version`` is the snapshot's read
    time. A callback that raises is logged and the change is not redelivered.

    ``watch(..., resume=state)`` picks up where an earlier watcher stopped:
    ``state`` maps each document key to the (version, data) that watcher last
    handled, and every difference with the initial snapshot (created, changed or
    deleted since) is announced once the watch is ready.
    """

    def __init__(
        self, project: str, client: firestore.Client | None = None, *, ready_timeout_s: float = 30.0
    ) -> None:
        super().__init__(project, client)
        self._ready_timeout_s = ready_timeout_s

    def watch(
        self,
        collection: str,
        callback: ChangeCallback,
        *,
        resume: Mapping[str, tuple[str, Doc]] | None = None,
    ) -> Watch:
        """Listen to ``collection``; returns once the initial snapshot (not announced) arrived.

        With ``resume``, what changed since that state is announced (see the class).
        """
        watch = _FirestoreWatch(collection, callback, resume)
        watch.start(self._client, self._ready_timeout_s)
        return watch
