"""Bring the catalog views stored by older versions up to what the browse API reads.

Both rewrite a restaurant's view document in place from what it holds; the next
event of the restaurant would write the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
)
"""The browse views' migrations, in the order they run."""
