"""The tracking views as the customer reads them."""

from __future__ import annotations

from typing import Literal

from shared.api_models import PageQuery, ResponseView

TRACKING = "tracking"
"""One view per order, keyed by order id; bookkeeping fields are never served."""


class CancelRequest(ResponseView):
    """The answer to a cancellation request: on its way; the order's ``cancellation`` then
    says what became of it."""

    order_id: str
    """The order the customer asked to cancel."""
    status: str
    """Always ``cancellation-requested``: the request is on its way."""


class Restaurant(ResponseView):
    """Where the order comes from."""

    id: str
    """The restaurant's id (as in the browse API)."""
    name: str
    """The restaurant's name at checkout."""


class Line(ResponseView):
    """One line of the order, as priced at checkout."""

    menu_item_id: str
    """The dish's id on the restaurant's menu."""
    name: str
    """The dish's name at checkout."""
    quantity: int
    """How many of the dish."""
    price: int
    """The price of one at checkout, in the order's ``currency``'s minor unit."""


class Driver(ResponseView):
    """Who brings the order."""

    name: str
    """The driver's name, as in their driver profile."""


class Location(ResponseView):
    """Where the driver last was."""

    lat: float
    """Latitude in decimal degrees (WGS 84), north positive."""
    lng: float
    """Longitude in decimal degrees (WGS 84), east positive."""


class Step(ResponseView):
    """A status the order reached, and when (epoch ms)."""

    status: str
    """The status reached: one of the order's ``status`` values."""
    at: int
    """When the order reached it, in epoch milliseconds (UTC)."""


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
    """``requested`` until the order's progress decides it, then ``granted`` (the order is
    cancelled) or ``refused``."""
    requested_at: int
    """When the customer first asked, in epoch milliseconds (UTC)."""
    decided_at: int | None
    """When the order reached the status that decided the request, in epoch milliseconds
    (UTC); ``null`` while it is ``requested``."""
    reason: str | None
    """Why the request was refused, in words for the customer (e.g. the restaurant had
    already accepted the order); ``null`` unless ``refused``."""


class Tracking(ResponseView):
    """Where an order stands, its driver, its payment and its history, when its food will be
    ready, and the customer's request to cancel it if they made one.

    ``driver`` (and ``location``) are ``null`` until a driver is assigned, and again when
    the driver hands the order back before picking it up, until another one is assigned.
    """

    id: str
    """The order's id."""
    customer_id: str
    """The id of the customer who ordered: the caller's token subject."""
    push_topic: str | None = None
    """The push topic of this order's notifications (the order's ``customerRef``): the
    customer's app subscribes to it at the push provider. It names neither the customer
    nor the account, so Delivery can notify without knowing who they are."""
    restaurant: Restaurant
    """The restaurant the order is from."""
    items: list[Line]
    """What was ordered, as priced at checkout."""
    total: int
    """What the customer pays: the sum of each line's ``price`` times its ``quantity``, in
    ``currency``'s minor unit."""
    currency: str
    """The ISO 4217 code of ``total`` and of every line's ``price`` (e.g. ``EUR``)."""
    status: str
    """Where the order stands: ``pending-payment``, ``placed`` (its payment authorized;
    not yet accepted), ``accepted`` (being prepared), ``ready`` (waiting for its driver),
    ``picked-up``, ``delivered``, ``cancelled`` or ``payment-declined``; it only moves on.
    Order's ``cancelled`` overrules a ``delivered`` only the driver reported (the order was
    cancelled as ``not-delivered``: its payment is voided)."""
    reason: str | None
    """Why the order was cancelled or its payment declined, ``null`` otherwise: ``customer``,
    ``payment-timeout``, ``rejected``, ``restaurant-timeout``, ``no-driver``,
    ``driver-no-show``, ``not-delivered``, or a payment decline code (e.g. ``card_declined``)."""
    detail: str | None
    """The restaurant's own words when it rejected the order; otherwise ``null``."""
    driver: Driver | None
    """Who brings the order; ``null`` until a driver is assigned, after one handed it back
    until the next is, and once the order is cancelled. Once it is delivered, who brought it
    (their ``location`` is no longer shown)."""
    location: Location | None
    """Where the driver last reported being, from the pickup on; ``null`` before it, and again
    once the order is delivered (the driver's last position is the customer's door, and where
    they go next is none of the customer's business) or ended undelivered."""
    payment: str
    """Where the payment stands: ``pending``, ``authorized``, ``declined``, ``cancelled`` (the
    order was cancelled before its payment was decided), ``captured`` (charged on delivery),
    ``voided`` (the authorization released) or ``refunded``."""
    history: list[Step]
    """Every status the order reached, once each, oldest first."""
    ready_by: int | None = None
    """When the food is ready, in epoch milliseconds (UTC), as Order last said: the time the
    restaurant expected when it accepted the order, then the time it marked the food ready.
    ``null`` until the restaurant accepted the order (and until it marks the food ready, if
    it gave no time when accepting), and once the order is cancelled or its payment
    declined. Once the order is picked up or delivered it stays as Order last said: when the
    food was ready, or the restaurant's estimate if it never marked it ready. News arriving
    late or twice never moves it back."""
    cancellation: Cancellation | None = None
    """The customer's request to cancel the order and what became of it; ``null``: they made
    none."""
    placed_at: int | None
    """When the order was placed, in epoch milliseconds (UTC): when the payment processor
    authorized its payment. ``null`` until then, and for an order never placed."""
    updated_at: int
    """The time of the latest change this view shows (an event or the cancellation request),
    in epoch milliseconds (UTC)."""


class OrderSummary(ResponseView):
    """One order in the customer's history, why it was cancelled or declined if it was, when
    its food will be ready, and the customer's request to cancel it if any."""

    id: str
    """The order's id: its tracking is at ``GET /orders/{order_id}``."""
    restaurant: Restaurant
    """The restaurant the order is from."""
    status: str
    """Where the order stands: ``pending-payment``, ``placed`` (its payment authorized;
    not yet accepted), ``accepted`` (being prepared), ``ready`` (waiting for its driver),
    ``picked-up``, ``delivered``, ``cancelled`` or ``payment-declined``; it only moves on."""
    total: int
    """What the customer pays for the order, in ``currency``'s minor unit."""
    currency: str
    """The ISO 4217 code of ``total`` (e.g. ``EUR``)."""
    reason: str | None = None
    """Why the order was cancelled or its payment declined, ``null`` otherwise, as in the
    order's tracking (``GET /orders/{order_id}``): ``customer``, ``payment-timeout``,
    ``rejected``, ``restaurant-timeout``, ``no-driver``, ``driver-no-show``,
    ``not-delivered``, or a payment decline code (e.g. ``card_declined``)."""
    ready_by: int | None = None
    """When the food is ready, in epoch milliseconds (UTC), as in the order's tracking
    (``GET /orders/{order_id}``)."""
    cancellation: Cancellation | None = None
    """The customer's request to cancel the order and what became of it; ``null``: they made
    none."""
    placed_at: int | None
    """When the order was placed, in epoch milliseconds (UTC): when the payment processor
    authorized its payment. ``null`` until then, and for an order never placed."""
    created_at: int
    """When the customer checked the order out, in epoch milliseconds (UTC), placed or not:
    the history is ordered by it, newest first, and ``?before=`` takes such a time."""


class OrderList(ResponseView):
    """A page of the customer's orders, newest first; ``next`` asks for the following page
    (``?after=<next>``), ``null`` on the last one."""

    orders: list[OrderSummary]
    """This page's orders, newest checkout first (then by id, descending); at most
    ``limit``."""
    next: str | None = None
    """The ``after`` of the following page (an opaque token); ``null`` on the last page.
    (It was a checkout time to send back as ``before``, which the history still takes.)"""


class HistoryQuery(PageQuery):
    """``?limit=`` orders per page, ``?after=`` the ``next`` of the page before (or
    ``?before=`` a time)."""
