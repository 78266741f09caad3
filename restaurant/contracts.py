"""The Restaurant subsystem's published events (v1): its restaurants, menus and kitchen answers.

Amounts are integers in the currency's minor unit (cents); times are epoch milliseconds.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts import Contract, ContractModel, Currency, EpochMs, Id


class Address(ContractModel):
    """Where the restaurant is; pickup point for drivers."""

    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class RestaurantUpdated(Contract):
    """A restaurant's public profile, published whenever it changes."""

    TYPE: ClassVar[str] = "restaurant.restaurant-updated"
    ENTITY: ClassVar[str] = "restaurant"
    VERSION: ClassVar[int] = 1

    id: Id
    name: str
    cuisine: str
    address: Address
    open: bool
    ordering: Literal["kitchen", "pos"]
    """``kitchen``: orders go to the kitchen queue; ``pos``: to the restaurant's own system."""
    delivery_radius_m: int | None = Field(default=None, ge=1, examples=[5000])
    """How far from the restaurant it delivers, in metres, as the crow flies (``null``: a
    profile saved before restaurants said; readers then apply no limit)."""


class MenuItem(ContractModel):
    """One dish on a menu."""

    id: Id
    name: str
    description: str
    price: int = Field(ge=0)
    currency: Currency
    available: bool


class MenuUpdated(Contract):
    """A restaurant's whole menu, published whenever it changes."""

    TYPE: ClassVar[str] = "restaurant.menu-updated"
    ENTITY: ClassVar[str] = "menu"
    VERSION: ClassVar[int] = 1

    restaurant_id: Id
    items: list[MenuItem]


class OrderAccepted(Contract):
    """The kitchen took the order and will prepare it."""

    TYPE: ClassVar[str] = "restaurant.order-accepted"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    restaurant_id: Id
    prep_minutes: int = Field(ge=0, le=240)


class OrderRejected(Contract):
    """The kitchen refused the order: a new one, or one it accepted and cannot finish after
    all, until the driver collects it."""

    TYPE: ClassVar[str] = "restaurant.order-rejected"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    restaurant_id: Id
    reason: str = Field(min_length=1, max_length=500)


class OrderReady(Contract):
    """The order is packed and waiting for the driver."""

    TYPE: ClassVar[str] = "restaurant.order-ready"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    restaurant_id: Id
    ready_at: EpochMs


PUBLISHED: tuple[type[Contract], ...] = (
    RestaurantUpdated,
    MenuUpdated,
    OrderAccepted,
    OrderRejected,
    OrderReady,
)
"""Every event this subsystem publishes, for the catalog and the contract tests."""
