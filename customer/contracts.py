"""The Customer subsystem's published events (v1).

No payment details, e-mail, phone or account id leave the subsystem: the
customer is known outside only by ``customerRef``, an opaque per-order
reference. Amounts are integers in the currency's minor unit (cents); times
are epoch milliseconds.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.contracts import Contract, ContractModel, Currency, EpochMs, Id


class Address(ContractModel):
    """A delivery or pickup address."""

    street: str = Field(min_length=1, max_length=200)
    """Street and house number."""
    city: str = Field(min_length=1, max_length=100)
    """City or town."""
    postcode: str = Field(min_length=1, max_length=20)
    """Postal code, as written in the address's country."""
    lat: float = Field(ge=-90, le=90, strict=True)
    """Latitude in decimal degrees (WGS 84), north positive."""
    lng: float = Field(ge=-180, le=180, strict=True)
    """Longitude in decimal degrees (WGS 84), east positive."""


class RestaurantRef(ContractModel):
    """The restaurant as the customer ordered from it."""

    id: Id
    """The restaurant's id (as in ``restaurant.restaurant-updated``)."""
    name: str
    """The restaurant's name when the order was placed."""
    address: Address
    """Where the restaurant is: the pickup point."""


class OrderLine(ContractModel):
    """One line of an order, priced when it was placed."""

    menu_item_id: Id
    """The dish's id on the restaurant's menu (as in ``restaurant.menu-updated``)."""
    name: str
    """The dish's name when the order was placed."""
    quantity: int = Field(ge=1, le=50)
    """How many of the dish."""
    price: int = Field(ge=0)
    """The price of one, in the order's currency's minor unit (cents)."""


class OrderPlaced(Contract):
    """A customer paid (authorized) for an order; Order takes it from here."""

    TYPE: ClassVar[str] = "customer.order-placed"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    """The order's id, chosen by Customer: every later event about the order carries it."""
    customer_ref: Id
    """The customer, for this order only: a fresh random reference per order, never the
    customer's account id, so orders cannot be linked to one another by it."""
    restaurant: RestaurantRef
    """The restaurant the order is from."""
    items: list[OrderLine] = Field(min_length=1)
    """What was ordered: at least one line."""
    total: int = Field(ge=0)
    """What the customer pays for the order (authorized, not yet captured), in
    ``currency``'s minor unit (cents)."""
    currency: Currency
    """The currency of ``total`` and of every line's ``price``."""
    delivery_address: Address
    """Where the order is to be delivered."""
    placed_at: EpochMs
    """When the customer placed (and paid for) the order."""
    notify_customer: bool = True
    """Whether the customer wants push notifications about the order (their account's
    choice at checkout)."""


class OrderCancelRequested(Contract):
    """The customer asked to cancel an order. Order decides when the request arrives: it
    cancels the order if it is still placed then, and otherwise leaves it as it is
    (``requestedAt`` is for information)."""

    TYPE: ClassVar[str] = "customer.order-cancel-requested"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    """The id of the order to cancel (as in ``customer.order-placed``)."""
    requested_at: EpochMs
    """When the customer asked."""


PUBLISHED: tuple[type[Contract], ...] = (OrderPlaced, OrderCancelRequested)
"""Every event this subsystem publishes, for the catalog and the contract tests."""
