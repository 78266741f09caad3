"""The Order subsystem's published events: the order's lifecycle, in v1 and v2.

Amounts are integers in the currency's minor unit (cents); times are epoch
milliseconds.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts import Contract, ContractModel, Currency, EpochMs, Id

OrderStatus = Literal["placed", "accepted", "ready", "picked-up", "delivered", "cancelled"]
Ordering = Literal["kitchen", "pos"]
"""Where the restaurant gets the order: its kitchen app or its own point of sale."""
CancelReason = Literal[
    "customer", "rejected", "restaurant-timeout", "no-driver", "driver-no-show", "not-delivered"
]


class Address(ContractModel):
    """A delivery or pickup address."""

    street: str
    city: str
    postcode: str
    lat: float
    lng: float


class RestaurantRef(ContractModel):
    """Where the order is prepared and picked up."""

    id: Id
    name: str
    address: Address


class OrderLine(ContractModel):
    """One line of the order."""

    menu_item_id: Id
    name: str
    quantity: int = Field(ge=1)
    price: int = Field(ge=0)


class OrderStatusChanged(Contract):
    """The order moved to ``status``; carries the whole order (event-carried state).

    ``deliveryAddress`` is always null now: v1's only reader is Restaurant,
    which does not need it (v2 carries it to Delivery and back to Customer).
    ``reason`` says why an order was cancelled; ``detail`` is the restaurant's
    own words when it rejected it. ``ordering`` says where the restaurant gets
    the order, decided once when it was placed (``null`` only for orders placed
    before the field was added).

    **Deprecated** since v2 (:class:`OrderStatusChangedV2`). The deprecation
    window: status-esg publishes v1 beside v2 for at least 90 days after v2
    shipped and until no consumer selects v1 (the contracts catalog lists the
    readers of each version; Restaurant is the last). Then v1's class and
    schema file are removed together.
    """

    TYPE: ClassVar[str] = "order.order-status-changed"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1

    id: Id
    customer_ref: Id
    restaurant: RestaurantRef
    items: list[OrderLine]
    total: int = Field(ge=0)
    currency: Currency
    status: OrderStatus
    # The catalog's example is a placed order: no reason, no detail (and, in v1, no address).
    reason: CancelReason | None = Field(default=None, examples=[None])
    detail: str | None = Field(default=None, examples=[None])
    delivery_address: Address | None = Field(default=None, examples=[None])
    ordering: Ordering | None = Field(default=None, examples=["kitchen"])
    changed_at: EpochMs


class Money(ContractModel):
    """An amount of money: an integer in the currency's minor unit (cents)."""

    amount: int = Field(ge=0)
    currency: Currency


class OrderLineV2(ContractModel):
    """One line of the order, its unit price as :class:`Money`."""

    menu_item_id: Id
    name: str
    quantity: int = Field(ge=1)
    price: Money


class Cancellation(ContractModel):
    """Why the order was cancelled; ``detail`` is the restaurant's own words, if any."""

    reason: CancelReason
    detail: str | None = None


class OrderStatusChangedV2(Contract):
    """The order moved to ``status``; carries the whole order (event-carried state).

    v2 of ``order.order-status-changed``, a breaking change from v1: money is
    ``{amount, currency}`` (``total`` and each line's ``price``) instead of an
    integer beside a separate ``currency``, and a cancellation is one object
    ``cancellation: {reason, detail}`` (``null`` unless ``status`` is
    ``cancelled``) instead of the loose ``reason`` and ``detail`` fields.
    ``deliveryAddress`` is present until the order is delivered or cancelled;
    ``ordering`` is as in v1. ``notifyCustomer`` says whether the customer wants
    push notifications about the order (their choice, passed on from Customer).
    ``readyBy`` is when the food is ready: as the
    restaurant said when it accepted the order, and once it is ready, when it
    was (``null`` before the restaurant accepted).
    Published beside v1 during v1's deprecation window.
    """

    TYPE: ClassVar[str] = "order.order-status-changed"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 2

    id: Id
    customer_ref: Id
    restaurant: RestaurantRef
    items: list[OrderLineV2]
    total: Money
    status: OrderStatus
    cancellation: Cancellation | None = Field(default=None, examples=[None])  # a placed order
    delivery_address: Address | None = None
    ordering: Ordering | None = Field(default=None, examples=["kitchen"])
    ready_by: EpochMs | None = Field(default=None, examples=[None])
    notify_customer: bool = True
    changed_at: EpochMs


PUBLISHED: tuple[type[Contract], ...] = (OrderStatusChanged, OrderStatusChangedV2)
"""Every event this subsystem publishes, for the catalog and the contract tests."""
