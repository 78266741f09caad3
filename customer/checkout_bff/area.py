"""Whether a restaurant delivers to an address: within its delivery radius, as the crow flies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.api import HttpError
from shared.geo import distance_m

if TYPE_CHECKING:
    from shared.stores import Doc


def require_delivery_area(restaurant: Doc, address: Doc) -> None:
    """422 naming ``deliveryAddress`` unless the restaurant delivers there.

    A restaurant that published no radius (a profile saved before restaurants
    said) delivers anywhere, as before.
    """
    radius = restaurant.get("deliveryRadiusM")
    if radius is None:
        return
    away = distance_m(restaurant["address"], address)
    if away > radius:
        message = (
            f"{restaurant['name']} delivers within {radius / 1000:.1f} km; "
            f"this address is {away / 1000:.1f} km away"
        )
        raise HttpError(422, "the restaurant does not deliver there", {"deliveryAddress": message})
