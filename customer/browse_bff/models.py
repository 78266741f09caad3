"""The browse views: the catalog as customers see it, stored and served in one shape."""

from __future__ import annotations

from pydantic import Field, field_validator

from customer.browse_bff.pages import Position, PositionToken
from customer.contracts import Address
from customer.restaurant_esg.cuisines import cuisine_tag
from shared.api_models import (
    MAX_PAGE_LIMIT,
    PAGE_LIMIT,
    STORED,
    QueryBool,
    QueryInt,
    QueryString,
    ResponseView,
)

RESTAURANTS = "catalog-restaurants"
"""Restaurants, keyed by restaurant id."""
MENUS = "catalog-menus"
"""Menus, keyed by restaurant id."""


POINT = r"^-?[0-9]{1,2}(\.[0-9]+)?,-?[0-9]{1,3}(\.[0-9]+)?$"
"""``<lat>,<lng>`` in decimal degrees, ASCII digits only (as every query number)."""


class PickupAddress(Address):
    """A restaurant's address as its view holds it: a field a later version of this BFF
    stored, and this one does not know (after a rollback), is left out, not a 500."""

    model_config = STORED


class Restaurant(ResponseView):
    """A restaurant's public profile."""

    id: str
    """The restaurant's id: the ``restaurant_id`` of its paths here and a cart's
    ``restaurantId``."""
    name: str
    """The restaurant's name; the list is sorted by it, case and accents aside (``bao bar``,
    ``Curry``, ``Öz Kebap``, ``Zaika``), by its first 200 characters."""
    cuisine: str
    """The kind of food, lower case (e.g. ``pizza``): free text the restaurant chose, which
    ``?cuisine=`` matches."""
    address: PickupAddress
    """Where the restaurant is: the pickup point, from which its delivery radius is measured."""
    open: bool
    """Whether the restaurant takes orders now; a cart from a closed one cannot be checked
    out."""
    delivery_radius_m: int | None = None
    """How far from the restaurant it delivers, in metres as the crow flies (``null``: no
    limit said, it delivers anywhere)."""
    orderable: bool
    """Whether a cart from the restaurant can be checked out now: it is ``open`` and a dish
    on its menu is ``available``. ``false``: closed, or every dish sold out (the app may
    show it greyed out); checkout refuses its carts. Whether it delivers to an address is
    ``deliveryRadiusM``'s (and ``?deliversTo=``'s)."""


class RestaurantList(ResponseView):
    """A page of restaurants sorted by name, case and accents aside; ``next`` asks for the
    following page (``?after=<next>``, with the same filters), ``null`` on the last one."""

    restaurants: list[Restaurant]
    """This page's restaurants that pass all the filters given, by name; at most ``limit``.
    Only restaurants with a dish on their menu are listed (a new restaurant once its menu
    is published); those closed or with every dish sold out too, not ``orderable``."""
    next: str | None = None
    """The ``after`` of the following page (an opaque token); ``null`` on the last page.
    With ``deliversTo`` one request looks at a few hundred restaurants at most, so a page
    may hold fewer than ``limit``, even none, and still have a ``next``: only a ``null``
    one ends the list."""


class MenuItem(ResponseView):
    """One dish; ``price`` in the currency's minor unit."""

    id: str
    """The dish's id on this menu: a cart line's ``menuItemId``."""
    name: str
    """The dish's name."""
    description: str
    """The dish, in the restaurant's words (may be empty)."""
    price: int
    """The price of one, in ``currency``'s minor unit (cents for EUR)."""
    currency: str
    """The ISO 4217 code of ``price`` (e.g. ``EUR``); every dish of a menu has the same."""
    available: bool
    """Whether the dish can be ordered now (``false``: on the menu, but sold out)."""


class Menu(ResponseView):
    """A restaurant's whole menu."""

    restaurant_id: str
    """The restaurant whose menu this is."""
    items: list[MenuItem]
    """Every dish on the menu, available or not, in the restaurant's order."""


class RestaurantQuery(QueryString):
    """The restaurant list's query string:
    ``?cuisine=italian&open=true&deliversTo=52.52,13.40&limit=20&after=<next>``; any other
    parameter is refused."""

    cuisine: str | None = Field(default=None, min_length=1, max_length=50)
    """Only restaurants of this cuisine (e.g. ``italian``), matched whole and ignoring case."""
    open: QueryBool | None = None
    """``true``: only restaurants taking orders now (one may still have every dish sold out:
    see ``orderable``); ``false``: only closed ones. Left out: both."""
    delivers_to: str | None = Field(default=None, pattern=POINT)
    """``<lat>,<lng>``: only restaurants that deliver there."""
    limit: QueryInt = Field(default=PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT)
    """How many restaurants to list per page at most, 20 unless given (up to 100)."""
    after: str | None = Field(default=None, max_length=4096)
    """The ``next`` of the page before (an opaque token): lists only the restaurants after
    where that page stopped, by name. Left out: the first page."""

    def point(self) -> dict[str, float] | None:
        """``deliversTo`` as ``{lat, lng}``, if given."""
        if self.delivers_to is None:
            return None
        lat, lng = (float(part) for part in self.delivers_to.split(","))
        return {"lat": lat, "lng": lng}

    def position(self) -> Position | None:
        """Where the page starts: after the position ``after`` stands for, if given."""
        if self.after is None:
            return None
        if isinstance(self.after, PositionToken):  # as validated: read once
            return self.after.position
        return Position.from_token(self.after)  # set without validation

    @field_validator("delivers_to")
    @classmethod
    def _on_earth(cls, delivers_to: str | None) -> str | None:
        """Refuse (400) a latitude beyond ±90 or a longitude beyond ±180."""
        if delivers_to is not None:
            lat, lng = (float(part) for part in delivers_to.split(","))
            if abs(lat) > 90 or abs(lng) > 180:
                raise ValueError("latitude must be within ±90 and longitude within ±180")
        return delivers_to

    @field_validator("after")
    @classmethod
    def _a_token_this_list_gave(cls, after: str | None) -> str | None:
        """Refuse (400) a token that is no ``next`` of this list; keep the place it stands
        for."""
        return None if after is None else PositionToken.read(after)

    @field_validator("cuisine")
    @classmethod
    def _as_published(cls, cuisine: str | None) -> str | None:
        """The view keeps cuisines as tags (lower case); ``?cuisine=Italian`` finds them too."""
        return None if cuisine is None else cuisine_tag(cuisine)
