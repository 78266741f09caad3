"""The profile API's bodies, which are also the stored documents, and its views of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from shared.api_models import STORED, RequestBody, ResponseView
from shared.stores.revisions import REVISION

RESTAURANTS = "restaurants"
"""Profiles, keyed by restaurant id."""
MENUS = "menus"
"""Menus, keyed by restaurant id."""
MAX_REVISION = 2**63 - 1
"""The highest revision an edit may name: the most a stored revision (a 64-bit integer) can
be; a larger one is refused (400) rather than quoted back whole in a 409."""


def saved_tag(saved: Mapping[str, Any]) -> str:
    """The opaque tag of a stored profile or menu (or its JSON view): its revision, ``0`` for
    one saved before saves were counted; answered quoted as its ``ETag``."""
    return str(saved.get(REVISION) or 0)


class Body(RequestBody):
    """A request body with strict types: ``"5"`` is no number and ``1`` no boolean."""

    model_config = ConfigDict(strict=True)


class Address(Body):
    """Where the restaurant is; drivers pick orders up here."""

    street: str = Field(min_length=1, max_length=200)
    """Street and house number."""
    city: str = Field(min_length=1, max_length=100)
    """City or town."""
    postcode: str = Field(min_length=1, max_length=20)
    """Postal code, as written in the address's country."""
    lat: float = Field(ge=-90, le=90)
    """Latitude in decimal degrees (WGS 84), north positive."""
    lng: float = Field(ge=-180, le=180)
    """Longitude in decimal degrees (WGS 84), east positive."""


DEFAULT_DELIVERY_RADIUS_M = 5_000
"""The delivery radius of a restaurant whose staff did not say."""


class Profile(Body):
    """A restaurant's public profile, as staff write it."""

    name: str = Field(min_length=1, max_length=100)
    """The restaurant's name, as customers see it."""
    cuisine: str = Field(min_length=1, max_length=50)
    """The kind of food (e.g. ``pizza``): free text, stored in lower case; customers filter
    restaurants by it."""
    address: Address
    """Where the restaurant is: drivers pick orders up here, and the delivery radius is
    measured from it."""
    open: bool
    """Whether the restaurant takes orders now: customers cannot order from a closed one."""
    ordering: Literal["kitchen", "pos"]
    """``kitchen``: orders queue in the kitchen app; ``pos``: they go to the restaurant's POS."""
    delivery_radius_m: int = Field(default=DEFAULT_DELIVERY_RADIUS_M, ge=500, le=30_000)
    """How far from the restaurant it delivers, in metres as the crow flies (5 km unless staff
    say otherwise)."""
    revision: int | None = Field(default=None, ge=0, le=MAX_REVISION)
    """The ``revision`` of the profile this edit was made from (0: there was none yet): if
    the profile was saved since, the save is refused (409) and nothing changes, so one staff
    member's edit does not silently undo another's. Left out: the profile is replaced
    whatever it holds, unless the request's ``If-Match`` names the ``ETag`` it was read with
    (which a profile saved before saves were counted has too: ``"0"``)."""

    @field_validator("cuisine")
    @classmethod
    def _one_spelling(cls, cuisine: str) -> str:
        """Cuisines are tags customers filter by: ``Italian`` and ``italian`` are one."""
        return cuisine.lower()


class AddressView(Address):
    """A stored restaurant address."""

    model_config = STORED


class ProfileView(Profile):
    """A stored profile with its restaurant id."""

    model_config = STORED

    address: AddressView
    """Where the restaurant is: drivers pick orders up here, and the delivery radius is
    measured from it."""
    id: str
    """The restaurant's id (the path's ``restaurant_id``)."""
    revision: int | None = None
    """Which save of the profile this is (1 for the first): send it back with the next PUT
    so that it is refused if someone saved in between. ``null``: saved before saves were
    counted (its ``ETag`` is ``"0"``: send that as ``If-Match`` to save it only as read)."""


MAX_PRICE = 1_000_000
"""The highest price of one dish, in minor units (10,000.00): totals stay far inside
the 64-bit integers Firestore stores."""


class MenuItem(Body):
    """One dish; the price is in the currency's minor unit."""

    id: str = Field(min_length=1, max_length=64)
    """The dish's id, unique on the menu: carts and orders name the dish by it
    (``menuItemId``)."""
    name: str = Field(min_length=1, max_length=100)
    """The dish's name, as customers see it."""
    description: str = Field(default="", max_length=500)
    """The dish, in the restaurant's words; left out: empty."""
    price: int = Field(ge=0, le=MAX_PRICE)
    """The price of one, in ``currency``'s minor unit (cents for EUR), at most 1,000,000."""
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    """The ISO 4217 code of ``price`` (e.g. ``EUR``; a code not in circulation, such as
    ``XTS``, is refused); every dish of a menu has the same."""
    available: bool
    """Whether the dish can be ordered now (``false``: on the menu, but sold out)."""


class Menu(Body):
    """A restaurant's whole menu, as staff write it. The request body is at most 64 KiB,
    whatever the per-dish limits allow (a bigger one is a 413): 200 dishes have about 200
    characters each (ASCII; fewer in other scripts) for their name and description."""

    items: list[MenuItem] = Field(min_length=1, max_length=200)
    """Every dish, available or not (1 to 200), in the order customers see them; they
    replace the whole menu."""
    revision: int | None = Field(default=None, ge=0, le=MAX_REVISION)
    """The ``revision`` of the menu this edit was made from (0: there was none yet): if the
    menu was saved since, the save is refused (409) and nothing changes, so marking one dish
    sold out is not undone by a colleague's edit of an older copy. Left out: the menu is
    replaced whatever it holds, unless the request's ``If-Match`` names the ``ETag`` it was
    read with (which a menu saved before saves were counted has too: ``"0"``)."""


class MenuItemView(MenuItem):
    """A stored dish."""

    model_config = STORED

    price: int = Field(ge=0)
    """The price of one, in ``currency``'s minor unit (cents for EUR); a menu saved before
    prices were capped may still hold one above :data:`MAX_PRICE`."""


class MenuView(ResponseView):
    """A stored menu with its restaurant id."""

    model_config = STORED

    items: list[MenuItemView]
    """Every dish, available or not, in the order customers see them."""
    restaurant_id: str
    """The restaurant whose menu this is (the path's ``restaurant_id``)."""
    revision: int | None = None
    """Which save of the menu this is (1 for the first): send it back with the next PUT so
    that it is refused if someone saved in between. ``null``: saved before saves were
    counted (its ``ETag`` is ``"0"``: send that as ``If-Match`` to save it only as read)."""
