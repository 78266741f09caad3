"""The embedded store refuses, as Firestore does, a query needing an undeclared composite index."""

from __future__ import annotations

import dataclasses

import pytest

from shared.clock import ManualClock
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.faults import ARISEN_AT, FAULTS_COLLECTION
from shared.sample import alpha, beta
from shared.stores.base import Where
from shared.stores.indexes import MissingIndex, needed_index
from shared.stores.memory import InMemoryDocumentStore
from shared.topology.model import Index


def _store(*indexes: Index) -> InMemoryDocumentStore:
    store = InMemoryDocumentStore(indexes=indexes)
    store.put("orders", "o1", {"status": "new", "customerId": "c", "createdAt": 1, "n": 1})
    return store


def test_an_order_with_an_equality_on_another_field_needs_a_declared_index() -> None:
    store = _store()
    with pytest.raises(MissingIndex) as refused:
        store.query("orders", [Where("status", "==", "new")], order_by="createdAt")
    message = str(refused.value)
    assert "'orders'" in message and "status ==, order by createdAt" in message
    assert "The query requires an index" in message
    assert "Index('orders', ('status', 'createdAt'))" in message
    assert refused.value.index == Index("orders", ("status", "createdAt"))


def test_the_same_query_is_taken_once_its_index_is_declared() -> None:
    store = _store(Index("orders", ("status", "createdAt")))
    found = store.query("orders", [Where("status", "==", "new")], order_by="createdAt")
    assert [d.key for d in found] == ["o1"]


def test_a_range_with_an_equality_on_another_field_needs_one_in_its_own_order() -> None:
    where = [Where("status", "in", ["new", "old"]), Where("createdAt", "<=", 5)]
    with pytest.raises(MissingIndex) as refused:
        _store().query("orders", where)
    assert refused.value.index == Index("orders", ("status", "createdAt"))
    assert len(_store(Index("orders", ("status", "createdAt"))).query("orders", where)) == 1


def test_a_descending_order_needs_a_descending_index() -> None:
    where = [Where("customerId", "==", "c")]
    ascending = _store(Index("orders", ("customerId", "createdAt")))
    with pytest.raises(MissingIndex) as refused:
        ascending.query("orders", where, order_by="createdAt", descending=True)
    assert refused.value.index == Index("orders", ("customerId", "createdAt desc"))
    descending = _store(Index("orders", ("customerId", "createdAt desc")))
    assert len(descending.query("orders", where, order_by="createdAt", descending=True)) == 1


def test_an_index_on_another_collection_or_other_fields_does_not_serve() -> None:
    store = _store(
        Index("tickets", ("status", "createdAt")),
        Index("orders", ("customerId", "createdAt")),
        Index("orders", ("status", "n")),
    )
    with pytest.raises(MissingIndex):
        store.query("orders", [Where("status", "==", "new")], order_by="createdAt")


def test_a_count_takes_the_index_its_query_does() -> None:
    with pytest.raises(MissingIndex):
        _store().count("orders", [Where("status", "==", "new")], order_by="createdAt")


def test_indexes_ending_in_the_order_field_merge_for_several_equalities() -> None:
    where = [Where("status", "==", "new"), Where("customerId", "==", "c")]
    merged = _store(
        Index("orders", ("status", "createdAt")), Index("orders", ("customerId", "createdAt"))
    )
    assert len(merged.query("orders", where, order_by="createdAt")) == 1
    with pytest.raises(MissingIndex) as refused:
        _store(Index("orders", ("status", "createdAt"))).query(
            "orders", where, order_by="createdAt"
        )
    assert refused.value.index == Index("orders", ("status", "customerId", "createdAt"))
    whole = _store(Index("orders", ("customerId", "status", "createdAt")))
    assert len(whole.query("orders", where, order_by="createdAt")) == 1


@pytest.mark.parametrize(
    ("where", "order_by"),
    [
        ([Where("status", "==", "new"), Where("customerId", "in", ["c", "d"])], None),
        ([Where("status", "==", "new"), Where("tags", "array_contains", "x")], None),
        ([Where("createdAt", ">", 0), Where("createdAt", "<=", 5)], "createdAt"),
        ([Where("createdAt", ">", 0)], None),
        ([Where("status", "!=", "gone")], "status"),
        ([], "createdAt"),
        ([], None),
    ],
)
def test_what_single_field_indexes_serve_needs_no_declaration(
    where: list[Where], order_by: str | None
) -> None:
    assert needed_index("orders", where, order_by, False) is None
    _store().query("orders", where, order_by=order_by)
    _store().query("orders", where, order_by=order_by, descending=True)


def test_ranges_on_two_fields_need_an_index_holding_both() -> None:
    where = [Where("createdAt", ">", 0), Where("n", "<", 5)]
    with pytest.raises(MissingIndex) as refused:
        _store().query("orders", where)
    assert refused.value.index == Index("orders", ("createdAt", "n"))
    assert len(_store(Index("orders", ("createdAt", "n"))).query("orders", where)) == 1


def test_a_store_built_without_indexes_takes_every_query() -> None:
    store = InMemoryDocumentStore()
    store.put("orders", "o1", {"status": "new", "createdAt": 1})
    found = store.query("orders", [Where("status", "==", "new")], order_by="createdAt")
    assert [d.key for d in found] == ["o1"]


def _system(*alpha_indexes: Index) -> EmbeddedSystem:
    topology = dataclasses.replace(alpha.APP.topology, indexes=alpha_indexes)
    return EmbeddedSystem(
        [dataclasses.replace(alpha.APP, topology=topology), beta.APP], clock=ManualClock()
    )


def test_the_embedded_system_checks_each_subsystem_against_its_own_declarations() -> None:
    system = _system(Index("carts", ("status", "checkedOutAt")))
    query = ([Where("status", "==", "shipped")],)
    assert system.stores["alpha"].query("carts", *query, order_by="checkedOutAt") == []
    with pytest.raises(MissingIndex):
        system.stores["beta"].query("carts", *query, order_by="checkedOutAt")
    with pytest.raises(MissingIndex):
        _system().stores["alpha"].query("carts", *query, order_by="checkedOutAt")


def test_the_embedded_system_has_the_kits_indexes_on_faults() -> None:
    store = _system().stores["beta"]
    for where in (
        [Where("status", "==", "open")],
        [Where("function", "==", "f")],
        [Where("status", "==", "open"), Where("function", "==", "f")],
    ):
        assert store.query(FAULTS_COLLECTION, where, order_by=ARISEN_AT, descending=True) == []
