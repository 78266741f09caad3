"""The Restaurant subsystem's published events (v1): its restaurants, menus and kitchen answers.

Amounts are integers in the currency's minor unit (cents); times are epoch milliseconds.

The kitchen's answers about one order (accepted, rejected, ready) are published in the
order the kitchen gave them, keyed by the order, but a consumer may hear them twice or out
of order (Pub/Sub redelivers, and the gateway's trigger is retried late): it orders one
order's answers by the envelope's ``timestamp`` (when the kitchen answered) and ignores a
repeat of an answer it has.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts import Contract, ContractModel, Currency, EpochMs, Id


class Address(ContractModel):
    """Where the restaurant is; pickup point for drivers."""

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


class RestaurantUpdated(Contract):
    """A restaurant's whole public profile, published each time a save changes it.

    It replaces the profile published before. A consumer may hear one twice, or an older
    one after a newer (Pub/Sub redelivers, a retried trigger publishes late): of one
    restaurant's profiles it keeps the latest, the one with the later envelope
    ``timestamp`` (when the profile was saved) and, of two with the same, the higher
    ``revision``; it drops the others. The restaurant's menu is another event
    (``restaurant.menu-updated``), with revisions of its own, and may arrive first."""

    TYPE: ClassVar[str] = "restaurant.restaurant-updated"
    ENTITY: ClassVar[str] = "restaurant"
    VERSION: ClassVar[int] = 1

    id: Id
    """The restaurant's id."""
    name: str
    """The restaurant's name."""
    cuisine: str
    """The kind of food, in the restaurant's words, lower case (e.g. ``pizza``): free text,
    not a fixed list."""
    address: Address
    """Where the restaurant is: the pickup point for drivers, from which its delivery
    radius is measured."""
    open: bool
    """Whether the restaurant takes orders now (``false``: none may be placed with it)."""
    ordering: Literal["kitchen", "pos"]
    """Where the restaurant gets its orders: ``kitchen`` (the kitchen queue of its kitchen
    app) or ``pos`` (its own point of sale). Values may be added: skip those you do not know."""
    delivery_radius_m: int | None = Field(default=None, ge=1, examples=[5000])
    """How far from the restaurant it delivers, in metres, as the crow flies (``null``: a
    profile saved before restaurants said; readers then apply no limit)."""
    revision: int | None = Field(default=None, ge=1, examples=[3])
    """Which save of the profile this is: 1 for the first, one more for each save that
    changed it. Of two events about one restaurant, the one with the higher revision is the
    later save, also when both carry the same time (two saves in one millisecond).
    ``null``: published before restaurants counted their saves; such an event is older
    than one of the same time that has a revision."""


class MenuItem(ContractModel):
    """One dish on a menu."""

    id: Id
    """The dish's id, unique on its menu; orders name it ``menuItemId``."""
    name: str
    """The dish's name."""
    description: str
    """The dish, described by the restaurant (may be empty)."""
    price: int = Field(ge=0)
    """The price of one, in ``currency``'s minor unit (cents)."""
    currency: Currency
    """The currency of ``price``: the same for every dish of the menu."""
    available: bool
    """Whether it can be ordered now (``false``: on the menu, but sold out)."""


class MenuUpdated(Contract):
    """A restaurant's whole menu, published each time a save changes it.

    It replaces the menu published before: a dish left out of it is off the menu and can
    no longer be ordered. A consumer may hear one twice, or an older one after a newer
    (Pub/Sub redelivers, a retried trigger publishes late): of one restaurant's menus it
    keeps the latest, the one with the later envelope ``timestamp`` (when the menu was
    saved) and, of two with the same, the higher ``revision``; it drops the others. The
    menu may arrive before its restaurant's profile (``restaurant.restaurant-updated``),
    whose revisions are counted apart."""

    TYPE: ClassVar[str] = "restaurant.menu-updated"
    ENTITY: ClassVar[str] = "menu"
    VERSION: ClassVar[int] = 1

    PARTITION_KEY: ClassVar[str] = "restaurant_id"

    restaurant_id: Id
    """The restaurant whose menu this is; also the events' partition key."""
    items: list[MenuItem]
    """Every dish on the menu, available or not, in the order the restaurant shows them;
    it replaces the menu published before."""
    revision: int | None = Field(default=None, ge=1, examples=[3])
    """Which save of the menu this is: 1 for the first, one more for each save that changed
    it. Of two events about one restaurant's menu, the one with the higher revision is the
    later save, also when both carry the same time (two saves in one millisecond).
    ``null``: published before restaurants counted their saves; such an event is older
    than one of the same time that has a revision."""


class OrderAccepted(Contract):
    """The kitchen took the order and will prepare it.

    One order's answers (accepted, rejected, ready) may arrive twice or out of order
    (Pub/Sub redelivers, a retried trigger publishes late): order them by the envelope's
    ``timestamp``, when the kitchen answered, and ignore a repeat of an answer you have."""

    TYPE: ClassVar[str] = "restaurant.order-accepted"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    """The order's id (as in ``order.order-status-changed``)."""
    restaurant_id: Id
    """The restaurant that accepted it."""
    prep_minutes: int = Field(ge=0, le=240)
    """How long the kitchen expects to take, in minutes from when it accepted the order: the
    envelope's ``timestamp``."""


class OrderRejected(Contract):
    """The kitchen refused the order: a new one, or one it accepted and cannot finish after
    all, until the driver collects it.

    One order's answers (accepted, rejected, ready) may arrive twice or out of order
    (Pub/Sub redelivers, a retried trigger publishes late): order them by the envelope's
    ``timestamp``, when the kitchen answered, and ignore a repeat of an answer you have."""

    TYPE: ClassVar[str] = "restaurant.order-rejected"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    """The order's id (as in ``order.order-status-changed``)."""
    restaurant_id: Id
    """The restaurant that refused it."""
    reason: str = Field(min_length=1, max_length=500)
    """Why, in the restaurant's own words."""


class OrderReady(Contract):
    """The order is packed and waiting for the driver.

    One order's answers (accepted, rejected, ready) may arrive twice or out of order
    (Pub/Sub redelivers, a retried trigger publishes late): order them by the envelope's
    ``timestamp``, when the kitchen answered, and ignore a repeat of an answer you have."""

    TYPE: ClassVar[str] = "restaurant.order-ready"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    """The order's id (as in ``order.order-status-changed``)."""
    restaurant_id: Id
    """The restaurant that prepared it."""
    ready_at: EpochMs
    """When the order was ready."""


PUBLISHED: tuple[type[Contract], ...] = (
    RestaurantUpdated,
    MenuUpdated,
    OrderAccepted,
    OrderRejected,
    OrderReady,
)
"""Every event this subsystem publishes, for the catalog and the contract tests."""
