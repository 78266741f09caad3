"""checkout-bff's delivery area at its very edge: an address exactly at the restaurant's
radius is within it, as browse-bff lists the restaurant for it."""

from __future__ import annotations

import math
from typing import Any

import pytest

from customer.browse_bff.api import delivers_to
from customer.checkout_bff.area import require_delivery_area
from shared.api import HttpError
from shared.geo import distance_m
from tests.customer.conftest import ADDRESS, HOME

EDGE = distance_m(ADDRESS, HOME)
"""How far HOME is from the restaurant (at ADDRESS), to the last bit."""


def restaurant(radius: float) -> dict[str, Any]:
    """The restaurant's profile as checkout keeps it, delivering within ``radius`` metres."""
    return {"name": "Trattoria Roma", "address": ADDRESS, "deliveryRadiusM": radius}


def test_an_address_exactly_at_the_radius_is_delivered_to() -> None:
    require_delivery_area(restaurant(EDGE), HOME)

    assert delivers_to(restaurant(EDGE), HOME)


def test_an_address_a_hair_beyond_the_radius_is_refused() -> None:
    short = math.nextafter(EDGE, 0)

    with pytest.raises(HttpError) as refused:
        require_delivery_area(restaurant(short), HOME)

    assert (refused.value.status, list(refused.value.fields or {})) == (422, ["deliveryAddress"])
    assert not delivers_to(restaurant(short), HOME)
