"""The Firestore backend of the document store port (GCP and the emulator).

The client honours ``FIRESTORE_EMULATOR_HOST``, so the same code runs against
the emulator and against Firestore. Nothing talks to Firestore at import time.
The change feed for local runs is :mod:`shared.stores.firestore_feed`.

Queries that combine conditions with ``order_by`` need composite indexes on
Firestore (the emulator needs none); declare them with the service.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from google.api_core.exceptions import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    GoogleAPIError,
    ResourceExhausted,
    RetryError,
    ServiceUnavailable,
)
from google.api_core.retry import Retry, if_exception_type
from google.auth.exceptions import GoogleAuthError
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from shared.exceptions import ConflictError, KitError, StoreError
from shared.stores.base import AbstractDocumentStore, Doc, Document, Updater, Where
from shared.stores.document_rules import check_collection, check_key, check_size, normalized
from shared.stores.memory import as_read
from shared.stores.nesting import callback_of, refuse_nested, refuse_write_held
from shared.stores.query import check_query, value_key

if TYPE_CHECKING:
    from google.cloud.firestore_v1.document import DocumentReference
    from google.cloud.firestore_v1.transaction import Transaction

TRANSACTION_ATTEMPTS = 10
"""Attempts of one ``update`` transaction's commit (the SDK's retries) and of its read (this
module's) before it fails with :class:`ConflictError`."""
CLOCK_SKEW_S = 5.0
"""How far Firestore's clock may be behind this process's: a document a retried ``create``
finds was created by one of its own tries only if Firestore stamped it no earlier than this
before the call began."""
CREATE_RETRY_S = 60.0
"""How long a ``create`` retries its commit (the SDK's deadline for one)."""
_MAYBE_LANDED = (ServiceUnavailable, DeadlineExceeded)
"""Errors after which a commit may have been applied: what was lost may be the answer."""
_INEQUALITIES = frozenset({"!=", "<", "<=", ">", ">="})
_LOCKS = tuple(threading.Lock() for _ in range(64))
_log = logging.getLogger(__name__)


class _UpdaterFailed(Exception):
    """Carries an exception raised by an updater (``args[0]``) through the decorator."""


def _lock(project: str, path: str) -> threading.Lock:
    return _LOCKS[zlib.crc32(f"{project}\0{path}".encode()) % len(_LOCKS)]


@contextlib.contextmanager
def sdk_errors(action: str) -> Iterator[None]:
    """Translate the SDK's exceptions into :class:`StoreError` (the kit's own pass as they are)."""
    try:
        yield
    except KitError:
        raise
    except (GoogleAPIError, GoogleAuthError, ValueError, TypeError) as e:
        raise StoreError(f"firestore {action} failed: {e}") from e


def _field_path(path: str) -> str:
    """A dotted field path as Firestore takes it: each name that is not a plain identifier
    quoted (``first-name`` is `` `first-name` ``; sent bare, Firestore refuses it)."""
    return FieldPath(*path.split(".")).to_api_repr()


def _storable(collection: str, key: str, data: Doc) -> Doc:
    """``data`` as Firestore stores it, refused here as in the embedded store (with
    :class:`~shared.exceptions.InvalidDocument`), not by the SDK or the server."""
    data = normalized(data)
    check_size(collection, key, data)
    return data


def _unmasked(error: BaseException) -> BaseException:
    """The error a transaction failed with: ``error``, or, when that is the error its rollback
    then failed with (an API error, or a ``ValueError`` when it had not begun), the first,
    which the SDK keeps as the rollback error's ``__context__``."""
    first = error.__context__
    rollback = isinstance(error, GoogleAPIError) or type(error) is ValueError
    if rollback and isinstance(first, (_UpdaterFailed, KitError, GoogleAPIError, ValueError)):
        return first
    return error


def _transact(transaction: Transaction, ref: DocumentReference, updater: Updater) -> Doc | None:
    snapshot = ref.get(transaction=transaction)
    current = snapshot.to_dict() if snapshot.exists else None
    try:
        new = updater(current)
    except Exception as e:
        raise _UpdaterFailed(e) from e
    if new is not None:
        new = _storable(ref.parent.id, ref.id, new)
        transaction.set(ref, new)
    return new


def _transact_delete(
    transaction: Transaction, ref: DocumentReference, condition: Callable[[Doc], bool]
) -> bool:
    snapshot = ref.get(transaction=transaction)
    if not snapshot.exists:
        return False
    try:
        holds = condition(snapshot.to_dict() or {})
    except Exception as e:
        raise _UpdaterFailed(e) from e
    if holds:
        transaction.delete(ref)
    return holds


def _create_retry(on_lost: Callable[[Exception], None]) -> Retry:
    """The SDK's retry of a commit, and of one that timed out (``DeadlineExceeded``, which the
    SDK does not retry: a create is conditional, so trying it again is safe), calling
    ``on_lost`` with each error after which the try may have landed (:data:`_MAYBE_LANDED`:
    the answer, not the request, may be what was lost; ``ResourceExhausted`` is a refusal)."""

    def on_error(error: Exception) -> None:
        if isinstance(error, _MAYBE_LANDED):
            on_lost(error)

    return Retry(
        predicate=if_exception_type(ResourceExhausted, *_MAYBE_LANDED),
        initial=0.1,
        maximum=60.0,
        multiplier=1.3,
        timeout=CREATE_RETRY_S,
        on_error=on_error,
    )


def _maybe_landed(error: GoogleAPIError) -> bool:
    """Whether the commit that failed with ``error`` (the last try's, or the retry's giving
    up after it) may have been applied."""
    return isinstance(error, _MAYBE_LANDED) or isinstance(error.__cause__, _MAYBE_LANDED)


def _created_by_this_call(ref: DocumentReference, data: Doc, began: float) -> bool:
    """Whether the document at ``ref`` is the one a try of a create of ``data`` begun at
    ``began`` (epoch seconds) wrote: equal to it (as queries compare values, so NaN is NaN)
    and created since, give or take :data:`CLOCK_SKEW_S`."""
    snapshot = ref.get()
    if not snapshot.exists or snapshot.create_time is None:
        return False
    if snapshot.create_time.timestamp() < began - CLOCK_SKEW_S:
        return False
    return value_key(snapshot.to_dict() or {}) == value_key(data)


class ClientHolder:
    """Holds a Firestore client: the one given, or one it builds and closes."""

    def __init__(self, project: str, client: firestore.Client | None = None) -> None:
        self._project, self._owns_client = project, client is None
        with sdk_errors("connect"):
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


class FirestoreDocumentStore(ClientHolder, AbstractDocumentStore):
    """Documents in Firestore: ``collection`` is a collection path, ``key`` a document id.

    Built from ``project`` (and ``client``, else a client for that project).
    ``update`` runs a Firestore transaction (retried on contention by the
    client's transactional decorator, so ``updater`` may run more than once and
    must be pure). Updates of one document from one process are also serialized
    locally, which spares Firestore (and the emulator, whose lock-timeout aborts
    make contended transactions very slow) most of the contention. So an ``update`` or
    ``delete_if`` called from inside an updater or condition, which would wait for ever for
    a lock its caller holds, is refused (:mod:`shared.stores.nesting`), and so is a write of
    the document the transaction holds, which would wait for Firestore's lock.

    An id Firestore refuses is refused before any request, as the embedded
    store refuses it, with :class:`~shared.exceptions.InvalidKey`.
    """

    def _ref(self, collection: str, key: str) -> DocumentReference:
        check_key(collection, key)
        return self._client.collection(collection).document(key)

    def get(self, collection: str, key: str) -> Doc | None:
        with sdk_errors(f"get {collection}/{key}"):
            snapshot = self._ref(collection, key).get()
            return snapshot.to_dict() if snapshot.exists else None

    def create(self, collection: str, key: str, data: Doc) -> bool:
        """See :meth:`AbstractDocumentStore.create`.

        The commit is retried as the SDK retries it, and when it timed out
        (``DeadlineExceeded``). A try that failed with ``ServiceUnavailable`` or
        ``DeadlineExceeded`` may have landed with its answer lost; when a later try then
        finds the document, or the last try failed so, the document counts as created by this
        call if it is equal to ``data`` and Firestore created it since the call began
        (:data:`CLOCK_SKEW_S`): else this call would report as there what it wrote itself (or
        fail having written it), and its caller drop what it meant to record. (A twin another
        call created in that window is taken for this call's own: announced twice rather
        than lost.) When it is not found so, the call fails with
        :class:`~shared.exceptions.StoreError`, as an unavailable store does.
        """
        with sdk_errors(f"create {collection}/{key}"):
            ref = self._ref(collection, key)
            data = _storable(collection, key, data)
            refuse_write_held("create", self._project, collection, key)
            began, lost = time.time(), list[Exception]()
            try:
                ref.create(data, retry=_create_retry(lost.append))
            except AlreadyExists:  # not any 409: an Aborted create (contention) created nothing
                return bool(lost) and _created_by_this_call(ref, data, began)
            except Aborted as e:
                raise ConflictError(f"create {collection}/{key} lost a race") from e
            except (RetryError, *_MAYBE_LANDED) as e:
                if not (lost or _maybe_landed(e)) or not _created_by_this_call(ref, data, began):
                    raise
            return True

    def put(self, collection: str, key: str, data: Doc) -> None:
        with sdk_errors(f"put {collection}/{key}"):
            ref = self._ref(collection, key)
            data = _storable(collection, key, data)
            refuse_write_held("put", self._project, collection, key)
            ref.set(data)

    def update(self, collection: str, key: str, updater: Updater) -> Doc | None:
        action = f"update {collection}/{key}"
        refuse_nested(action)  # it would wait for the lock its caller holds
        document = (self._project, collection, key)

        def marked(current: Doc | None) -> Doc | None:
            with callback_of(action, document):
                return updater(current)

        new: Doc | None = self._in_transaction("update", collection, key, _transact, marked)
        return None if new is None else as_read(new)  # a copy, as a read returns it

    def delete(self, collection: str, key: str) -> None:
        with sdk_errors(f"delete {collection}/{key}"):
            ref = self._ref(collection, key)
            refuse_write_held("delete", self._project, collection, key)
            ref.delete()

    def delete_if(self, collection: str, key: str, condition: Callable[[Doc], bool]) -> bool:
        action = f"delete_if {collection}/{key}"
        refuse_nested(action)
        document = (self._project, collection, key)

        def marked(current: Doc) -> bool:
            with callback_of(action, document):
                return condition(current)

        deleted: bool = self._in_transaction("delete", collection, key, _transact_delete, marked)
        return deleted

    def _in_transaction(
        self, action: str, collection: str, key: str, body: Callable[..., Any], argument: Any
    ) -> Any:
        """Run ``body(transaction, ref, argument)`` in a retried transaction on one document.

        The SDK retries a transaction whose commit aborts, not one whose begin or read
        aborts (as Firestore's reads may under contention): that one, which wrote nothing,
        is run again here in a new transaction, up to :data:`TRANSACTION_ATTEMPTS` times.
        """
        try:
            with sdk_errors(f"{action} {collection}/{key}"):
                ref = self._ref(collection, key)
                with _lock(self._project, ref.path):
                    attempt = 1
                    while True:
                        try:
                            return self._transact_once(action, collection, key, body, ref, argument)
                        except Aborted as aborted:  # at begin or read: nothing was written
                            if attempt == TRANSACTION_ATTEMPTS:
                                message = f"{action} {collection}/{key} kept aborting"
                                raise ConflictError(message) from aborted
                            attempt += 1
        except _UpdaterFailed as e:
            raise e.args[0] from None

    def _transact_once(
        self,
        action: str,
        collection: str,
        key: str,
        body: Callable[..., Any],
        ref: DocumentReference,
        argument: Any,
    ) -> Any:
        """One transaction of ``body`` (the SDK retries its commit when it aborts); raises
        the error it failed with, not its rollback's (:func:`_unmasked`)."""
        transaction = self._client.transaction(max_attempts=TRANSACTION_ATTEMPTS)
        run = firestore.transactional(body)  # per call: it holds the retry state
        try:
            return run(transaction, ref, argument)
        except (GoogleAPIError, ValueError) as e:
            failure = _unmasked(e)
            if type(failure) is ValueError and isinstance(failure.__cause__, Aborted):
                # the SDK's "failed to commit in N attempts"
                raise ConflictError(f"{action} {collection}/{key} kept aborting") from failure
            if failure is e:
                raise
            raise failure from e

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
        check_collection(collection)
        check_query(where, order_by)
        if limit is not None and limit <= 0:
            return []
        sort_here = order_by is None and any(w.op in _INEQUALITIES for w in where)
        with sdk_errors(f"query {collection}"):
            query = self._filtered(collection, where)
            if order_by is not None:
                direction = firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING
                query = query.order_by(_field_path(order_by), direction=direction)
            elif not sort_here:
                query = query.order_by(FieldPath.document_id())
            if limit is not None and not sort_here:
                query = query.limit(limit)
            found = [Document(s.id, s.to_dict() or {}) for s in query.stream()]
        if sort_here:
            found.sort(key=lambda d: d.key)
        return found[:limit] if limit is not None else found

    def count(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
    ) -> int:
        """How many documents :meth:`query` finds with these arguments: an aggregation
        query, which Firestore bills a read per thousand documents counted, not one per
        document, on the composite index the same query ordered so takes."""
        check_collection(collection)
        check_query(where, order_by)
        with sdk_errors(f"count {collection}"):
            query = self._filtered(collection, where)
            if order_by is not None:
                direction = firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING
                query = query.order_by(_field_path(order_by), direction=direction)
            results = query.count().get()
        return sum(int(result.value) for batch in results for result in batch)

    def _filtered(self, collection: str, where: Sequence[Where]) -> Any:
        """The SDK's query of ``collection`` with every condition of ``where``."""
        query: Any = self._client.collection(collection)
        for condition in where:
            value = list(condition.value) if condition.op == "in" else condition.value
            field = _field_path(condition.field)
            query = query.where(filter=FieldFilter(field, condition.op, value))
        return query
