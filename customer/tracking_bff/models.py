"""The tracking views as the customer reads them."""

from __future__ import annotations

from typing import Literal

from shared.api_models import ResponseView
from shared.stores.paging import PageQuery

TRACKING = "tracking"
"""One view per order, keyed by order id; bookkeeping fields are never served."""


class CancelRequest(ResponseView):
    """The answer to a cancellation request: on its way; the order's ``cancellation`` then
    says what became of it."""

    order_id: str
    status: str


class Restaurant(ResponseView):
    """Where the order comes from."""

    id: str
    name: str


class Line(ResponseView):
    """One line of the order, as priced at checkout."""

    menu_item_id: str
    name: str
    quantity: int
    price: int


class Driver(ResponseView):
    """Who brings the order."""

    name: str


class Location(ResponseView):
    """Where the driver last was."""

    lat: float
    lng: float


class Step(ResponseView):
    """A status the order reached, and when (epoch ms)."""

    status: str
    at: int


class Cancellation(ResponseView):
    """The customer's request to cancel the order (made at ``requestedAt``, epoch ms), and what
    became of it.

    ``requested`` until the order's progress decides it: ``granted`` once the
    order is cancelled for the customer (reason ``customer``); ``refused`` when it
    moved on past ``placed`` first (the restaurant had accepted it) or ended
    otherwise, and ``reason`` says which. ``decidedAt`` is when the order reached
    the status that decided it, earlier than ``requestedAt`` if that came first.
    """

    status: Literal["requested", "granted", "refused"]
    requested_at: int
    decided_at: int | None
    reason: str | None


class Tracking(ResponseView):
    """Where an order stands, its driver, its payment and its history, and the customer's
    request to cancel it if they made one.

    ``driver`` (and ``location``) are ``null`` until a driver is assigned, and again when
    the driver hands the order back before picking it up, until another one is assigned.
    """

    id: str
    customer_id: str
    push_topic: str | None = None
    """The push topic of this order's notifications (the order's ``customerRef``): the
    customer's app subscribes to it at the push provider. It names neither the customer
    nor the account, so Delivery can notify without knowing who they are."""
    restaurant: Restaurant
    items: list[Line]
    total: int
    currency: str
    status: str
    reason: str | None
    detail: str | None
    driver: Driver | None
    location: Location | None
    payment: str
    history: list[Step]
    cancellation: Cancellation | None = None
    placed_at: int | None
    updated_at: int


class OrderSummary(ResponseView):
    """One order in the customer's history, with the customer's request to cancel it if any."""

    id: str
    restaurant: Restaurant
    status: str
    total: int
    currency: str
    cancellation: Cancellation | None = None
    placed_at: int | None


class OrderList(ResponseView):
    """A page of the customer's orders, newest first; ``next`` asks for the following page
    (``?before=<next>``), ``None`` on the last one."""

    orders: list[OrderSummary]
    next: int | None = None


class HistoryQuery(PageQuery):
    """``?limit=`` orders per page, ``?before=`` the ``next`` of the page before."""
