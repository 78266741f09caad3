"""The browse views' migrations: restaurants stored by older versions are listed again."""

from __future__ import annotations

from typing import Any

import pytest

from customer.browse_bff.migrations import fill_sort_names, retag_cuisines
from customer.browse_bff.models import RESTAURANTS
from customer.topology import APP
from tests.customer.conftest import ADDRESS, Customer


def stored_before(customer: Customer, rid: str, name: str, cuisine: str) -> None:
    """A restaurant's view as a version before sortName and cuisine tags stored it."""
    view = {"id": rid, "name": name, "cuisine": cuisine, "address": ADDRESS, "open": True}
    customer.store.put(RESTAURANTS, rid, view)


def listed(customer: Customer, query: str = "") -> list[str]:
    response = customer.call("browse-bff", "GET", f"/restaurants{query}")
    assert response.status_code == 200, response.get_json()
    return [r["id"] for r in response.get_json()["restaurants"]]


@pytest.fixture
def legacy(customer: Customer) -> Customer:
    stored_before(customer, "r-1", "Zaika", "Indian ")
    stored_before(customer, "r-2", "bao bar", "taiwanese")
    customer.restaurant("r-3", name="Curry House", cuisine="indian")  # stored by this version
    return customer


def test_restaurants_stored_before_are_listed_and_filtered_once_migrated(legacy: Customer) -> None:
    assert listed(legacy) == ["r-3"]  # the list orders by a field the old views lack

    for migration in APP.migrations:
        migration.run(legacy.store)

    assert listed(legacy) == ["r-2", "r-3", "r-1"]
    assert listed(legacy, "?cuisine=indian") == ["r-3", "r-1"]


def test_a_second_run_changes_nothing(legacy: Customer) -> None:
    assert (fill_sort_names(legacy.store), retag_cuisines(legacy.store)) == (2, 1)
    before = {d.key: d.data for d in legacy.store.query(RESTAURANTS)}

    assert (fill_sort_names(legacy.store), retag_cuisines(legacy.store)) == (0, 0)
    assert {d.key: d.data for d in legacy.store.query(RESTAURANTS)} == before


def test_the_next_profile_event_still_applies_after_the_migration(legacy: Customer) -> None:
    fill_sort_names(legacy.store)
    legacy.clock.advance(60_000)
    legacy.restaurant("r-1", name="Aarti", cuisine="indian")

    assert listed(legacy) == ["r-1", "r-2", "r-3"]


def test_a_restaurant_removed_while_the_migration_reads_is_not_stored_again(
    legacy: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = legacy.store.query

    def then_removed(collection: str, *args: Any, **kwargs: Any) -> Any:
        found = query(collection, *args, **kwargs)
        legacy.store.delete(RESTAURANTS, "r-1")
        return found

    monkeypatch.setattr(legacy.store, "query", then_removed)

    assert fill_sort_names(legacy.store) == 1  # r-2 only
    assert legacy.store.get(RESTAURANTS, "r-1") is None
