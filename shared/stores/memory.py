"""The embedded document store: in memory, with Firestore's semantics.

Documents are copied in and out, so callers cannot mutate stored state by
accident, and every write is announced on the change feed, as Firestore's
document-written events are. Each stored document is kept frozen (serialized
with :mod:`marshal`, the fastest deep copy CPython has for JSON-like values),
so a read is one C call, and, in a collection that has been queried, beside the
live copy that queries match against. Equality and ``in`` conditions are served
from indexes built on first use, so the embedded system stays fast as collections
grow. Every operation refuses an id Firestore would refuse
(:func:`~shared.stores.document_rules.check_key`), reads included, so a bad id
fails here as it fails on GCP; every write is held to Firestore's size limits
(:func:`~shared.stores.document_rules.check_size`). Values read back as the
Firestore client reads them (the table in :mod:`shared.stores.eventarc`): a
``datetime`` is stored as the client's ``DatetimeWithNanoseconds`` in UTC.

Given a ``pause_point`` (chaos mode's overlapping deliveries), each operation calls it as
it starts, where the handling making it may pause past its ack deadline; never from
inside an updater, a condition or a watcher, where this or another embedded store holds
its lock.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import marshal
import pickle
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.clock import Clock
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
from shared.stores.document_rules import (
    MAX_DOCUMENT_BYTES,
    check_collection,
    check_key,
    check_size,
    normalized,
    same_value,
)
from shared.stores.indexes import DeclaredIndexes
from shared.stores.nesting import callback_of, refuse_nested, refuse_write_held
from shared.stores.query import (
    all_of,
    check_query,
    condition,
    field_value,
    is_nan,
    order_fields,
    sort_key,
)
from shared.topology.model import Index

_log = logging.getLogger(__name__)

ValueIndex = dict[Any, set[str]]
"""Field value -> keys of the documents holding it."""

_locked = threading.local()
"""``depth``: how many of the embedded stores' locked sections running a caller's code
(an updater, a condition, a watcher) this thread is in: no pause point there."""


class _Locked:
    """Marks the thread as in a locked section running a caller's code while it lasts."""

    __slots__ = ()

    def __enter__(self) -> None:
        _locked.depth = getattr(_locked, "depth", 0) + 1

    def __exit__(self, *_: object) -> None:
        _locked.depth -= 1


_LOCKED = _Locked()


def _go_on() -> None:
    """A store's pause point when none was given: nothing to do."""


_STRIPES = 64
"""How many document locks a store has, each shared by the documents whose names hash to it."""

_MARSHAL_VERSION = 2
"""The newest marshal format without back-references: an object that occurs twice in
a document thaws as two independent copies, as a Firestore read returns them."""


class Frozen:
    """An immutable snapshot of a document (or any JSON-like value) that thaws into a
    fresh deep copy each time, its datetimes as the Firestore client reads them back
    (:func:`as_read`).

    Marshalled, which is fast; its datetimes, which marshal does not know, are kept
    apart with where they go (immutable, they need no copy), so a document with a
    timestamp (a TTL field) does not fall back to pickle, several times slower.
    """

    __slots__ = ("_blob", "_dates", "_loads")

    def __init__(self, value: Any) -> None:
        self._dates: tuple[tuple[tuple[str | int, ...], datetime], ...] = ()
        try:
            self._blob, self._loads = marshal.dumps(value, _MARSHAL_VERSION), marshal.loads
            return
        except ValueError:  # a value marshal does not know, e.g. a datetime
            pass
        dates: list[tuple[tuple[str | int, ...], datetime]] = []
        try:
            self._blob = marshal.dumps(_without_dates(value, (), dates), _MARSHAL_VERSION)
            self._loads, self._dates = marshal.loads, tuple(dates)
        except ValueError:  # something else still
            self._blob = pickle.dumps(as_read(value), pickle.HIGHEST_PROTOCOL)
            self._loads = pickle.loads

    @property
    def plain(self) -> bool:
        """Whether the value holds only what marshal knows (no datetime, for one)."""
        return self._loads is marshal.loads and not self._dates

    def surely_fits(self) -> bool:
        """True only when Firestore surely takes the document, whatever its name
        (:func:`~shared.stores.document_rules.check_size`): marshalled to few enough bytes,
        none of them a lone surrogate."""
        blob, dates = self._blob, len(self._dates)
        # a datetime Firestore counts as 8 bytes, marshalled in its place as None (1 byte)
        return (
            self._loads is marshal.loads
            and len(blob) + 5 * dates <= _SURELY_FITS_BYTES
            and _SURROGATE.search(blob) is None
        )

    def thaw(self) -> Any:
        """A new deep copy of the value."""
        value = self._loads(self._blob)
        for path, date in self._dates:
            *parents, last = path
            holder = value
            for step in parents:
                holder = holder[step]
            holder[last] = date
        return value

    def same_as(self, other: Frozen) -> bool:
        """True when both hold the same value, types and key order included."""
        return self._blob == other._blob and self._dates == other._dates

    def surely_differs(self, other: Frozen) -> bool:
        """True only when the two values are not :func:`same_value`: both marshalled, to
        blobs of different lengths (marshal writes a value in as many bytes whatever the
        order of its maps' keys, so same values have blobs of one length)."""
        return self.plain and other.plain and len(self._blob) != len(other._blob)


def _without_dates(
    value: Any, path: tuple[str | int, ...], dates: list[tuple[tuple[str | int, ...], datetime]]
) -> Any:
    """``value`` with each datetime left out (``None`` in its place), noted in ``dates``
    with its path."""
    if isinstance(value, datetime):
        dates.append((path, as_read(value)))
        return None
    if isinstance(value, dict):
        return {k: _without_dates(v, (*path, k), dates) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_dates(v, (*path, i), dates) for i, v in enumerate(value)]
    return value


_SURELY_FITS_BYTES = (MAX_DOCUMENT_BYTES - 3100) * 5 // 8
"""Marshal writes each value in at least 5/8 of the bytes Firestore counts for it (an
integer: 5 of 8), and a document name takes Firestore at most 3100 bytes."""
_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")
"""How marshal and pickle write a lone surrogate; valid UTF-8 never holds these bytes."""


class FrozenChange:
    """A document change with its documents kept frozen: each :meth:`thaw` is a new
    :class:`DocumentChange` with copies of its own, as each Eventarc delivery decodes its own."""

    __slots__ = ("after", "before", "collection", "key", "version", "written_ms")

    def __init__(
        self,
        collection: str,
        key: str,
        before: Frozen | None,
        after: Frozen | None,
        version: str,
        written_ms: int | None,
    ) -> None:
        self.collection, self.key, self.version = collection, key, version
        self.before, self.after, self.written_ms = before, after, written_ms

    def thaw(self) -> DocumentChange:
        """The change, with fresh copies of its documents."""
        before, after = self.before, self.after
        return DocumentChange(
            self.collection,
            self.key,
            None if before is None else before.thaw(),
            None if after is None else after.thaw(),
            self.version,
            self.written_ms,
        )


FrozenCallback = Callable[[FrozenChange], None]


class _FrozenWatcher:
    """A :meth:`InMemoryDocumentStore.watch_frozen` callback among the plain ones."""

    __slots__ = ("callback",)

    def __init__(self, callback: FrozenCallback) -> None:
        self.callback = callback


Watcher = ChangeCallback | _FrozenWatcher


class _MemoryWatch(Watch):
    def __init__(self, store: InMemoryDocumentStore, collection: str, callback: Watcher) -> None:
        self._store, self._collection, self._callback = store, collection, callback

    def stop(self) -> None:
        self._store._unwatch(self._collection, self._callback)


class InMemoryDocumentStore(AbstractDocumentStore, AbstractChangeFeed):
    """A thread-safe in-process document store that is also its own change feed (whose
    callbacks run in the writing thread; one that raises is logged, as on Firestore's
    listener, and fails neither the write nor the other watchers).

    With a ``clock``, each change says when it was written. With
    ``rerun_updaters``, :meth:`update` runs its updater twice and keeps the second
    result, as a Firestore transaction under contention does: an updater that
    is not a pure function of the document it gets shows up (chaos mode). Given the
    composite ``indexes`` its collections have on Firestore (the embedded system gives
    each subsystem's store the ones its topology and the kit declare), a query or count
    Firestore would refuse for want of one is refused
    (:class:`~shared.stores.indexes.MissingIndex`); without, every query is taken.
    With a ``pause_point``, each operation (a read, a query, a write, an ``update``, a
    ``delete_if``) calls it first, unless the thread is inside an updater, a condition or
    a watcher (of any embedded store, whose lock is then held): chaos mode pauses the
    handling making it there now and then (:meth:`~shared.hub.chaos.ChaosRun.point`), so
    that others run between any read it makes and its next write.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        rerun_updaters: bool = False,
        indexes: Iterable[Index] | None = None,
        pause_point: Callable[[], None] | None = None,
    ) -> None:
        self._clock = clock
        self._pause_point = pause_point
        self._point: Callable[[], None] = self._pausing if pause_point is not None else _go_on
        """Called as each operation starts: the ``pause_point`` where one may come."""
        self._rerun_updaters = rerun_updaters
        self._declared = DeclaredIndexes(indexes) if indexes is not None else None
        self._collections: dict[str, dict[str, Frozen]] = {}
        """Every document, frozen, by collection and key: what the store holds."""
        self._live: dict[str, dict[str, Doc]] = {}
        """Live copies, for queries to match against, of the collections queried so far."""
        self._watchers: dict[str, list[Watcher]] = {}
        self._lock = threading.RLock()
        self._stripes = tuple(threading.Lock() for _ in range(_STRIPES))
        self._versions = itertools.count(1)
        self._indexes: dict[str, dict[str, ValueIndex]] = {}

    # -- reads -----------------------------------------------------------------------

    def snapshot(self) -> dict[tuple[str, str], Doc]:
        """Every document, by (collection, key): copies, for a test to compare before and
        after (the embedded store only; Firestore lists no collections cheaply)."""
        with self._lock:
            return {
                (collection, key): frozen.thaw()
                for collection, documents in self._collections.items()
                for key, frozen in documents.items()
            }

    def get(self, collection: str, key: str) -> Doc | None:
        self._point()
        check_key(collection, key)
        with self._lock:
            frozen = self._collections.get(collection, {}).get(key)
            return frozen.thaw() if frozen is not None else None

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        self._point()
        check_collection(collection)
        check_query(where, order_by)
        if self._declared is not None:
            self._declared.check(collection, where, order_by, descending)
        if limit is not None and limit <= 0:
            return []
        conditions = [condition(w) for w in where]
        with self._lock:
            frozen = self._collections.get(collection, {})
            candidates, settled = self._candidates(collection, where)
            matching = all_of([c for i, c in enumerate(conditions) if i not in settled])
            found = [Document(key, frozen[key].thaw()) for key, doc in candidates if matching(doc)]
        if order_by is None:
            found.sort(key=lambda d: d.key)
        else:  # then by the inequality fields and the key, in the same direction
            fields = order_fields(where, order_by)
            found = [d for d in found if sort_key(d.data, order_by) is not None]
            found.sort(
                key=lambda d: (tuple(sort_key(d.data, f) for f in fields), d.key),
                reverse=descending,
            )
        return found[:limit] if limit is not None else found

    # -- writes ----------------------------------------------------------------------

    def create(self, collection: str, key: str, data: Doc) -> bool:
        self._point()
        data, frozen = self._prepared(collection, key, data)  # refused even if it exists
        refuse_write_held("create", id(self), collection, key)
        with self._document_lock(collection, key), self._lock:
            if key in self._collections.get(collection, {}):
                return False
            self._store(collection, key, data, frozen)
            return True

    def put(self, collection: str, key: str, data: Doc) -> None:
        self._point()
        refuse_write_held("put", id(self), collection, key)
        with self._document_lock(collection, key), self._lock:
            self._write(collection, key, data)

    def update(self, collection: str, key: str, updater: Updater) -> Doc | None:
        """See :meth:`AbstractDocumentStore.update`. As a Firestore transaction, it isolates
        only the document it updates: the updater runs without the store's lock (under the
        document's own, as :class:`~shared.stores.firestore.FirestoreDocumentStore` takes
        one), so writers of other documents go on meanwhile and a ``get`` of another
        document in it may be stale by the commit (a write of this one waits)."""
        self._point()
        action = f"update {collection}/{key}"
        refuse_nested(action)
        check_key(collection, key)
        with self._document_lock(collection, key), _LOCKED:
            while True:
                with self._lock:
                    read = self._collections.get(collection, {}).get(key)
                with callback_of(action, (id(self), collection, key)):
                    if self._rerun_updaters:  # a try that lost the contention
                        updater(None if read is None else read.thaw())
                    new = updater(None if read is None else read.thaw())
                if new is None:
                    return None
                with self._lock:
                    if self._collections.get(collection, {}).get(key) is read:
                        written: Doc = self._write(collection, key, new).thaw()
                        return written
                # written since it was read: Firestore runs the transaction again

    def delete(self, collection: str, key: str) -> None:
        self._point()
        check_key(collection, key)
        refuse_write_held("delete", id(self), collection, key)
        with self._document_lock(collection, key), self._lock:
            frozen = self._collections.get(collection, {}).pop(key, None)
            if frozen is not None:
                live = self._live.get(collection)
                if live is not None:
                    self._reindex(collection, key, live.pop(key), None)
                self._announce(collection, key, frozen, None)

    def delete_if(self, collection: str, key: str, condition: Callable[[Doc], bool]) -> bool:
        self._point()
        action = f"delete_if {collection}/{key}"
        refuse_nested(action)
        check_key(collection, key)
        with self._document_lock(collection, key), _LOCKED:
            while True:
                with self._lock:
                    read = self._collections.get(collection, {}).get(key)
                if read is None:
                    return False
                with callback_of(action, (id(self), collection, key)):
                    holds = condition(read.thaw())
                if not holds:
                    return False
                with self._lock:
                    if self._collections.get(collection, {}).get(key) is read:
                        self.delete(collection, key)
                        return True

    # -- change feed -----------------------------------------------------------------

    def watch(self, collection: str, callback: ChangeCallback) -> Watch:
        with self._lock:
            self._watchers.setdefault(collection, []).append(callback)
        return _MemoryWatch(self, collection, callback)

    def watch_frozen(self, collection: str, callback: FrozenCallback) -> Watch:
        """:meth:`watch`, for a watcher that keeps changes to thaw later (the embedded
        system's trigger queues): it is told with a :class:`FrozenChange`, which one
        write's watchers share, and saves thawing documents only to freeze them again."""
        watcher = _FrozenWatcher(callback)
        with self._lock:
            self._watchers.setdefault(collection, []).append(watcher)
        return _MemoryWatch(self, collection, watcher)

    def _unwatch(self, collection: str, callback: Watcher) -> None:
        with self._lock:
            callbacks = self._watchers.get(collection, [])
            if callback in callbacks:
                callbacks.remove(callback)

    # -- internals -------------------------------------------------------------------

    @contextlib.contextmanager
    def _document_lock(self, collection: str, key: str) -> Iterator[None]:
        """Hold the document's lock (one of :data:`_STRIPES`, as
        :class:`~shared.stores.firestore.FirestoreDocumentStore` takes one, chosen alike) while
        an update or delete_if of it runs, and for a write of it: as on Firestore, a write
        of a document a transaction holds waits for it, a write of any other goes on. Not
        from a watcher or an updater (the thread holds the store's lock, or a document's):
        the commit then finds the document changed and runs the updater again."""
        if getattr(_locked, "depth", 0):
            yield
            return
        with self._stripes[
            zlib.crc32(f"{collection}/{key}".encode(errors="surrogatepass")) % _STRIPES
        ]:
            yield

    def _pausing(self) -> None:
        """Call the ``pause_point``, unless this thread runs a caller's code under a lock."""
        if self._pause_point is not None and not getattr(_locked, "depth", 0):
            self._pause_point()

    def _write(self, collection: str, key: str, data: Doc) -> Frozen:
        return self._store(collection, key, *self._prepared(collection, key, data))

    @staticmethod
    def _prepared(collection: str, key: str, data: Doc) -> tuple[Doc, Frozen]:
        """``data`` as the document ``collection``/``key`` holds it, and frozen; refused
        (:class:`~shared.exceptions.InvalidKey`, :class:`~shared.exceptions.InvalidDocument`)
        as Firestore refuses it."""
        check_key(collection, key)
        data = normalized(data)
        frozen = Frozen(data)
        if not frozen.surely_fits():
            check_size(collection, key, data)
        if not frozen.plain:
            data = frozen.thaw()  # its datetimes as a read returns them
        return data, frozen

    def _store(self, collection: str, key: str, data: Doc, frozen: Frozen) -> Frozen:
        """Keep a :meth:`_prepared` document and announce the change, if it is one."""
        frozen_docs = self._collections.setdefault(collection, {})
        live = self._live.get(collection)
        previous = frozen_docs.get(key)
        before = live.get(key) if live is not None else None
        if previous is not None and _unchanged(previous, frozen, before, data):
            return previous  # a write that changes nothing: Firestore reports no change
        frozen_docs[key] = frozen
        if live is not None:
            live[key] = stored = frozen.thaw()
            self._reindex(collection, key, before, stored)
        self._announce(collection, key, previous, frozen)
        return frozen

    def _live_docs(self, collection: str) -> dict[str, Doc]:
        """The live copies of ``collection``'s documents, made on its first query and kept
        up to date by every write from then on."""
        live = self._live.get(collection)
        if live is None:
            frozen = self._collections.get(collection, {})
            live = self._live[collection] = {key: f.thaw() for key, f in frozen.items()}
        return live

    def _candidates(
        self, collection: str, where: Sequence[Where]
    ) -> tuple[Iterable[tuple[str, Doc]], set[int]]:
        """The documents that can match: the smallest index bucket of an ``==`` or ``in``, less
        those missing from the other buckets, else all; and the positions in ``where`` of the
        conditions each of them meets, as their buckets hold only what matches them: those
        on strings (and ``== None``), not numbers (``1``, ``1.0`` and ``True`` share a bucket)."""
        docs = self._live_docs(collection)
        buckets: list[set[str]] = []
        """Each holds every document matching its condition, and maybe others (``1 == 1.0``)."""
        unjoined: list[list[set[str]]] = []
        """The buckets, one per value, of the ``in`` conditions whose union would cost more
        than looking each candidate up in them."""
        settled: set[int] = set()
        # ``==`` first: a lookup each, their buckets may spare an ``in`` its union
        for at, w in enumerate(where):
            if w.op == "==" and _findable(w.value):
                value = w.value if type(w.value) in _SCALARS else as_read(w.value)
                buckets.append(self._index(collection, w.field).get(value, set()))
                if value is None or type(value) is str:
                    settled.add(at)
        for at, w in enumerate(where):
            if w.op != "in" or not all(type(v) is str or _findable(v) for v in w.value):
                continue
            index = self._index(collection, w.field)
            parts = [
                found
                for v in w.value
                if (found := index.get(v if type(v) in _SCALARS else as_read(v)))
            ]
            fewest = min(map(len, buckets), default=None)
            if fewest is not None and fewest * len(parts) < sum(map(len, parts)):
                unjoined.append(parts)
            else:
                buckets.append(set().union(*parts))
            if all(type(v) is str for v in w.value):
                settled.add(at)
        if not buckets:
            return docs.items(), set()
        smallest = min(buckets, key=len)
        # A document missing from a bucket cannot match: leave it out before the conditions
        # are tried on it.
        keys = smallest.intersection(*(b for b in buckets if b is not smallest))
        for parts in unjoined:
            keys = {k for k in keys if any(k in part for part in parts)}
        return [(k, docs[k]) for k in keys], settled

    def _index(self, collection: str, field: str) -> ValueIndex:
        indexes = self._indexes.setdefault(collection, {})
        if field not in indexes:
            index: ValueIndex = {}
            for key, doc in self._live_docs(collection).items():
                _add(index, field_value(doc, field), key)
            indexes[field] = index
        return indexes[field]

    def _reindex(self, collection: str, key: str, before: Doc | None, after: Doc | None) -> None:
        for field, index in self._indexes.get(collection, {}).items():
            old = _ABSENT if before is None else field_value(before, field)
            new = _ABSENT if after is None else field_value(after, field)
            if type(old) is type(new) and type(new) in _SAME_BUCKET and old == new:
                continue  # an index bucket keeps the document
            if before is not None:
                _discard(index, old, key)
            if after is not None:
                _add(index, new, key)

    def _announce(
        self, collection: str, key: str, before: Frozen | None, after: Frozen | None
    ) -> None:
        """Tell each watcher, with its own copies of the documents; a plain one that raises
        is logged (a frozen one, the embedded system's own queue, fails the write)."""
        version = self._version()
        written_ms = self._clock.now_ms() if self._clock is not None else None
        frozen: FrozenChange | None = None
        for callback in self._watchers.get(collection, ()):
            if isinstance(callback, _FrozenWatcher):
                if frozen is None:
                    frozen = FrozenChange(collection, key, before, after, version, written_ms)
                callback.callback(frozen)
                continue
            change = DocumentChange(
                collection,
                key,
                None if before is None else before.thaw(),
                None if after is None else after.thaw(),
                version,
                written_ms,
            )
            try:
                with _LOCKED:
                    callback(change)
            except Exception:  # as a Firestore listener: logged, the write and feed go on
                _log.exception("change callback failed for %s/%s", collection, key)

    def _version(self) -> str:
        return f"{next(self._versions):012d}"


def _unchanged(previous: Frozen, frozen: Frozen, before: Doc | None, data: Doc) -> bool:
    """Whether ``data`` (frozen as ``frozen``) is the same document as ``previous`` (whose
    live copy ``before`` is, if the collection keeps them)."""
    if previous.same_as(frozen):
        return True
    if previous.surely_differs(frozen):
        return False
    if before is None:
        before = previous.thaw()
    # Python's == is laxer than same_value (1 == 1.0 == True) and fast: only when it finds
    # the documents equal can they be the same.
    return bool(before == data) and same_value(before, data)


def as_read(value: Any) -> Any:
    """``value`` as the Firestore client reads it back: each ``datetime`` a
    ``DatetimeWithNanoseconds`` in UTC, to the microsecond (naive ones taken as UTC)."""
    if isinstance(value, dict):
        return {k: as_read(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_read(v) for v in value]
    if isinstance(value, datetime):
        from google.api_core.datetime_helpers import DatetimeWithNanoseconds

        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        fields = (*utc.timetuple()[:6], utc.microsecond)
        return DatetimeWithNanoseconds(*fields, tzinfo=UTC)  # type: ignore[no-untyped-call]
    return value


_ABSENT = object()
"""The value of a field in a document that does not exist."""
_SAME_BUCKET = frozenset({str, int, bool, bytes, type(None)})
"""Types whose equal values share an index bucket (not float: NaN != NaN)."""
_SCALARS = frozenset({str, int, float, bool, bytes, type(None)})
"""Types :func:`as_read` returns as they are."""


def _findable(value: Any) -> bool:
    """Whether an index finds every document holding ``value``: not NaN (NaN != NaN), not an
    array or a map (which the index leaves out)."""
    return _hashable(value) and not is_nan(value)


def _hashable(value: Any) -> bool:
    """Whether an index holds ``value`` as it is (a tuple or set is an array to Firestore,
    which the index leaves out)."""
    return not isinstance(value, (dict, list, tuple, set, frozenset))


def _add(index: ValueIndex, value: Any, key: str) -> None:
    if _hashable(value):
        index.setdefault(value, set()).add(key)


def _discard(index: ValueIndex, value: Any, key: str) -> None:
    if _hashable(value) and value in index:
        index[value].discard(key)
        if not index[value]:
            del index[value]
