"""The embedded runtime's per-delivery path does each piece of work once, and every
shortcut it takes agrees with the definition it stands in for.

Two kinds of test: *work* tests count what a path does (a pattern matched, a document
thawed, an id checked) and fail if the waste comes back; *agreement* tests hold a
shortcut to its definition (the full envelope check, ``matches``, the key decoding of
``json.loads``, ``same_value``) on generated input, refusals and their messages included.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shared import envelope
from shared.clock import ManualClock
from shared.envelope import Envelope, derive_id, new_event
from shared.exceptions import InvalidDocument
from shared.hub.memory import InMemoryHub, Subscription
from shared.hub.message import Message
from shared.runtime.outcome import Outcome
from shared.stores import document_rules, memory, query
from shared.stores.base import MAX_IN_VALUES, DocumentChange, Where
from shared.stores.document_rules import same_value
from shared.stores.memory import Frozen, InMemoryDocumentStore
from shared.topology import Topic

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Counting:
    """A stand-in for an object that counts the calls of one of its methods."""

    def __init__(self, inner: Any, method: str) -> None:
        self.inner, self.method, self.calls = inner, method, 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name != self.method:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return attribute(*args, **kwargs)

        return counted


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """Replace ``owner.name`` by a wrapper that records the first argument of each call."""
    original = getattr(owner, name)
    seen: list[Any] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[0] if args else None)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return seen


# -- envelopes -----------------------------------------------------------------------------


def test_an_event_type_is_matched_against_its_pattern_once(monkeypatch):
    types = Counting(envelope.TYPE_PATTERN, "fullmatch")
    entities = Counting(envelope.ENTITY_PATTERN, "fullmatch")
    monkeypatch.setattr(envelope, "TYPE_PATTERN", types)
    monkeypatch.setattr(envelope, "ENTITY_PATTERN", entities)
    for n in range(50):
        new_event(
            "hot-path.probed-once",
            "hotPathProbe",
            {"n": n},
            partition_key=f"k-{n}",
            tags={"source": "hot-path-test"},
        )
    assert (types.calls, entities.calls) == (1, 1)


_IDS = st.one_of(
    st.sampled_from(["", "e-1", "x" * 1024, "x" * 1025, "é" * 512, "é" * 513, "\ud800", "a/b"]),
    st.text(max_size=20),
    st.integers(),
    st.none(),
)
_TYPES = st.one_of(
    st.sampled_from(["order-placed", "order.order-placed", "Order", "a--b", "x\n", "", "a.b-c"]),
    st.text(max_size=12),
    st.integers(),
)
_ENTITIES = st.one_of(
    st.sampled_from(["order", "orderLine", "tags", "raw", "Order", "o-1", ""]),
    st.text(max_size=8),
)
_TAG_NAMES = st.one_of(
    st.sampled_from(["source", "env", "goog-x", "googSource", "timeout", "", "t" * 257, "é" * 128]),
    st.text(max_size=6),
)
_TAG_VALUES = st.one_of(
    st.sampled_from(["x", "", "v" * 1024, "v" * 1025, "é" * 512, "é" * 513, "\udfff"]),
    st.text(max_size=8),
    st.integers(),
)
_TAGS = st.one_of(
    st.dictionaries(_TAG_NAMES, _TAG_VALUES, max_size=4),
    st.just({f"t{n}": "x" for n in range(98)}),
)
_TIMESTAMPS = st.one_of(
    st.integers(min_value=-5, max_value=2**54),
    st.sampled_from([0, 1, 2**53 - 1, 2**53, True, 1.5]),
)


def _unchecked(**fields: Any) -> Envelope:
    """An :class:`Envelope` holding ``fields`` as they are, its check not run."""
    event = object.__new__(Envelope)
    for name, value in fields.items():
        object.__setattr__(event, name, value)
    return event


def _outcome(check: Any, event: Envelope) -> tuple[str, str]:
    try:
        check(event)
    except Exception as e:
        return type(e).__name__, str(e)
    return "ok", ""


@SETTINGS
@given(
    ids=st.tuples(_IDS, _IDS),
    type_=_TYPES,
    entity=_ENTITIES,
    tags=_TAGS,
    timestamp=_TIMESTAMPS,
)
def test_the_envelope_check_refuses_and_accepts_as_the_full_check(
    ids, type_, entity, tags, timestamp
):
    event = _unchecked(
        id=ids[0],
        type=type_,
        timestamp=timestamp,
        partition_key=ids[1],
        entity=entity,
        body={},
        tags=tags,
        raw=None,
        metadata=None,
    )
    definition = _outcome(envelope._check_envelope_fully, event)
    assert _outcome(envelope._check_envelope, event) == definition  # cold: nothing known
    assert _outcome(envelope._check_envelope, event) == definition  # warm: its names known


@SETTINGS
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_derived_ids_are_uuid5_of_the_joined_parts(parts):
    expected = str(uuid.uuid5(envelope._ID_NAMESPACE, "\x1f".join(parts)))
    assert derive_id(*parts) == expected


_JSON_TEXT = json.dumps({"id": "é", "type": "t", "n": [1, "ü"]}, ensure_ascii=False)


@SETTINGS
@given(
    st.one_of(
        st.sampled_from(
            [
                _JSON_TEXT.encode(encoding)
                for encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be")
            ]
            + [_JSON_TEXT.encode("utf-32"), _JSON_TEXT.encode("utf-32-le"), b"{", b"{\x00", b""]
        ),
        st.binary(max_size=8).map(lambda b: b"{" + b),
        st.binary(max_size=8),
    )
)
def test_envelope_bytes_are_decoded_as_json_loads_decodes_them(data):
    def decoded(decode: Any) -> tuple[str, Any]:
        try:
            return "ok", decode(data)
        except UnicodeDecodeError as e:
            return "error", (e.encoding, e.reason)

    assert decoded(envelope._text) == decoded(lambda b: b.decode(json.detect_encoding(b)))


# -- document rules ------------------------------------------------------------------------


def test_a_valid_id_is_checked_once(monkeypatch):
    seen = count_calls(monkeypatch, document_rules, "id_problem")
    for _ in range(10):
        document_rules.check_key("hot-path-coll", "hot-path-key-7")
    assert seen == ["hot-path-coll", "hot-path-key-7"]


def test_a_field_name_is_checked_once(monkeypatch):
    seen = count_calls(monkeypatch, document_rules, "is_field_name")
    for n in range(10):
        document_rules.normalized({"hotPathField": n, "hotPathMap": {"hotPathInner": [n]}})
    assert sorted(seen) == ["hotPathField", "hotPathInner", "hotPathMap"]


def _reference_normalized(value: Any, depth: int = 0, path: tuple[str, ...] = ()) -> Any:
    """What Firestore stores for ``value``, written plainly (raises InvalidDocument)."""

    def refuse(problem: str, at: tuple[str, ...] = path) -> InvalidDocument:
        return InvalidDocument(".".join(at) or "the document", problem)

    kind = type(value)
    if kind in (str, float, bool, bytes, type(None)) or isinstance(value, datetime):
        return value
    if kind is int:
        if not -(2**63) <= value <= 2**63 - 1:
            raise refuse(f"{value} does not fit in 64 bits")
        return value
    if kind is dict or isinstance(value, (list, tuple, set, frozenset)):
        if depth > document_rules.MAX_DEPTH:
            raise refuse(f"maps and arrays nest at most {document_rules.MAX_DEPTH} deep")
        if kind is dict:
            out = {}
            for k, v in value.items():
                if type(k) is not str:
                    raise refuse(f"map key {k!r} is not a string")
                if not k or (len(k) >= 4 and k.startswith("__") and k.endswith("__")):
                    raise refuse(f"map key {k!r}: empty keys and keys matching __.*__ are reserved")
                out[k] = _reference_normalized(v, depth + 1, (*path, k))
            return out
        items = []
        for i, v in enumerate(value):
            if isinstance(v, (list, tuple, set, frozenset)):
                raise refuse("an array cannot hold an array", (*path, str(i)))
            items.append(_reference_normalized(v, depth + 1, (*path, str(i))))
        return items
    raise refuse(f"{kind.__name__} is not a Firestore value")


_KEYS = st.one_of(st.sampled_from(["a", "b", "", "__x__", "__", "_a_"]), st.integers(0, 2))
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.binary(max_size=2),
    st.just(datetime(2026, 1, 2, tzinfo=UTC)),
    st.just(object()),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_KEYS, inner, max_size=3),
    ),
    max_leaves=12,
)


@SETTINGS
@given(st.dictionaries(_KEYS, _VALUES, max_size=4))
def test_documents_are_normalized_and_refused_as_defined(doc):
    try:
        expected: Any = ("ok", _reference_normalized(doc))
    except InvalidDocument as e:
        expected = ("refused", e.field, str(e))
    try:
        result = document_rules.normalized(doc)
        got: Any = ("ok", result)
    except InvalidDocument as e:
        got = ("refused", e.field, str(e))
    assert got == expected
    if got[0] == "ok" and got[1] == doc:  # no tuple or set in it: nothing to change
        assert got[1] is doc


def test_normalized_keeps_every_unchanged_part_and_copies_only_what_changes():
    inner = {"l": [1, 2], "t": (1, 2)}
    doc = {"same": {"x": [1, "a"]}, "changed": inner}
    result = document_rules.normalized(doc)
    assert result == {"same": {"x": [1, "a"]}, "changed": {"l": [1, 2], "t": [1, 2]}}
    assert result["same"] is doc["same"] and result["changed"]["l"] is inner["l"]
    assert doc["changed"]["t"] == (1, 2)  # the caller's document is left as it was


# -- the document store --------------------------------------------------------------------


def test_a_collection_never_queried_keeps_no_live_copies(monkeypatch):
    store = InMemoryDocumentStore()
    thawed = count_calls(monkeypatch, Frozen, "thaw")
    store.put("c", "k1", {"n": 1, "m": {"x": 1}})
    store.create("c", "k2", {"n": 2})
    assert thawed == []  # a write copies the document in once, frozen, and that is all
    store.put("c", "k1", {"m": {"x": 1}, "n": 1})  # the same document, keys reordered
    store.put("c", "k1", {"n": 1.0, "m": {"x": 1}})  # 1.0 is not 1 to Firestore

    assert [d.key for d in store.query("c", [Where("n", "==", 1.0)])] == ["k1"]
    store.update("c", "k2", lambda d: {**(d or {}), "n": 1.0})
    store.delete("c", "k1")
    assert [d.key for d in store.query("c", [Where("n", "==", 1.0)])] == ["k2"]
    assert [d.key for d in store.query("c")] == ["k2"]


@pytest.mark.parametrize("queried", [False, True])
def test_writes_that_change_nothing_are_told_apart_from_changes(queried):
    store = InMemoryDocumentStore()
    changes: list[DocumentChange] = []
    store.watch("c", changes.append)
    if queried:
        store.query("c")  # the collection keeps live copies from now on
    store.put("c", "k", {"a": 1, "b": {"x": "1", "y": [1, 2.5]}})
    store.put("c", "k", {"b": {"y": [1, 2.5], "x": "1"}, "a": 1})
    assert len(changes) == 1
    for changed in (
        {"a": 1.0, "b": {"x": "1", "y": [1, 2.5]}},
        {"a": True, "b": {"x": "1", "y": [1, 2.5]}},
        {"a": True, "b": {"x": "1", "y": [1.0, 2.5]}},
        {"a": True, "b": {"x": "1", "y": [1.0, 2.5], "z": None}},
        {"a": True, "b": {"x": b"1", "y": [1.0, 2.5], "z": None}},
    ):
        store.put("c", "k", changed)
        store.put("c", "k", dict(reversed(changed.items())))
    assert len(changes) == 6
    assert store.get("c", "k") == {"a": True, "b": {"x": b"1", "y": [1.0, 2.5], "z": None}}


def _shuffled(value: Any, rng: random.Random) -> Any:
    """A deep copy of ``value`` with its maps' keys in another order and fresh strings."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {"".join(list(k)): _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    if isinstance(value, str):
        return "".join(list(value))
    return value


_STORED = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        st.text(max_size=4),
        st.binary(max_size=3),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=3), inner)
    ),
    max_leaves=15,
)


@SETTINGS
@given(st.dictionaries(st.text(min_size=1, max_size=3), _STORED), _STORED, st.randoms())
def test_frozen_sizes_never_tell_the_same_document_apart(doc, other, rng):
    same = _shuffled(doc, rng)
    assert same_value(doc, same)
    assert not Frozen(doc).surely_differs(Frozen(same))
    changed = {**doc, "k": other}
    if Frozen(doc).surely_differs(Frozen(changed)):
        assert not same_value(doc, changed)


def test_a_query_works_out_its_conditions_values_once(monkeypatch):
    store = InMemoryDocumentStore()
    for n in range(20):
        store.put("c", f"k{n}", {"status": "new" if n % 2 else "old", "n": n})
    wanted = "".join(["n", "e", "w"])  # an object of its own, to tell its calls apart
    keyed = count_calls(monkeypatch, query, "value_key")
    found = store.query("c", [Where("status", "==", wanted), Where("n", ">=", 0)])
    assert len(found) == 10
    assert sum(1 for value in keyed if value is wanted) == 1


_FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 2, -1, 1.0, 0.0, -0.0, 2.5, math.nan, math.inf]),
    st.sampled_from(["", "a", "b"]),
    st.sampled_from([b"a", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1)]),
    st.lists(st.sampled_from([1, 1.0, True, "a", None]), max_size=3),
    st.dictionaries(st.sampled_from(["x", "y"]), st.sampled_from([1, "a"]), max_size=2),
)
_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "array_contains"])


def _where(field: str, op: str, value: Any, values: list[Any]) -> Where:
    return Where(field, op, values if op == "in" else value)  # type: ignore[arg-type]


def _docs(values: list[Any]) -> dict[str, dict[str, Any]]:
    return {f"k{i}": ({"f": v, "g": {"h": v}} if i % 3 else {"g": v}) for i, v in enumerate(values)}


_WHERES = st.tuples(
    st.sampled_from(["f", "g.h", "g"]),
    _OPS,
    _FIELD_VALUES,
    st.lists(_FIELD_VALUES, min_size=1, max_size=4),
).filter(lambda w: w[2] is not None or w[1] in ("==", "!="))


@SETTINGS
@given(st.lists(_FIELD_VALUES, min_size=1, max_size=8), _WHERES)
def test_a_compiled_condition_matches_as_matches_does(values, where_parts):
    where = _where(*where_parts)
    compiled = query.condition(where)
    for doc in _docs(values).values():
        assert compiled(doc) == query.matches(doc, where)


def test_a_compiled_condition_fails_where_matches_fails():
    where = Where("f", "in", [1, {1: "a", "b": 2}])  # a map whose keys do not sort
    compiled = query.condition(where)
    assert compiled({"f": 1}) is query.matches({"f": 1}, where) is True
    for doc in ({"f": 2}, {"g": 1}):
        try:
            expected: Any = query.matches(doc, where)
        except TypeError as e:
            expected = str(e)
        try:
            got: Any = compiled(doc)
        except TypeError as e:
            got = str(e)
        assert got == expected


@SETTINGS
@given(
    st.lists(_FIELD_VALUES, max_size=10),
    st.lists(_WHERES.filter(lambda w: w[1] in ("==", "in")), min_size=1, max_size=3),
)
def test_a_query_finds_what_its_conditions_match_whichever_index_it_starts_from(
    values, where_parts
):
    store = InMemoryDocumentStore()
    docs = _docs(values)
    for key, doc in docs.items():
        store.put("c", key, doc)
    where = [_where(*parts) for parts in where_parts]
    assume(math.prod(len(w.value) for w in where if w.op == "in") <= MAX_IN_VALUES)  # else refused
    stored = {key: store.get("c", key) for key in docs}
    expected = sorted(
        key for key, doc in stored.items() if all(query.matches(doc or {}, w) for w in where)
    )
    # Lists and maps among the values too: an index keys them, it never refuses them.
    assert [d.key for d in store.query("c", where)] == expected


@pytest.mark.parametrize(
    "where",
    [
        [Where("f", "in", [math.nan, 1.0])],
        [Where("s", "==", "x"), Where("f", "in", [math.nan, 1.0])],
        [Where("f", "in", [math.nan, 1.0]), Where("s", "in", ["x", "y"])],
    ],
)
def test_an_in_condition_holding_nan_finds_what_its_other_values_find(where):
    """As on the Firestore emulator (``tests/contracts/store_contract.py``): NaN in an ``in``
    finds nothing, on the index path and the scan path alike, where ``==`` NaN finds NaN."""
    store = InMemoryDocumentStore()
    store.put("c", "nan", {"s": "x", "f": math.nan})
    store.put("c", "one", {"s": "x", "f": 1.0})
    for n in range(5):
        store.put("c", f"two-{n}", {"s": "y", "f": 2.0})
    assert [d.key for d in store.query("c", where)] == ["one"]
    [holding_nan] = [w for w in where if w.field == "f"]
    stored_nan = store.get("c", "nan")
    assert stored_nan is not None and math.isnan(stored_nan["f"])
    assert not query.matches(stored_nan, holding_nan)
    assert not query.condition(holding_nan)(stored_nan)
    assert [d.key for d in store.query("c", [Where("f", "==", math.nan)])] == ["nan"]


def test_a_query_tries_on_its_documents_only_the_conditions_its_indexes_leave_open(monkeypatch):
    """A string's index bucket holds only the documents equal to it, so the condition is not
    tried again on each; a number's holds ``True``, ``1`` and ``1.0`` alike, so it is."""
    store = InMemoryDocumentStore()
    for n in range(20):
        store.put("c", f"k{n}", {"s": "new" if n % 2 else "old", "b": n % 3, "t": None})
    store.put("c", "true", {"s": "new", "b": True, "t": None})
    tried: list[str] = []

    def counted(where: Where) -> query.Condition:
        compiled = query.condition(where)

        def condition(doc: Any) -> bool:
            tried.append(where.field)
            return compiled(doc)

        return condition

    monkeypatch.setattr(memory, "condition", counted)
    where = [
        Where("s", "==", "new"),
        Where("b", "==", 1),
        Where("s", "in", ["new", "x"]),
        Where("t", "==", None),
    ]
    found = store.query("c", where)
    assert [d.key for d in found] == ["k1", "k13", "k19", "k7"]
    assert set(tried) == {"b"}


def test_a_write_moves_a_document_only_in_the_indexes_of_the_fields_it_changes(monkeypatch):
    store = InMemoryDocumentStore()
    store.put("c", "a", {"s": "x", "n": 1, "f": 1.0, "where": 0})
    for field, value in (("s", "x"), ("n", 1), ("f", 1.0)):
        assert [d.key for d in store.query("c", [Where(field, "==", value)])] == ["a"]
    moved: list[Any] = []
    add = memory._add
    monkeypatch.setattr(
        memory, "_add", lambda index, value, key: moved.append(value) or add(index, value, key)
    )
    store.update("c", "a", lambda d: {**(d or {}), "where": 1})
    assert moved == [1.0]  # a float's bucket is left and found again: NaN != NaN
    store.update("c", "a", lambda d: {**(d or {}), "n": True})
    assert [d.key for d in store.query("c", [Where("n", "==", True)])] == ["a"]
    assert store.query("c", [Where("n", "==", 1)]) == []


def test_an_in_condition_narrows_a_query_without_its_union_when_that_costs_more():
    """A query for the few documents of a status within many blocks finds them among those of
    the status, as it does when the blocks hold few documents."""
    store = InMemoryDocumentStore()
    for n in range(60):
        status = "searching" if n % 20 == 0 else "delivered"
        store.put("c", f"d-{n:02d}", {"status": status, "block": f"b{n % 4}"})
    store.put("c", "far", {"status": "searching", "block": "b9"})
    where = [Where("status", "==", "searching"), Where("block", "in", ["b0", "b1", "b2"])]
    assert [d.key for d in store.query("c", where)] == ["d-00", "d-20", "d-40"]
    few = [Where("status", "==", "delivered"), Where("block", "in", ["b9", "b1"])]
    assert [d.key for d in store.query("c", few)][:3] == ["d-01", "d-05", "d-09"]


def test_a_frozen_watcher_is_told_of_a_write_without_a_copy_being_thawed(monkeypatch):
    store = InMemoryDocumentStore(clock=ManualClock(5))
    told: list[Any] = []
    plain: list[DocumentChange] = []
    store.watch_frozen("c", told.append)
    store.watch("c", plain.append)
    store.watch_frozen("c", told.append)
    store.put("c", "k", {"n": 1})
    thawed = count_calls(monkeypatch, Frozen, "thaw")
    store.put("c", "k", {"n": 2, "m": {"x": 1}})
    assert len(thawed) == 2  # the plain watcher's before and after, and nothing more
    assert told[2] is told[3]  # one frozen change, shared by the write's frozen watchers
    first, second = told[2].thaw(), told[2].thaw()
    assert first == second == plain[1]
    assert (first.before, first.after, first.written_ms) == ({"n": 1}, {"n": 2, "m": {"x": 1}}, 5)
    first.after["m"]["x"] = 99
    assert second.after == {"n": 2, "m": {"x": 1}} == told[2].thaw().after


def test_a_frozen_watcher_stops_when_told():
    store = InMemoryDocumentStore()
    told: list[Any] = []
    watch = store.watch_frozen("c", told.append)
    store.put("c", "k", {"n": 1})
    watch.stop()
    store.put("c", "k", {"n": 2})
    assert [change.thaw().after for change in told] == [{"n": 1}]


# -- the hub -------------------------------------------------------------------------------


def test_each_message_carries_the_time_it_was_published():
    clock = ManualClock(1_764_150_000_000)
    hub = InMemoryHub(clock)
    hub.create_topic("p", Topic.BUS)
    got: list[Message] = []

    def record(message: Message, attempt: int) -> Outcome:
        got.append(message)
        return Outcome.ACK

    hub.subscribe("p", Topic.BUS, Subscription("s", record, ordered=False))
    for step in (0, 0, 1, 999, 0):
        clock.advance(step)
        hub.publish("p", Topic.BUS, [Message(b"x", {"type": "t"})])
    hub.run_until_quiet()
    assert [m.publish_time for m in got] == [
        "2025-11-26T09:40:00Z",
        "2025-11-26T09:40:00Z",
        "2025-11-26T09:40:00.001000Z",
        "2025-11-26T09:40:01Z",
        "2025-11-26T09:40:01Z",
    ]


def test_a_document_with_datetimes_is_kept_without_pickle(monkeypatch):
    """A TTL field (a datetime) made every read and write of its document go through
    pickle, several times slower than marshal: the order event store's reads tripled."""
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("pickle used")

    monkeypatch.setattr(memory.pickle, "dumps", refuse)
    monkeypatch.setattr(memory.pickle, "loads", refuse)
    expires = datetime(2026, 12, 27, 10, 30, tzinfo=UTC)
    naive = datetime(2026, 1, 1, 12, 0)
    store = InMemoryDocumentStore()
    store.put("c", "k", {"expireAt": expires, "steps": [{"at": naive}, 1], "n": 1})

    read = store.get("c", "k") or {}
    assert read == {"expireAt": expires, "steps": [{"at": naive.replace(tzinfo=UTC)}, 1], "n": 1}
    assert type(read["expireAt"]) is DatetimeWithNanoseconds
    assert type(read["steps"][0]["at"]) is DatetimeWithNanoseconds
    read["steps"][0]["at"] = None  # a copy: the stored document is unchanged
    [found] = store.query("c", [Where("n", "==", 1)])
    assert found.data["steps"][0]["at"] == naive.replace(tzinfo=UTC)
    assert store.update("c", "k", lambda doc: doc) == found.data  # unchanged: same document
