"""The profile API's bodies and views, which are also the stored documents."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from shared.api_models import RequestBody

RESTAURANTS = "restaurants"
"""Profiles, keyed by restaurant id."""
MENUS = "menus"
"""Menus, keyed by restaurant id."""


class Body(RequestBody):
    """A request body with strict types: ``"5"`` is no number and ``1`` no boolean."""

    model_config = ConfigDict(strict=True)


class Address(Body):
    """Where the restaurant is; drivers pick orders up here."""

    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class Profile(Body):
    """A restaurant's public profile, as staff write it."""

    name: str = Field(min_length=1, max_length=100)
    cuisine: str = Field(min_length=1, max_length=50)
    address: Address
    open: bool
    ordering: Literal["kitchen", "pos"]
    """``kitchen``: orders queue in the kitchen app; ``pos``: they go to the restaurant's POS."""
    delivery_radius_m: int = Field(default=5_000, ge=500, le=30_000)
    """How far from the restaurant it delivers, in metres (5 km unless staff say otherwise)."""

    @field_validator("cuisine")
    @classmethod
    def _one_spelling(cls, cuisine: str) -> str:
        """Cuisines are tags customers filter by: ``Italian`` and ``italian`` are one."""
        return cuisine.lower()


class ProfileView(Profile):
    """A stored profile with its restaurant id."""

    id: str


MAX_PRICE = 1_000_000
"""The highest price of one dish, in minor units (10,000.00): totals stay far inside
the 64-bit integers Firestore stores."""


class MenuItem(Body):
    """One dish; the price is in the currency's minor unit."""

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    price: int = Field(ge=0, le=MAX_PRICE)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    available: bool


class Menu(Body):
    """A restaurant's whole menu, as staff write it."""

    items: list[MenuItem] = Field(min_length=1, max_length=200)


class MenuView(Menu):
    """A stored menu with its restaurant id."""

    restaurant_id: str
