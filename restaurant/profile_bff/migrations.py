"""Bring the profiles stored by older versions up to what staff are shown.

A profile saved before restaurants had a delivery radius holds none: staff read the
default (:data:`~restaurant.profile_bff.models.DEFAULT_DELIVERY_RADIUS_M`) while
customers, told nothing, were held to no limit until the restaurant's next save.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.profile_bff.models import DEFAULT_DELIVERY_RADIUS_M, RESTAURANTS
from shared.migrations import Migration, rewrite_each
from shared.stores.revisions import content_of, counted

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Doc


def _with_delivery_radius(profile: Doc) -> Doc | None:
    if "deliveryRadiusM" in profile:
        return None
    return counted(lambda _: {**content_of(profile), "deliveryRadiusM": DEFAULT_DELIVERY_RADIUS_M})(
        profile
    )


def fill_delivery_radii(store: AbstractDocumentStore) -> int:
    """Save the default radius into every profile without one, as a save of its own (the
    next revision), which the profile trigger announces to customers; returns how many."""
    return rewrite_each(store, RESTAURANTS, _with_delivery_radius)


MIGRATIONS = (
    Migration(
        "profile-delivery-radius",
        "profiles saved before delivery radii get the 5 km staff were shown, announced to "
        "customers (who were held to no limit)",
        fill_delivery_radii,
    ),
)
"""The profiles' migrations, in the order they run."""
