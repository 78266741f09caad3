"""Bring the catalog views stored by older versions up to what the browse API reads.

Each rewrites a restaurant's view document in place from what it holds (and its menu's
view); the next event of the restaurant would write the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.browse_bff.listing import list_by_menu
from customer.browse_bff.models import RESTAURANTS
from customer.browse_bff.pages import SORT_FIELD, sort_name
from customer.restaurant_esg.cuisines import cuisine_tag
from shared.migrations import Migration, rewrite_each

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Doc


def _with_sort_name(view: Doc) -> Doc | None:
    wanted = sort_name(view["name"])
    return None if view.get(SORT_FIELD) == wanted else {**view, SORT_FIELD: wanted}


def _with_cuisine_tag(view: Doc) -> Doc | None:
    wanted = cuisine_tag(view["cuisine"])
    return None if view["cuisine"] == wanted else {**view, "cuisine": wanted}


def fill_sort_names(store: AbstractDocumentStore) -> int:
    """Give every restaurant's view its ``sortName``; returns how many lacked it (or held
    another)."""
    return rewrite_each(store, RESTAURANTS, _with_sort_name)


def retag_cuisines(store: AbstractDocumentStore) -> int:
    """Spell every restaurant's cuisine as ``?cuisine=`` matches it; returns how many were
    spelt otherwise."""
    return rewrite_each(store, RESTAURANTS, _with_cuisine_tag)


def list_by_menus(store: AbstractDocumentStore) -> int:
    """Tell every restaurant's view whether its menu lists a dish, and one available; returns
    how many did not say yet (or said otherwise). A restaurant without a menu needs nothing:
    it is unlisted."""
    return sum(list_by_menu(store, restaurant.key) for restaurant in store.query(RESTAURANTS))


MIGRATIONS = (
    Migration(
        "catalog-sort-names",
        "restaurants stored before the list ordered by sortName get it (without it they are "
        "left out of the list)",
        fill_sort_names,
    ),
    Migration(
        "catalog-cuisine-tags",
        "cuisines stored as the restaurant spelt them ('Italian ') become the tag ?cuisine= "
        "matches ('italian')",
        retag_cuisines,
    ),
    Migration(
        "catalog-menus-listed",
        "restaurants stored before the list left out those without a dish on their menu "
        "learn whether their menu has one (without it they are left out of the list), and "
        "whether one is available (without it they are orderable while open)",
        list_by_menus,
    ),
)
"""The browse views' migrations, in the order they run."""
