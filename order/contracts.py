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
    """Street and house number."""
    city: str
    """City or town."""
    postcode: str
    """Postal code, as written in the address's country."""
    lat: float
    """Latitude in decimal degrees (WGS 84), north positive."""
    lng: float
    """Longitude in decimal degrees (WGS 84), east positive."""


class RestaurantRef(ContractModel):
    """Where the order is prepared and picked up."""

    id: Id
    """The restaurant's id (as in ``restaurant.restaurant-updated``)."""
    name: str
    """The restaurant's name when the order was placed."""
    address: Address
    """Where the restaurant is: the pickup point."""


class OrderLine(ContractModel):
    """One line of the order."""

    menu_item_id: Id
    """The dish's id on the restaurant's menu (as in ``restaurant.menu-updated``)."""
    name: str
    """The dish's name when the order was placed."""
    quantity: int = Field(ge=1)
    """How many of the dish."""
    price: int = Field(ge=0)
    """The price of one, in ``currency``'s minor unit (cents)."""


class OrderStatusChanged(Contract):
    """The order moved to ``status``; carries the whole order (event-carried state).

    ``deliveryAddress`` is always null now: v1's only reader is Restaurant,
    which does not need it (v2 carries it to Delivery and back to Customer).
    ``reason`` says why an order was cancelled; ``detail`` is the restaurant's
    own words when it rejected it. ``ordering`` says where the restaurant gets
    the order, decided once when it was placed (``null`` only for orders placed
    before the field was added).

    Every status the order reaches is published, but one order's statuses may
    arrive out of order, and repeat: Order announces a status as soon as it
    decides it, and a retried announcement goes out after a later one. Keep the
    latest by ``changedAt`` (within one millisecond, by the lifecycle's order,
    ``cancelled`` last); one that creates something on a status should remember
    a cancellation that came first. An order may skip ``ready`` (the driver picked
    it up before the restaurant said it was ready), and ``cancelled`` may follow
    any status but ``delivered``, ``picked-up`` included. A status that replaces
    one announced earlier (a pickup heard after the restaurant's ``ready``, a
    cancellation) is never stamped before it, so the latest by ``changedAt`` is
    the order's status now.

    **Deprecated** since v2 of ``order.order-status-changed``. The deprecation
    window: status-esg publishes v1 beside v2 for at least 90 days after v2
    shipped and until no consumer selects v1 (the contracts catalog lists the
    readers of each version; Restaurant is the last). Then v1's class and
    schema file are removed together.
    """

    TYPE: ClassVar[str] = "order.order-status-changed"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 1
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("status",)

    id: Id
    """The order's id (as in ``customer.order-placed``)."""
    customer_ref: Id
    """The customer's per-order reference (as in ``customer.order-placed``)."""
    restaurant: RestaurantRef
    """Where the order is prepared and picked up."""
    items: list[OrderLine]
    """What was ordered."""
    total: int = Field(ge=0)
    """What the customer pays for the order, in ``currency``'s minor unit (cents)."""
    currency: Currency
    """The currency of ``total`` and of every line's ``price``."""
    status: OrderStatus
    """Where the order stands: ``placed``, ``accepted`` (the restaurant is preparing it),
    ``ready`` (packed, waiting for the driver), ``picked-up``, ``delivered`` or ``cancelled``.
    Values may be added: skip those you do not know."""
    # The catalog's example is a placed order: no reason, no detail (and, in v1, no address).
    reason: CancelReason | None = Field(default=None, examples=[None])
    """Why the order was cancelled, ``null`` unless ``status`` is ``cancelled``:
    ``customer`` (the customer asked), ``rejected`` (the restaurant refused it),
    ``restaurant-timeout`` (the restaurant did not answer in time), ``no-driver`` (no driver
    took it in time), ``driver-no-show`` (the driver did not pick it up in time) or
    ``not-delivered`` (picked up but not delivered in time). Values may be added: skip those
    you do not know."""
    detail: str | None = Field(default=None, examples=[None])
    """The restaurant's own words when it rejected the order; otherwise ``null``."""
    delivery_address: Address | None = Field(default=None, examples=[None])
    """Always ``null`` in v1 (v2 carries the address)."""
    ordering: Ordering | None = Field(default=None, examples=["kitchen"])
    """Where the restaurant gets the order: ``kitchen`` (its kitchen app) or ``pos`` (its
    own point of sale), decided once when the order was placed; ``null`` only for orders
    placed before the field was added. Values may be added: skip those you do not know."""
    answer_by: EpochMs | None = Field(default=None, examples=[1767226200000])
    """While the order is ``placed``: when the restaurant's time to accept or reject it runs
    out; after it the order is cancelled (``restaurant-timeout``) whatever the restaurant
    answers. ``null`` in any other status, and from producers before the field was added."""
    changed_at: EpochMs
    """When the order moved to ``status``."""


class Money(ContractModel):
    """An amount of money: an integer in the currency's minor unit (cents)."""

    amount: int = Field(ge=0)
    """The amount in ``currency``'s minor unit (cents)."""
    currency: Currency
    """The amount's currency."""


class OrderLineV2(ContractModel):
    """One line of the order, its unit price as money: ``{amount, currency}``."""

    menu_item_id: Id
    """The dish's id on the restaurant's menu (as in ``restaurant.menu-updated``)."""
    name: str
    """The dish's name when the order was placed."""
    quantity: int = Field(ge=1)
    """How many of the dish."""
    price: Money
    """The price of one."""


class Cancellation(ContractModel):
    """Why the order was cancelled; ``detail`` is the restaurant's own words, if any."""

    reason: CancelReason
    """Why: ``customer`` (the customer asked), ``rejected`` (the restaurant refused it),
    ``restaurant-timeout`` (the restaurant did not answer in time), ``no-driver`` (no driver
    took it in time), ``driver-no-show`` (the driver did not pick it up in time) or
    ``not-delivered`` (picked up but not delivered in time). Values may be added: skip those
    you do not know."""
    detail: str | None = None
    """The restaurant's own words when it rejected the order; otherwise ``null``."""


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

    Every status the order reaches is published, but one order's statuses may
    arrive out of order, and repeat: Order announces a status as soon as it
    decides it, and a retried announcement goes out after a later one. Keep the
    latest by ``changedAt`` (within one millisecond, by the lifecycle's order,
    ``cancelled`` last); one that creates something on a status should remember
    a cancellation that came first. An order may skip ``ready`` (the driver picked
    it up before the restaurant said it was ready), and ``cancelled`` may follow
    any status but ``delivered``, ``picked-up`` included. A status that replaces
    one announced earlier (a pickup heard after the restaurant's ``ready``, a
    cancellation) is never stamped before it, so the latest by ``changedAt`` is
    the order's status now.
    """

    TYPE: ClassVar[str] = "order.order-status-changed"
    ENTITY: ClassVar[str] = "order"
    VERSION: ClassVar[int] = 2
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("status",)

    id: Id
    """The order's id (as in ``customer.order-placed``)."""
    customer_ref: Id
    """The customer's per-order reference (as in ``customer.order-placed``)."""
    restaurant: RestaurantRef
    """Where the order is prepared and picked up."""
    items: list[OrderLineV2]
    """What was ordered."""
    total: Money
    """What the customer pays for the order."""
    status: OrderStatus
    """Where the order stands: ``placed``, ``accepted`` (the restaurant is preparing it),
    ``ready`` (packed, waiting for the driver), ``picked-up``, ``delivered`` or ``cancelled``.
    Values may be added: skip those you do not know."""
    cancellation: Cancellation | None = Field(default=None, examples=[None])  # a placed order
    """Why the order was cancelled; ``null`` unless ``status`` is ``cancelled``."""
    delivery_address: Address | None = None
    """Where the order goes; ``null`` once it is delivered or cancelled."""
    ordering: Ordering | None = Field(default=None, examples=["kitchen"])
    """Where the restaurant gets the order: ``kitchen`` (its kitchen app) or ``pos`` (its
    own point of sale), decided once when the order was placed; ``null`` only for orders
    placed before the field was added. Values may be added: skip those you do not know."""
    ready_by: EpochMs | None = Field(default=None, examples=[None])
    """When the food is ready: as the restaurant said when it accepted the order, and once
    it is ready, when it was; ``null`` before the restaurant accepted."""
    notify_customer: bool = True
    """Whether the customer wants push notifications about the order (their choice, passed
    on from Customer)."""
    answer_by: EpochMs | None = Field(default=None, examples=[1767226200000])
    """While the order is ``placed``: when the restaurant's time to accept or reject it runs
    out; after it the order is cancelled (``restaurant-timeout``) whatever the restaurant
    answers. ``null`` in any other status, and from producers before the field was added."""
    changed_at: EpochMs
    """When the order moved to ``status``."""


PUBLISHED: tuple[type[Contract], ...] = (OrderStatusChanged, OrderStatusChangedV2)
"""Every event this subsystem publishes, for the catalog and the contract tests."""
