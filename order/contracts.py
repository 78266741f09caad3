"""The Order subsystem's published events (v1): the order's lifecycle.

Amounts are integers in the currency's minor unit (cents); times are epoch
milliseconds.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts import Contract, ContractModel

OrderStatus = Literal["placed", "accepted", "ready", "picked-up", "delivered", "cancelled"]
CancelReason = Literal["rejected", "restaurant-timeout", "no-driver"]


class Address(ContractModel):
    """A delivery or pickup address."""

    street: str
    city: str
    postcode: str
    lat: float
    lng: float


class RestaurantRef(ContractModel):
    """Where the order is prepared and picked up."""

    id: str
    name: str
    address: Address


class OrderLine(ContractModel):
    """One line of the order."""

    menu_item_id: str
    name: str
    quantity: int = Field(ge=1)
    price: int = Field(ge=0)


class OrderStatusChanged(Contract):
    """The order moved to ``status``; carries the whole order (event-carried state).

    ``deliveryAddress`` is present only while the order is on its way
    (until ``delivered`` or ``cancelled``). ``reason`` says why an order was
    cancelled; ``detail`` is the restaurant's own words when it rejected it.
    """

    TYPE: ClassVar[str] = "order.order-status-changed"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: str
    customer_ref: str
    restaurant: RestaurantRef
    items: list[OrderLine]
    total: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    status: OrderStatus
    reason: CancelReason | None = None
    detail: str | None = None
    delivery_address: Address | None = None
    changed_at: int


PUBLISHED: tuple[type[Contract], ...] = (OrderStatusChanged,)
"""Every event this subsystem publishes, for the catalog and the contract tests."""
