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
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class RestaurantRef(ContractModel):
    """The restaurant as the customer ordered from it."""

    id: Id
    name: str
    address: Address


class OrderLine(ContractModel):
    """One line of an order, priced when it was placed."""

    menu_item_id: Id
    name: str
    quantity: int = Field(ge=1, le=50)
    price: int = Field(ge=0)


class OrderPlaced(Contract):
    """A customer paid (authorized) for an order; Order takes it from here."""

    TYPE: ClassVar[str] = "customer.order-placed"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    customer_ref: Id
    restaurant: RestaurantRef
    items: list[OrderLine] = Field(min_length=1)
    total: int = Field(ge=0)
    currency: Currency
    delivery_address: Address
    placed_at: EpochMs
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
    requested_at: EpochMs


PUBLISHED: tuple[type[Contract], ...] = (OrderPlaced, OrderCancelRequested)
"""Every event this subsystem publishes, for the catalog and the contract tests."""
