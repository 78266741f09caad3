"""The browse views: the catalog as customers see it, stored and served in one shape."""

from __future__ import annotations

from pydantic import Field, field_validator

from customer.contracts import Address
from shared.api_models import QueryString, ResponseView

RESTAURANTS = "catalog-restaurants"
"""Restaurants, keyed by restaurant id."""
MENUS = "catalog-menus"
"""Menus, keyed by restaurant id."""


class Restaurant(ResponseView):
    """A restaurant's public profile."""

    id: str
    name: str
    cuisine: str
    address: Address
    open: bool
    delivery_radius_m: int | None = None
    """How far it delivers, in metres (``null``: no limit said)."""


class RestaurantList(ResponseView):
    """Restaurants sorted by name."""

    restaurants: list[Restaurant]


class MenuItem(ResponseView):
    """One dish; ``price`` in the currency's minor unit."""

    id: str
    name: str
    description: str
    price: int
    currency: str
    available: bool


class Menu(ResponseView):
    """A restaurant's whole menu."""

    restaurant_id: str
    items: list[MenuItem]


class RestaurantQuery(QueryString):
    """The restaurant list's query string: ``?cuisine=italian&open=true&deliversTo=52.52,13.40``."""

    cuisine: str | None = Field(default=None, min_length=1, max_length=50)
    open: bool | None = None
    delivers_to: str | None = Field(default=None, pattern=r"^-?\d{1,2}(\.\d+)?,-?\d{1,3}(\.\d+)?$")
    """``<lat>,<lng>``: only restaurants that deliver there."""

    def point(self) -> dict[str, float] | None:
        """``deliversTo`` as ``{lat, lng}``, if given."""
        if self.delivers_to is None:
            return None
        lat, lng = (float(part) for part in self.delivers_to.split(","))
        return {"lat": lat, "lng": lng}

    @field_validator("cuisine")
    @classmethod
    def _as_published(cls, cuisine: str | None) -> str | None:
        """Restaurant publishes cuisines in lower case; ``?cuisine=Italian`` finds them too."""
        return None if cuisine is None else cuisine.lower()
