"""The contract of the document store port, run against every backend.

A backend's test module subclasses :class:`DocumentStoreContract` (its name
starting with ``Test``) and implements :meth:`~DocumentStoreContract.make_store`
and :meth:`~DocumentStoreContract.make_feed`. Every test gets a fresh, empty store.
Change feeds may be asynchronous, so feed tests poll with a deadline.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from shared.envelope import new_event
from shared.exceptions import InvalidDocument, InvalidKey, InvalidQuery
from shared.runtime.change_events import StoredChange, document_event_data
from shared.stores.base import (
    AbstractChangeFeed,
    AbstractDocumentStore,
    Doc,
    DocumentChange,
    Watch,
    Where,
)
from shared.stores.eventarc import parse_document_written
from shared.stores.idempotent import META, apply_event, record_event
from shared.stores.nesting import NestedTransaction
from shared.stores.paging import Cursor, Page, newest_first, oldest_first
from tests.contracts.firestore_values import AS_READ, EVERY_VALUE, MOMENT, typed

FEED_TIMEOUT_S = 15.0
MIB = 1024 * 1024
"""The most a Firestore document may take, counted as Firestore counts it."""
LONGEST_VALUE = MIB - 89
"""The most UTF-8 bytes one string (or bytes value) may hold in Firestore."""


def nested(depth: int) -> dict[str, Any]:
    """Maps ``depth`` deep under the field that holds them."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"m": value}
    return value


NESTED_20, NESTED_21 = nested(20), nested(21)
COLL = "things"

QUERY_DOCS: dict[str, Doc] = {
    "k3": {"n": 3, "s": "c", "tags": [], "nested": {"v": 30}},
    "k1": {"n": 1, "s": "a", "tags": ["x", "y"], "nested": {"v": 10}},
    "k4": {"s": "d"},
    "k2": {"n": 2, "s": "b", "tags": ["y"], "nested": {"v": 20}},
}


INVALID_IDS = [
    pytest.param("__x__", id="reserved"),
    pytest.param("__.__", id="reserved-dot"),
    pytest.param(".", id="dot"),
    pytest.param("..", id="dot-dot"),
    pytest.param("a/b", id="slash"),
    pytest.param("/", id="only-slash"),
    pytest.param("", id="empty"),
    pytest.param("k" * 1501, id="1501-bytes"),
    pytest.param("é" * 751, id="1502-utf8-bytes"),
    pytest.param("\ud800", id="not-utf8"),
]
"""Document ids Firestore refuses (the two too long ones only when writing; the backends
refuse them on reads too, since no such document can exist)."""
ODD_VALID_IDS = ["__", "___", "__x", "x__", "_x_", "...", "a.b", " ", "k" * 1500, "é" * 750]
"""Document ids that look like the invalid ones but that Firestore (and the emulator) accepts."""

Operation = Callable[[AbstractDocumentStore, str, str, list[Doc | None]], object]


def _update(store: AbstractDocumentStore, coll: str, key: str, called: list[Doc | None]) -> object:
    return store.update(coll, key, lambda doc: called.append(doc) or {"v": 1})


def _delete_if(
    store: AbstractDocumentStore, coll: str, key: str, called: list[Doc | None]
) -> object:
    return store.delete_if(coll, key, lambda doc: called.append(doc) or True)


OPERATIONS: dict[str, Operation] = {
    "get": lambda store, coll, key, _: store.get(coll, key),
    "create": lambda store, coll, key, _: store.create(coll, key, {"v": 1}),
    "put": lambda store, coll, key, _: store.put(coll, key, {"v": 1}),
    "update": _update,
    "delete": lambda store, coll, key, _: store.delete(coll, key),
    "delete_if": _delete_if,
}
"""Every operation on one document; an updater or condition records what it was given."""


def wait_until(predicate: Callable[[], bool], timeout_s: float = FEED_TIMEOUT_S) -> None:
    """Poll ``predicate`` until it holds; fail the test at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.01)


MIXED_TYPES: dict[str, Any] = {"bool": True, "int": 1, "real": 1.5, "null": None, "text": "s"}


class Recorder:
    """A change callback that keeps what it receives (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changes: list[DocumentChange] = []
        self.handle: Watch | None = None

    def __call__(self, change: DocumentChange) -> None:
        with self._lock:
            self._changes.append(change)

    @property
    def changes(self) -> list[DocumentChange]:
        with self._lock:
            return list(self._changes)

    def wait_for(self, count: int) -> list[DocumentChange]:
        """The changes, once there are at least ``count`` of them."""
        wait_until(lambda: len(self.changes) >= count)
        return self.changes


class DocumentStoreContract(ABC):
    """Behaviour every :class:`AbstractDocumentStore` and its change feed must have."""

    @abstractmethod
    def make_store(self) -> AbstractDocumentStore:
        """A new store that sees no data of any other test."""

    @abstractmethod
    def make_feed(self, store: AbstractDocumentStore) -> AbstractChangeFeed:
        """The change feed of ``store``'s database."""

    def close_store(self, store: AbstractDocumentStore) -> None:  # noqa: B027 - optional hook
        """Release what :meth:`make_store` acquired."""

    @pytest.fixture
    def store(self) -> Iterator[AbstractDocumentStore]:
        store = self.make_store()
        yield store
        self.close_store(store)

    @pytest.fixture
    def watch(self, store: AbstractDocumentStore) -> Iterator[Callable[[str], Recorder]]:
        """Start a recorded watch on a collection; every watch is stopped after the test."""
        feed, watches = self.make_feed(store), list[Watch]()

        def start(collection: str) -> Recorder:
            recorder = Recorder()
            recorder.handle = feed.watch(collection, recorder)
            watches.append(recorder.handle)
            return recorder

        yield start
        for w in watches:
            w.stop()

    # -- get / create / put / delete -------------------------------------------------

    def test_get_missing_returns_none(self, store: AbstractDocumentStore) -> None:
        assert store.get(COLL, "nope") is None

    def test_put_then_get_round_trips_json_values(self, store: AbstractDocumentStore) -> None:
        doc = {
            "s": "x",
            "i": 7,
            "f": 1.5,
            "b": True,
            "z": None,
            "l": [1, "a", {"m": 2}],
            "m": {"deep": {"er": [True]}},
            "empty": {},
        }
        store.put(COLL, "k", doc)
        assert store.get(COLL, "k") == doc

    def test_put_replaces_the_whole_document(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "k", {"a": 1, "b": 2})
        store.put(COLL, "k", {"c": 3})
        assert store.get(COLL, "k") == {"c": 3}

    def test_create_only_if_absent(self, store: AbstractDocumentStore) -> None:
        assert store.create(COLL, "k", {"v": 1}) is True
        assert store.create(COLL, "k", {"v": 2}) is False
        assert store.get(COLL, "k") == {"v": 1}

    def test_a_create_of_what_is_stored_reports_it_there(
        self, store: AbstractDocumentStore
    ) -> None:
        """Equal data is no sign of a create's own document (only a retry after a lost answer
        may take it for one): a redelivered event is recorded once."""
        doc = {"v": 1, "at": [1.5, "x"], "nan": float("nan")}
        assert store.create(COLL, "k", doc) is True
        assert store.create(COLL, "k", dict(doc)) is False

    def test_delete(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "k", {"v": 1})
        store.delete(COLL, "k")
        store.delete(COLL, "never-existed")
        assert store.get(COLL, "k") is None
        assert store.create(COLL, "k", {"v": 2}) is True

    def test_delete_if_deletes_only_when_the_condition_holds(
        self, store: AbstractDocumentStore
    ) -> None:
        store.put(COLL, "k", {"v": 1})
        assert store.delete_if(COLL, "k", lambda doc: doc["v"] == 2) is False
        assert store.get(COLL, "k") == {"v": 1}
        assert store.delete_if(COLL, "k", lambda doc: doc["v"] == 1) is True
        assert store.get(COLL, "k") is None
        assert store.delete_if(COLL, "k", lambda _: True) is False

    def test_delete_if_propagates_condition_errors(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "k", {"v": 1})
        with pytest.raises(KeyError):
            store.delete_if(COLL, "k", lambda doc: doc["missing"])
        assert store.get(COLL, "k") == {"v": 1}

    @pytest.mark.parametrize(
        ("key", "doc"),
        [
            ("a/b", {"v": 1}),
            ("..", {"v": 1}),
            ("k", {"grid": [[1, 2], [3, 4]]}),
            ("k", {"counts": {1: "one"}}),
            ("k", {"big": 2**63}),
            ("k", {"attributes": {"__kind__": "x"}}),
            ("k", {"attributes": {"": "x"}}),
            ("k", {"deep": NESTED_21}),
        ],
    )
    def test_what_firestore_refuses_is_refused(
        self, store: AbstractDocumentStore, key: str, doc: Doc
    ) -> None:
        with pytest.raises(InvalidKey if key in ("a/b", "..") else InvalidDocument):
            store.put(COLL, key, doc)
        assert store.query(COLL) == []

    @staticmethod
    def _of_size(size: int) -> Doc:
        """A document of ``COLL``/``k`` that Firestore counts as ``size`` bytes: the name
        (each id's bytes + 1, and 16) and 32 bytes, plus each field's name (its bytes + 1)
        and string value (its bytes + 1)."""
        fields = size - (len(COLL) + 1 + len("k") + 1 + 16) - 32
        doc: Doc = {}
        for n in range(4):  # no value longer than Firestore takes in one
            name = f"f{n}"
            length = min(fields - len(name) - 2, MIB // 4)
            doc[name] = "é" * (length // 2) + "x" * (length % 2)
            fields -= len(name) + 1 + length + 1
        assert fields == 0
        return doc

    def test_a_document_of_up_to_1_mib_as_firestore_counts_it_is_stored(
        self, store: AbstractDocumentStore
    ) -> None:
        largest = self._of_size(MIB)
        store.put(COLL, "k", largest)
        assert store.get(COLL, "k") == largest
        with pytest.raises(InvalidDocument) as refused:
            store.put(COLL, "k", self._of_size(MIB + 1))
        assert refused.value.field == "the document"
        assert store.get(COLL, "k") == largest

    @pytest.mark.parametrize("operation", ["create", "put", "update"])
    def test_a_document_over_1_mib_is_refused_by_every_write(
        self, store: AbstractDocumentStore, operation: str
    ) -> None:
        half = "x" * (MIB // 2)
        doc = {"at": MOMENT, "a": half, "b": half}  # one string twice is two to Firestore
        with pytest.raises(InvalidDocument):
            if operation == "update":
                store.update(COLL, "k", lambda _: doc)
            else:
                getattr(store, operation)(COLL, "k", doc)
        assert store.get(COLL, "k") is None

    @pytest.mark.parametrize(
        ("refused", "field", "stored"),
        [
            ({"text": "x" * (LONGEST_VALUE + 1)}, "text", {"text": "x" * LONGEST_VALUE}),
            ({"text": "é" * (LONGEST_VALUE // 2 + 1)}, "text", {"text": "é" * 100}),
            ({"blob": b"x" * (LONGEST_VALUE + 1)}, "blob", {"blob": b"x" * LONGEST_VALUE}),
            ({"list": ["x", "x" * (LONGEST_VALUE + 1)]}, "list.1", {"list": ["x", "y"]}),
            ({"note": "broken \ud83d emoji"}, "note", {"note": "whole \U0001f600 emoji"}),
            ({"map": {"\udc00": 1}}, "map", {"map": {"\U0001f600": 1}}),
            ({"f" * 1501: 1}, "the document", {"é" * 750: 1}),
        ],
        ids=[
            "long-text",
            "long-utf8",
            "long-bytes",
            "long-in-array",
            "surrogate",
            "surrogate-key",
            "long-field-name",
        ],
    )
    def test_a_value_firestore_cannot_hold_is_refused(
        self, store: AbstractDocumentStore, refused: Doc, field: str, stored: Doc
    ) -> None:
        with pytest.raises(InvalidDocument) as error:
            store.put(COLL, "k", refused)
        assert error.value.field == field
        assert store.get(COLL, "k") is None
        store.put(COLL, "k", stored)  # what Firestore just takes
        assert store.get(COLL, "k") == stored

    @pytest.mark.parametrize(
        "moment",
        [
            datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))),
            datetime.min.replace(tzinfo=timezone(timedelta(hours=1))),
        ],
        ids=["after-9999-utc", "before-year-1-utc"],
    )
    def test_a_moment_outside_firestores_timestamps_is_refused(
        self, store: AbstractDocumentStore, moment: datetime
    ) -> None:
        """An aware datetime whose instant in UTC falls outside the years 1 to 9999: no write
        stores it, no query compares it; the two ends themselves are taken."""
        ends = [datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)]
        for write in (
            lambda doc: store.put(COLL, "k", doc),
            lambda doc: store.update(COLL, "k", lambda _: doc),
        ):
            with pytest.raises(InvalidDocument) as refused:
                write({"at": {"when": [moment]}})
            assert refused.value.field == "at.when.0"
        assert store.get(COLL, "k") is None
        store.put(COLL, "k", {"at": ends[1], "ends": ends})
        for where in (Where("at", "<", moment), Where("at", "in", [moment, ends[1]])):
            with pytest.raises(InvalidQuery):
                store.query(COLL, [where])
        assert [d.key for d in store.query(COLL, [Where("at", "in", ends)])] == ["k"]
        assert store.get(COLL, "k") == {"at": ends[1], "ends": ends}

    @pytest.mark.parametrize(
        ("refused", "field", "stored"),
        [
            ({"a" * 700: {"b" * 800: 1}}, "a" * 700, {"a" * 700: {"b" * 799: 1}}),
            (
                {"m": {"é" * 374: {"x" * 750: {}}}},
                "m." + "é" * 374,
                {"m": {"é" * 374: {"x" * 749: {}}}},
            ),
            ({"a" * 700: [1, {"b" * 800: 1}]}, "a" * 700 + ".1", {"a" * 700: [1, {"b" * 799: 1}]}),
        ],
        ids=["nested", "three-deep-utf8", "in-array"],
    )
    def test_a_field_path_over_1500_bytes_is_refused(
        self, store: AbstractDocumentStore, refused: Doc, field: str, stored: Doc
    ) -> None:
        """The names of a field and the maps above it, joined by '.', take at most 1500
        UTF-8 bytes (an array on the way adds nothing)."""
        with pytest.raises(InvalidDocument) as error:
            store.put(COLL, "k", refused)
        assert error.value.field == field
        assert store.get(COLL, "k") is None
        store.put(COLL, "k", stored)
        assert store.get(COLL, "k") == stored

    def test_create_refuses_a_document_firestore_refuses_even_when_one_exists(
        self, store: AbstractDocumentStore
    ) -> None:
        assert store.create(COLL, "k", {"v": 1}) is True
        with pytest.raises(InvalidDocument):
            store.create(COLL, "k", {"v": 2**64})
        with pytest.raises(InvalidDocument):
            store.create(COLL, "k", {"m": {"__kind__": 1}})
        assert store.get(COLL, "k") == {"v": 1}

    @pytest.mark.parametrize("operation", ["create", "put", "update"])
    def test_a_document_that_is_not_a_map_is_refused(
        self, store: AbstractDocumentStore, operation: str
    ) -> None:
        with pytest.raises(InvalidDocument):
            if operation == "update":
                store.update(COLL, "k", lambda _: [1, 2])  # type: ignore[arg-type,return-value]
            else:
                getattr(store, operation)(COLL, "k", [1, 2])
        assert store.get(COLL, "k") is None

    def test_maps_nested_20_deep_are_stored(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "k", {"deep": NESTED_20, "__": 1})
        assert store.get(COLL, "k") == {"deep": NESTED_20, "__": 1}

    @pytest.mark.parametrize(
        "condition",
        [
            lambda: Where("v", "in", []),
            lambda: Where("v", "in", list(range(31))),
            lambda: Where("v", "in", "ab"),
            lambda: Where("v", "in", 3),
            lambda: Where("v", "not-in", [1]),  # type: ignore[arg-type]
            lambda: Where("tags", "array_contains_any", [1]),  # type: ignore[arg-type]
            lambda: Where("v", "<", None),
            lambda: Where("", "==", 1),
            lambda: Where("m..v", "==", 1),
            lambda: Where(".v", "==", 1),
            lambda: Where("__x__", "==", 1),
            lambda: Where("m.__x__", "==", 1),
            lambda: Where("a" * 1500, "==", 1),
            lambda: Where("m." + "é" * 749, "==", 1),
        ],
        ids=[
            "in-nothing",
            "in-31",
            "in-text",
            "in-number",
            "not-in",
            "array-contains-any",
            "less-than-none",
            "empty-field",
            "empty-name",
            "dot-first",
            "reserved-field",
            "reserved-nested-field",
            "1500-byte-path",
            "1500-byte-utf8-path",
        ],
    )
    def test_a_condition_firestore_refuses_is_refused(
        self, store: AbstractDocumentStore, condition: Callable[[], Where]
    ) -> None:
        with pytest.raises(InvalidQuery):
            store.query(COLL, [condition()])

    @pytest.mark.parametrize(
        ("refused", "taken"),
        [
            (([Where("v", "<", math.nan)], None), ([Where("v", "!=", math.nan)], None)),
            (([Where("tags", "array_contains", math.nan)], None), ([Where("v", "==", 1)], None)),
            (
                ([Where("v", "!=", 2), Where("w", "!=", 3)], None),
                ([Where("v", "!=", 2), Where("w", ">", 0), Where("v", "<", 9)], None),
            ),
            (
                ([Where("v", "!=", None), Where("w", "!=", math.nan)], None),
                ([Where("v", "!=", None), Where("w", "==", 2)], None),
            ),
            (
                ([Where("tags", "array_contains", 1), Where("more", "array_contains", 2)], None),
                (
                    [
                        Where("tags", "array_contains", 1),
                        Where("v", "in", [1]),
                        Where("w", "!=", 3),
                    ],
                    None,
                ),
            ),
            (
                ([Where("v", "in", list(range(6))), Where("w", "in", list(range(6)))], None),
                ([Where("v", "in", list(range(5))), Where("w", "in", list(range(6)))], None),
            ),
            (
                ([Where(f"f{n}", ">", 0) for n in range(11)], None),
                ([Where(f"f{n}", ">", 0) for n in range(10)], None),
            ),
            (([], ""), ([], "v")),
            (([], "m."), ([], "m.v")),
            (([], "__x__"), ([], "__")),
            (([], "m." + "v" * 1498), ([], "m.v")),
        ],
        ids=[
            "nan-range",
            "nan-array-contains",
            "two-not-equal",
            "not-null-and-not-nan",
            "two-array-contains",
            "36-disjunctions",
            "11-inequality-fields",
            "order-by-empty",
            "order-by-empty-segment",
            "order-by-reserved",
            "order-by-1500-bytes",
        ],
    )
    def test_a_query_firestore_refuses_is_refused(
        self,
        store: AbstractDocumentStore,
        refused: tuple[list[Where], str | None],
        taken: tuple[list[Where], str | None],
    ) -> None:
        store.put(
            COLL,
            "k",
            {
                "v": 1,
                "w": 2,
                "m": {"v": 1},
                "tags": [1],
                "more": [2],
                "__": 1,
                **{f"f{n}": 1 for n in range(11)},
            },
        )
        with pytest.raises(InvalidQuery):
            store.query(COLL, refused[0], order_by=refused[1])
        where, order_by = taken  # the nearest query Firestore answers
        assert [d.key for d in store.query(COLL, where, order_by=order_by)] == ["k"]

    @pytest.mark.parametrize(
        ("refused", "taken"),
        [
            (2**63, 2**63 - 1),
            (-(2**63) - 1, -(2**63)),
            (Decimal(1), 1.0),
            (date(2026, 1, 2), datetime(2026, 1, 2, tzinfo=UTC)),
            (object(), None),
            ("broken \ud83d", "whole \U0001f600"),
            ({1: "one"}, {"1": "one"}),
            ({"m": {"__kind__": 1}}, {"m": {"__": 1}}),
            ("x" * 1500, "x" * 1499),
            ("é" * 750, "é" * 749 + "x"),
            (b"x" * 1501, b"x" * 1500),
            (["x" * 749, "y" * 750], ["x" * 749, "y" * 749]),
            ({"a": "x" * 1498}, {"a": "x" * 1497}),
            ({"m": {"n": "x" * 1496}}, {"m": {"n": "x" * 1495}}),
            ({"k" * 1492: 1}, {"k" * 1491: 1}),
        ],
        ids=[
            "int-over-64-bits",
            "int-under-64-bits",
            "decimal",
            "date",
            "object",
            "surrogate",
            "int-map-key",
            "reserved-map-key",
            "text-of-1501-bytes",
            "utf8-of-1501-bytes",
            "bytes-1501",
            "array-of-1501-bytes",
            "map-of-1501-bytes",
            "nested-map-of-1501-bytes",
            "long-map-key",
        ],
    )
    @pytest.mark.parametrize("op", ["==", "!=", "<", "in", "array_contains"])
    def test_a_value_firestore_cannot_compare_is_refused(
        self, store: AbstractDocumentStore, refused: Any, taken: Any, op: Any
    ) -> None:
        """A condition's value is held to what Firestore compares: values it holds, of at
        most 1500 bytes as it counts them (each of an ``in`` condition's values)."""
        if op in ("<", "array_contains") and taken is None:
            taken = 0  # only == and != compare with None
        array = isinstance(taken, list)  # an array cannot hold it
        store.put(COLL, "k", {"v": taken, "tags": [] if array else [taken]})

        def query(value: Any) -> list[str]:
            wrapped = [value, "other"] if op == "in" else value
            field = "tags" if op == "array_contains" else "v"
            return [d.key for d in store.query(COLL, [Where(field, op, wrapped)])]

        with pytest.raises(InvalidQuery):
            query(refused)
        finds = op in ("==", "in", "array_contains") and not (
            (op == "in" and taken is None) or (op == "array_contains" and array)
        )
        assert query(taken) == (["k"] if finds else [])

    def test_a_condition_may_compare_what_no_document_holds(
        self, store: AbstractDocumentStore
    ) -> None:
        """Arrays in arrays, empty map keys and maps nested deeper than 20: no document holds
        them, yet Firestore compares them (and finds nothing)."""
        store.put(COLL, "k", {"v": 1})
        for value in ([[1]], {"": 1}, NESTED_21):
            assert store.query(COLL, [Where("v", "==", value)]) == []
            assert store.query(COLL, [Where("v", "in", [value, 1])])[0].key == "k"

    def test_an_in_condition_takes_up_to_30_values(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "k", {"v": 29})
        assert [d.key for d in store.query(COLL, [Where("v", "in", list(range(30)))])] == ["k"]

    def test_an_update_to_a_document_firestore_refuses_is_refused_and_changes_nothing(
        self, store: AbstractDocumentStore
    ) -> None:
        store.put(COLL, "k", {"n": 1})
        with pytest.raises(InvalidDocument) as refused:
            store.update(COLL, "k", lambda doc: {**(doc or {}), "n": 2**64})
        assert refused.value.field == "n"
        assert store.get(COLL, "k") == {"n": 1}

    @pytest.mark.parametrize("key", INVALID_IDS)
    @pytest.mark.parametrize("operation", sorted(OPERATIONS))
    def test_an_invalid_id_is_refused_by_every_operation(
        self, store: AbstractDocumentStore, key: str, operation: str
    ) -> None:
        called: list[Doc | None] = []
        with pytest.raises(InvalidKey) as refused:
            OPERATIONS[operation](store, COLL, key, called)
        assert refused.value.key == key
        assert repr(key) in str(refused.value)
        assert called == []
        assert store.query(COLL) == []

    @pytest.mark.parametrize("collection", ["__x__", ".", "..", "a/b", ""])
    def test_an_invalid_collection_id_is_refused(
        self, store: AbstractDocumentStore, collection: str
    ) -> None:
        for operation in (OPERATIONS["get"], OPERATIONS["put"]):
            with pytest.raises(InvalidKey):
                operation(store, collection, "k", [])
        with pytest.raises(InvalidKey):
            store.query(collection)

    def test_ids_that_merely_look_odd_are_valid(self, store: AbstractDocumentStore) -> None:
        for n, key in enumerate(ODD_VALID_IDS):
            assert store.get(COLL, key) is None
            store.put(COLL, key, {"n": n})
        assert {d.key: d.data["n"] for d in store.query(COLL)} == {
            key: n for n, key in enumerate(ODD_VALID_IDS)
        }

    def test_tuples_are_stored_as_arrays(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "k", {"pair": (1, 2), "nested": {"pair": ("a", "b")}})
        assert store.get(COLL, "k") == {"pair": [1, 2], "nested": {"pair": ["a", "b"]}}

    def test_collections_are_separate(self, store: AbstractDocumentStore) -> None:
        store.put("a", "k", {"v": "a"})
        store.put("b", "k", {"v": "b"})
        assert (store.get("a", "k"), store.get("b", "k")) == ({"v": "a"}, {"v": "b"})
        assert [d.key for d in store.query("b")] == ["k"]

    def test_documents_are_copies(self, store: AbstractDocumentStore) -> None:
        doc: Doc = {"l": [1], "m": {"x": 1}}
        store.put(COLL, "k", doc)
        doc["l"].append(2)
        got = store.get(COLL, "k")
        assert got is not None
        got["l"].append(3)
        got["m"]["x"] = 99
        store.query(COLL)[0].data["m"]["x"] = 98
        written = store.update(COLL, "k", lambda d: {**(d or {}), "n": 1})
        assert written is not None
        written["m"]["x"] = 97
        assert store.get(COLL, "k") == {"l": [1], "m": {"x": 1}, "n": 1}

    # -- update ----------------------------------------------------------------------

    def test_update_creates_transforms_and_returns(self, store: AbstractDocumentStore) -> None:
        seen: list[Doc | None] = []

        def bump(current: Doc | None) -> Doc:
            seen.append(current)
            return {"n": (current or {"n": 0})["n"] + 1}

        assert store.update(COLL, "k", bump) == {"n": 1}
        assert store.update(COLL, "k", bump) == {"n": 2}
        assert seen[0] is None and seen[-1] == {"n": 1}
        assert store.get(COLL, "k") == {"n": 2}

    def test_update_returns_the_document_as_a_read_returns_it(
        self, store: AbstractDocumentStore
    ) -> None:
        written = store.update(COLL, "k", lambda _: dict(EVERY_VALUE))
        assert typed(written) == typed(AS_READ) == typed(store.get(COLL, "k"))

    def test_update_declining_writes_nothing(self, store: AbstractDocumentStore) -> None:
        assert store.update(COLL, "absent", lambda _: None) is None
        assert store.get(COLL, "absent") is None
        store.put(COLL, "k", {"v": 1})
        assert store.update(COLL, "k", lambda _: None) is None
        assert store.get(COLL, "k") == {"v": 1}

    def test_update_propagates_updater_errors(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "k", {"v": 1})

        def boom(_: Doc | None) -> Doc:
            raise ValueError("refused")

        with pytest.raises(ValueError, match="refused"):
            store.update(COLL, "k", boom)
        assert store.get(COLL, "k") == {"v": 1}

    @pytest.mark.parametrize("inner", ["update", "delete_if"])
    @pytest.mark.parametrize("outer", ["update", "delete_if"])
    @pytest.mark.parametrize("inner_key", ["k", "other"])
    def test_a_transaction_inside_another_ones_callback_is_refused(
        self, store: AbstractDocumentStore, outer: str, inner: str, inner_key: str
    ) -> None:
        """On Firestore the inner one would wait for ever for the lock the outer one holds
        (of one document, or of two that share a lock); refused, it changes nothing."""
        store.put(COLL, "k", {"v": 1})
        store.put(COLL, "other", {"v": 2})

        def nested(_: Doc | None) -> Any:
            if inner == "update":
                store.update(COLL, inner_key, lambda d: {"v": 3})
            else:
                store.delete_if(COLL, inner_key, lambda d: True)
            return {"v": 4} if outer == "update" else True

        with pytest.raises(NestedTransaction, match=f"{inner} {COLL}/{inner_key} was called"):
            if outer == "update":
                store.update(COLL, "k", nested)
            else:
                store.delete_if(COLL, "k", nested)
        assert (store.get(COLL, "k"), store.get(COLL, "other")) == ({"v": 1}, {"v": 2})
        assert store.update(COLL, "k", lambda d: {"v": 5}) == {"v": 5}  # outside one: taken

    @pytest.mark.parametrize("write", ["create", "put", "delete"])
    @pytest.mark.parametrize("outer", ["update", "delete_if"])
    def test_a_write_of_the_document_a_callback_holds_is_refused(
        self, store: AbstractDocumentStore, outer: str, write: str
    ) -> None:
        """Firestore's transaction holds the document: the write would wait for its lock
        until it timed out. Another document's write is taken, as Firestore takes it."""

        def writing(key: str) -> Callable[[Doc | None], Any]:
            def callback(_: Doc | None) -> Any:
                if write == "delete":
                    store.delete(COLL, key)
                else:
                    getattr(store, write)(COLL, key, {"v": 3})
                return {"v": 4} if outer == "update" else False

            return callback

        def run(callback: Callable[[Doc | None], Any]) -> object:
            if outer == "update":
                return store.update(COLL, "k", callback)
            return store.delete_if(COLL, "k", callback)

        store.put(COLL, "k", {"v": 1})
        with pytest.raises(NestedTransaction, match=f"{write} {COLL}/k was called"):
            run(writing("k"))
        assert store.get(COLL, "k") == {"v": 1}
        run(writing("other"))
        assert store.get(COLL, "other") == (None if write == "delete" else {"v": 3})

    def test_an_updater_may_read(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "other", {"v": 2})
        written = store.update(COLL, "k", lambda _: {"v": (store.get(COLL, "other") or {})["v"]})
        assert written == {"v": 2}

    def test_concurrent_updates_lose_no_increment(self, store: AbstractDocumentStore) -> None:
        threads, rounds = 8, 5
        store.put(COLL, "counter", {"n": 0})
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(rounds):
                    store.update(COLL, "counter", lambda d: {"n": (d or {"n": 0})["n"] + 1})
            except BaseException as e:  # surfaced by the assertion below
                errors.append(e)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert errors == []
        assert store.get(COLL, "counter") == {"n": threads * rounds}

    # -- query -----------------------------------------------------------------------

    @pytest.fixture
    def loaded(self, store: AbstractDocumentStore) -> AbstractDocumentStore:
        for key, doc in QUERY_DOCS.items():
            store.put(COLL, key, doc)
        return store

    @pytest.mark.parametrize(
        ("field", "op", "value", "keys"),
        [
            ("n", "==", 2, ["k2"]),
            ("n", "!=", 2, ["k1", "k3"]),
            ("n", "<", 2, ["k1"]),
            ("n", "<=", 2, ["k1", "k2"]),
            ("n", ">", 2, ["k3"]),
            ("n", ">=", 2, ["k2", "k3"]),
            ("n", "in", [1, 3, 99], ["k1", "k3"]),
            ("tags", "array_contains", "y", ["k1", "k2"]),
            ("s", ">=", "b", ["k2", "k3", "k4"]),
            ("nested.v", "==", 10, ["k1"]),
            ("nested.v", ">", 10, ["k2", "k3"]),
            ("n", "!=", 99, ["k1", "k2", "k3"]),  # k4 has no n: missing fields never match
            ("nested.missing", "!=", 1, []),
        ],
    )
    def test_query_operators(
        self, loaded: AbstractDocumentStore, field: str, op: Any, value: Any, keys: list[str]
    ) -> None:
        assert [d.key for d in loaded.query(COLL, [Where(field, op, value)])] == keys

    def test_query_returns_keys_and_data(self, loaded: AbstractDocumentStore) -> None:
        [found] = loaded.query(COLL, [Where("n", "==", 1)])
        assert (found.key, found.data) == ("k1", QUERY_DOCS["k1"])

    def test_query_conditions_combine(self, loaded: AbstractDocumentStore) -> None:
        where = [Where("n", ">=", 2), Where("tags", "array_contains", "y")]
        assert [d.key for d in loaded.query(COLL, where)] == ["k2"]

    def test_query_without_order_is_by_key(self, loaded: AbstractDocumentStore) -> None:
        assert [d.key for d in loaded.query(COLL)] == ["k1", "k2", "k3", "k4"]
        assert [d.key for d in loaded.query(COLL, limit=2)] == ["k1", "k2"]
        assert [d.key for d in loaded.query(COLL, [Where("n", ">", 1)], limit=1)] == ["k2"]

    def test_query_order_and_limit(self, loaded: AbstractDocumentStore) -> None:
        assert [d.key for d in loaded.query(COLL, order_by="nested.v")] == ["k1", "k2", "k3"]
        desc = loaded.query(COLL, order_by="n", descending=True, limit=2)
        assert [d.key for d in desc] == ["k3", "k2"]
        assert [d.key for d in loaded.query(COLL, order_by="s", descending=True)] == [
            "k4",
            "k3",
            "k2",
            "k1",
        ]
        ranked = loaded.query(COLL, [Where("n", "<=", 2)], order_by="n", descending=True)
        assert [d.key for d in ranked] == ["k2", "k1"]

    def test_query_ties_are_ordered_by_key(self, store: AbstractDocumentStore) -> None:
        for key in ("b", "c", "a"):
            store.put(COLL, key, {"rank": 1})
        store.put(COLL, "z", {"rank": 0})
        assert [d.key for d in store.query(COLL, order_by="rank")] == ["z", "a", "b", "c"]
        desc = store.query(COLL, order_by="rank", descending=True)
        assert [d.key for d in desc] == ["c", "b", "a", "z"]

    @pytest.fixture
    def mixed(self, store: AbstractDocumentStore) -> AbstractDocumentStore:
        for key, value in MIXED_TYPES.items():
            store.put(COLL, key, {"x": value})
        store.put(COLL, "no-x", {"y": 0})
        return store

    @pytest.mark.parametrize(
        ("op", "value", "keys"),
        [
            ("==", 1, ["int"]),
            ("==", True, ["bool"]),
            ("in", [True], ["bool"]),
            ("<", 2, ["int", "real"]),  # a range matches values of its own type only
            ("!=", 1, ["bool", "real", "text"]),  # never null, never missing
            ("==", None, ["null"]),
        ],
    )
    def test_values_of_different_types_never_compare_equal(
        self, mixed: AbstractDocumentStore, op: Any, value: Any, keys: list[str]
    ) -> None:
        assert [d.key for d in mixed.query(COLL, [Where("x", op, value)])] == keys

    def test_order_by_ranks_types_and_keeps_nulls(self, mixed: AbstractDocumentStore) -> None:
        ordered = [d.key for d in mixed.query(COLL, order_by="x")]
        assert ordered == ["null", "bool", "int", "real", "text"]

    def test_order_by_ties_go_by_the_inequality_field_then_the_key(
        self, store: AbstractDocumentStore
    ) -> None:
        store.put(COLL, "k1", {"x": 1, "y": 5})
        store.put(COLL, "k2", {"x": 1, "y": 3})
        store.put(COLL, "k3", {"x": 0, "y": 9})
        found = store.query(COLL, [Where("y", ">", 0)], order_by="x")
        assert [d.key for d in found] == ["k3", "k2", "k1"]

    def test_a_naive_datetime_in_a_condition_is_utc(self, store: AbstractDocumentStore) -> None:
        noon = datetime(2026, 1, 2, 12, 0, 0, 250000, tzinfo=UTC)
        store.put(COLL, "noon", {"at": noon})
        store.put(COLL, "later", {"at": noon + timedelta(hours=1)})
        naive = noon.replace(tzinfo=None)

        assert [d.key for d in store.query(COLL, [Where("at", "==", naive)])] == ["noon"]
        assert [d.key for d in store.query(COLL, [Where("at", ">", naive)])] == ["later"]

    def test_nan_equality_finds_nan(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "nan", {"x": math.nan, "s": "a"})
        store.put(COLL, "one", {"x": 1.0, "s": "a"})
        assert [d.key for d in store.query(COLL, [Where("x", "==", 1)])] == ["one"]
        for where in (
            [Where("x", "==", math.nan)],
            [Where("s", "==", "a"), Where("x", "==", math.nan)],
        ):
            assert [d.key for d in store.query(COLL, where)] == ["nan"], where
        assert [d.key for d in store.query(COLL, [Where("x", "!=", math.nan)])] == ["one"]

    def test_an_in_condition_never_matches_nan(self, store: AbstractDocumentStore) -> None:
        """Unlike ``==``: the Firestore emulator finds no NaN through an ``in``."""
        store.put(COLL, "nan", {"x": math.nan, "s": "a"})
        store.put(COLL, "one", {"x": 1.0, "s": "a"})
        for where in (
            [Where("x", "in", [math.nan])],
            [Where("x", "in", [math.nan, 1.0])],
            [Where("s", "==", "a"), Where("x", "in", [math.nan, 1.0])],
            [Where("s", "in", ["a", "b"]), Where("x", "in", [math.nan, 1.0])],
        ):
            assert [d.key for d in store.query(COLL, where)] == (
                ["one"] if len(where[-1].value) > 1 else []
            ), where

    def test_an_in_condition_never_matches_null(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "null", {"x": None})
        store.put(COLL, "one", {"x": 1})
        assert [d.key for d in store.query(COLL, [Where("x", "in", [None, 1])])] == ["one"]
        assert [d.key for d in store.query(COLL, [Where("x", "==", None)])] == ["null"]

    def test_a_tuple_or_set_in_a_condition_is_an_array(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "pair", {"x": [1, 2]})
        store.put(COLL, "one", {"x": [1]})
        conditions = [
            (Where("x", "==", (1, 2)), ["pair"]),
            (Where("x", "in", [(1, 2), ("a",)]), ["pair"]),
            (Where("x", "==", frozenset([1])), ["one"]),
            (Where("x", "in", [frozenset([1])]), ["one"]),
        ]
        for where, keys in conditions:
            assert [d.key for d in store.query(COLL, [where])] == keys, where

    def test_fields_of_any_name_are_queried_and_ordered(self, store: AbstractDocumentStore) -> None:
        store.put(COLL, "a", {"first-name": "Ada", "a b": {"c-d": 3}, "a`b": 1, "1st": 2})
        store.put(COLL, "b", {"first-name": "Bo", "a b": {"c-d": 1}, "a`b": 2, "1st": 1})
        assert [d.key for d in store.query(COLL, [Where("first-name", "==", "Ada")])] == ["a"]
        assert [d.key for d in store.query(COLL, [Where("a b.c-d", ">", 2)])] == ["a"]
        assert [d.key for d in store.query(COLL, [Where("a`b", "in", [2])])] == ["b"]
        assert [d.key for d in store.query(COLL, order_by="1st")] == ["b", "a"]
        assert [d.key for d in store.query(COLL, order_by="a b.c-d")] == ["b", "a"]

    def test_a_limit_below_one_finds_nothing(self, loaded: AbstractDocumentStore) -> None:
        for limit in (0, -1):
            assert loaded.query(COLL, limit=limit) == []
            assert loaded.query(COLL, order_by="n", limit=limit) == []

    def test_query_of_empty_collection(self, store: AbstractDocumentStore) -> None:
        assert store.query("nothing-here", [Where("x", "==", 1)], order_by="x") == []

    # -- pages by stamp, then key -----------------------------------------------------

    def test_pages_newest_first_cut_a_millisecond_exactly(
        self, store: AbstractDocumentStore
    ) -> None:
        stamps = {"a": 1, "b": 2, "c": 3, "d": 3, "d2": 3, "d3": 3, "e": 4, "x": 9}
        for key, at in stamps.items():
            store.put(COLL, key, {"owner": "me" if key != "x" else "you", "at": at})
        mine = [Where("owner", "==", "me")]

        pages = every_page(newest_first, store, mine, limit=2)

        # four documents share a millisecond, more than a page holds: by key, descending
        assert pages == [["e", "d3"], ["d2", "d"], ["c", "b"], ["a"]]
        assert every_page(newest_first, store, mine, limit=7) == [
            ["e", "d3", "d2", "d", "c", "b", "a"]
        ]
        assert every_page(newest_first, store, mine, limit=8) == [
            ["e", "d3", "d2", "d", "c", "b", "a"]
        ]

    def test_pages_oldest_first_cut_a_millisecond_exactly(
        self, store: AbstractDocumentStore
    ) -> None:
        stamps = {"a": 1, "b": 2, "c": 2, "d": 2, "e": 2, "f": 2, "g": 3, "x": 2, "y": 2}
        for key, at in stamps.items():
            kind = "done" if key == "y" else ["new", "ready"][ord(key) % 2]
            store.put(COLL, key, {"owner": "me" if key != "x" else "you", "at": at, "kind": kind})
        mine = [Where("owner", "==", "me"), Where("kind", "in", ["new", "ready"])]

        assert every_page(oldest_first, store, mine, limit=2) == [
            ["a", "b"],
            ["c", "d"],
            ["e", "f"],
            ["g"],
        ]
        assert every_page(oldest_first, store, mine, limit=3) == [
            ["a", "b", "c"],
            ["d", "e", "f"],
            ["g"],
        ]

    def test_a_page_newest_first_starts_before_a_time(self, store: AbstractDocumentStore) -> None:
        for key, at in {"a": 1, "b": 2, "c": 2, "d": 3}.items():
            store.put(COLL, key, {"owner": "me", "at": at})
        mine = [Where("owner", "==", "me")]

        page = newest_first(store, COLL, mine, "at", limit=5, after=Cursor.before(3))

        assert [d.key for d in page.documents] == ["c", "b", "a"]
        assert page.next is None

    # -- idempotent event writes -----------------------------------------------------

    def test_apply_event_applies_each_event_once(self, store: AbstractDocumentStore) -> None:
        event = new_event("item-added", "item", {"qty": 1}, partition_key="o-1", timestamp=1000)

        def add(current: Doc | None) -> Doc:
            return {"count": (current or {}).get("count", 0) + 1}

        assert apply_event(store, COLL, "o-1", event, add) is True
        assert apply_event(store, COLL, "o-1", event, add) is False
        doc = store.get(COLL, "o-1")
        assert doc is not None and doc["count"] == 1 and doc[META]["ids"] == [event.id]

    def test_apply_event_ignores_older_events(self, store: AbstractDocumentStore) -> None:
        newer = new_event("order-updated", "order", {"v": 2}, partition_key="o-1", timestamp=2000)
        older = new_event("order-updated", "order", {"v": 1}, partition_key="o-1", timestamp=1000)
        assert apply_event(store, COLL, "o-1", newer, lambda _: dict(newer.body)) is True
        assert apply_event(store, COLL, "o-1", older, lambda _: dict(older.body)) is False
        doc = store.get(COLL, "o-1")
        assert doc is not None and doc["v"] == 2 and doc[META]["timestamp"] == 2000

    def test_apply_event_applies_another_event_of_the_same_millisecond(
        self, store: AbstractDocumentStore
    ) -> None:
        # One handler may emit several events about an entity within a millisecond.
        first = new_event("order-updated", "order", {"v": 1}, partition_key="o-1", timestamp=1000)
        second = new_event("order-updated", "order", {"v": 2}, partition_key="o-1", timestamp=1000)
        assert apply_event(store, COLL, "o-1", first, lambda _: dict(first.body)) is True
        assert apply_event(store, COLL, "o-1", second, lambda _: dict(second.body)) is True
        doc = store.get(COLL, "o-1")
        assert doc is not None and doc["v"] == 2 and doc[META]["ids"] == [first.id, second.id]

    def test_record_event_keeps_one_copy(self, store: AbstractDocumentStore) -> None:
        event = new_event("order-placed", "order", {"total": 5}, partition_key="o-7")
        assert record_event(store, "events", event, orderId="o-7") is True
        assert record_event(store, "events", event, orderId="o-7") is False
        found = store.query("events", [Where("orderId", "==", "o-7")])
        assert [(d.key, d.data) for d in found] == [
            (event.id, {**event.to_json(), "orderId": "o-7"})
        ]

    # -- change feed -----------------------------------------------------------------

    def test_feed_reports_create_update_delete(
        self, store: AbstractDocumentStore, watch: Callable[[str], Recorder]
    ) -> None:
        recorder = watch(COLL)
        began_ms = int(time.time() * 1000)
        store.put(COLL, "k", {"v": 1})
        recorder.wait_for(1)
        store.update(COLL, "k", lambda d: {**(d or {}), "v": 2})
        recorder.wait_for(2)
        store.delete(COLL, "k")
        created, updated, deleted = recorder.wait_for(3)
        written = [c.written_ms for c in (created, updated, deleted)]
        assert all(isinstance(ms, int) for ms in written), written
        assert began_ms - 1000 <= written[0] <= written[1] <= written[2]
        assert written[2] <= int(time.time() * 1000) + 1000
        assert [c.kind for c in (created, updated, deleted)] == ["created", "updated", "deleted"]
        assert {(c.collection, c.key) for c in (created, updated, deleted)} == {(COLL, "k")}
        assert (created.before, created.after) == (None, {"v": 1})
        assert (updated.before, updated.after) == ({"v": 1}, {"v": 2})
        assert (deleted.before, deleted.after) == ({"v": 2}, None)
        versions = [c.version for c in (created, updated, deleted)]
        assert all(isinstance(v, str) and v for v in versions)
        assert versions == sorted(set(versions))

    def test_feed_reports_no_change_for_a_write_that_changes_nothing(
        self, store: AbstractDocumentStore, watch: Callable[[str], Recorder]
    ) -> None:
        recorder = watch(COLL)
        store.put(COLL, "k", {"v": 1, "tags": ["a"]})
        store.put(COLL, "k", {"v": 1, "tags": ["a"]})
        store.update(COLL, "k", lambda d: d)
        store.put(COLL, "k", {"tags": ["a"], "v": 1})  # the same fields in another order
        store.put(COLL, "sentinel", {"v": 0})
        changes = recorder.wait_for(2)
        time.sleep(0.2)  # room for a spurious change to arrive
        assert [(c.key, c.kind) for c in recorder.changes] == [
            ("k", "created"),
            ("sentinel", "created"),
        ], changes

    def test_every_value_reaches_a_trigger_as_the_firestore_client_reads_it(
        self, store: AbstractDocumentStore, watch: Callable[[str], Recorder]
    ) -> None:
        """Timestamps in UTC, bytes as bytes, ints and floats apart, on every path to a handler."""
        recorder = watch(COLL)
        store.put(COLL, "k", EVERY_VALUE)
        store.put(COLL, "k", dict(EVERY_VALUE))  # the same values: no change
        store.update(COLL, "k", lambda d: {**(d or {}), "v": 2})
        assert typed(store.get(COLL, "k")) == typed({**AS_READ, "v": 2})
        store.put(COLL, "sentinel", {"v": 0})
        changes = recorder.wait_for(3)
        time.sleep(0.2)  # room for a spurious change to arrive
        assert [(c.key, c.kind) for c in recorder.changes] == [
            ("k", "created"),
            ("k", "updated"),
            ("sentinel", "created"),
        ], changes
        created, updated = changes[:2]
        assert typed(created.after) == typed(AS_READ)
        assert typed(updated.before) == typed(AS_READ)
        assert typed(updated.after) == typed({**AS_READ, "v": 2})
        stored = StoredChange(COLL, "k", updated.before, updated.after, "2026-01-02T03:04:05Z")
        on_gcp = parse_document_written(document_event_data(stored, "contract"))
        assert (typed(on_gcp.before), typed(on_gcp.after)) == (
            typed(updated.before),
            typed(updated.after),
        )

    def test_each_watcher_gets_its_own_copy_of_a_change(
        self, store: AbstractDocumentStore, watch: Callable[[str], Recorder]
    ) -> None:
        first, second = watch(COLL), watch(COLL)
        store.put(COLL, "k", {"v": 1})
        [mine] = first.wait_for(1)
        assert mine.after is not None
        mine.after["v"] = "changed by the first watcher"
        assert [c.after for c in second.wait_for(1)] == [{"v": 1}]
        assert store.get(COLL, "k") == {"v": 1}

    def test_a_callback_that_raises_fails_neither_the_write_nor_other_watchers(
        self, store: AbstractDocumentStore, watch: Callable[[str], Recorder]
    ) -> None:
        """As a listener on Firestore's stream: the error is logged, the feed goes on."""
        failing = Recorder()

        def fail(change: DocumentChange) -> None:
            failing(change)
            raise RuntimeError("a broken trigger")

        handle = self.make_feed(store).watch(COLL, fail)
        try:
            recorder = watch(COLL)
            store.put(COLL, "a", {"v": 1})
            store.update(COLL, "b", lambda _: {"v": 2})
            assert sorted(c.key for c in recorder.wait_for(2)) == ["a", "b"]
            assert sorted(c.key for c in failing.wait_for(2)) == ["a", "b"]
        finally:
            handle.stop()
        assert store.get(COLL, "a") == {"v": 1}

    def test_feed_does_not_replay_initial_state(
        self, store: AbstractDocumentStore, watch: Callable[[str], Recorder]
    ) -> None:
        store.put(COLL, "before-watch", {"v": 0})
        recorder = watch(COLL)
        store.put(COLL, "after-watch", {"v": 1})
        store.update(COLL, "before-watch", lambda d: {"v": 2})
        changes = sorted(recorder.wait_for(2), key=lambda c: c.key)
        assert [(c.key, c.kind) for c in changes] == [
            ("after-watch", "created"),
            ("before-watch", "updated"),
        ]
        assert changes[1].before == {"v": 0}

    def test_feed_reports_only_its_collection(
        self, store: AbstractDocumentStore, watch: Callable[[str], Recorder]
    ) -> None:
        recorder = watch(COLL)
        store.put("elsewhere", "k", {"v": 1})
        store.put(COLL, "k", {"v": 2})
        assert [(c.collection, c.after) for c in recorder.wait_for(1)] == [(COLL, {"v": 2})]

    def test_feed_stop_stops(
        self, store: AbstractDocumentStore, watch: Callable[[str], Recorder]
    ) -> None:
        stopped = watch(COLL)
        store.put(COLL, "a", {"v": 1})
        stopped.wait_for(1)
        assert stopped.handle is not None
        stopped.handle.stop()
        sentinel = watch(COLL)
        store.put(COLL, "b", {"v": 2})
        assert [c.key for c in sentinel.wait_for(1)] == ["b"]
        assert [c.key for c in stopped.changes] == ["a"]


def every_page(
    pages: Callable[..., Page],
    store: AbstractDocumentStore,
    where: list[Where],
    limit: int,
) -> list[list[str]]:
    """The keys of each page of ``COLL`` by ``at`` that ``pages`` cuts, following ``next``
    as a client does: through its token."""
    found: list[list[str]] = []
    after: Cursor | None = None
    while len(found) < 20:
        page = pages(store, COLL, where, "at", limit=limit, after=after)
        assert len(page.documents) <= limit
        found.append([d.key for d in page.documents])
        if page.next_token is None:
            return found
        after = Cursor.from_token(page.next_token)
    raise AssertionError(f"no last page after 20: {found}")
