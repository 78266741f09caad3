"""The checkout API's bodies and views, and the collections checkout keeps."""

from __future__ import annotations

from pydantic import Field

from customer.account_bff.models import GivenAddress
from shared.api_models import RequestBody, ResponseView
from shared.contracts import MAX_AMOUNT

CARTS = "carts"
"""Each customer's priced cart, keyed by their subject."""
ORDERS = "orders"
"""Orders from checkout until the payment is settled, keyed by order id."""
RESTAURANTS = "checkout-restaurants"
"""Checkout's own copy of the restaurants, keyed by restaurant id."""
MENUS = "checkout-menus"
"""Checkout's own copy of the menus, keyed by restaurant id."""
ACCOUNTS = "checkout-accounts"
"""Checkout's copy of each customer's account from ``account-updated``, keyed by subject: the
saved delivery address and notification choice. Whether a card is saved checkout reads from
the account itself, with its token, at checkout (:mod:`customer.account_bff.card`)."""

TOKEN = r"^pm_[A-Za-z0-9_]{3,64}$"
MAX_QUANTITY = 50
"""The most of one dish a cart (and so an order) holds, on one line or added up over several."""
MAX_TOTAL = MAX_AMOUNT
"""The most a cart (and so an order) may come to, in minor units: the most any amount may
(:data:`~shared.contracts.MAX_AMOUNT`). Only dishes priced before Restaurant capped prices
can reach it."""


class CartLine(RequestBody):
    """A dish and how many of it."""

    menu_item_id: str = Field(min_length=1, max_length=100)
    """The dish's ``id`` on the restaurant's menu; the dish must be available."""
    quantity: int = Field(strict=True, ge=1, le=MAX_QUANTITY)
    """How many of the dish, 1 to 50: a whole number (``2``, not ``"2"``, ``2.0`` or
    ``true``)."""


class CartRequest(RequestBody):
    """The whole cart: dishes of one restaurant."""

    restaurant_id: str = Field(min_length=1, max_length=100)
    """The restaurant the dishes are from (its ``id`` in browse); it must be open."""
    items: list[CartLine] = Field(min_length=1, max_length=30)
    """The dishes, 1 to 30 lines; they replace whatever the cart held. Lines of the same
    dish become one line, where the dish first comes, with their quantities added up: at
    most 50 of a dish in all (422 naming the line that goes past it). The cart comes to at
    most 9,007,199,254,740,991 in the currency's minor unit (422 naming ``items``)."""


class PricedLine(ResponseView):
    """A cart line priced from the menu (``price`` per unit, in minor units)."""

    menu_item_id: str
    """The dish's id on the restaurant's menu."""
    name: str
    """The dish's name on the menu when the cart was priced."""
    quantity: int
    """How many of the dish."""
    price: int
    """The price of one when the cart was priced, in the cart's ``currency``'s minor unit."""


class Cart(ResponseView):
    """The priced cart; an empty cart has no restaurant and no currency."""

    restaurant_id: str | None
    """The restaurant the dishes are from; ``null`` for an empty cart."""
    items: list[PricedLine]
    """The priced lines, one per dish, in the order they were put; empty for an empty
    cart."""
    total: int
    """The sum of each line's ``price`` times its ``quantity``, in ``currency``'s minor unit
    (``0`` for an empty cart)."""
    currency: str | None
    """The ISO 4217 code of the prices and ``total``, the menu's (e.g. ``EUR``); ``null`` for
    an empty cart."""


EMPTY_CART = Cart(restaurant_id=None, items=[], total=0, currency=None)


class CheckoutRequest(RequestBody):
    """Where to deliver and how to pay; the account's saved ones when left out."""

    delivery_address: GivenAddress | None = None
    """Where to deliver this order; it must lie within the restaurant's delivery radius. Left
    out or ``null``: the account's saved delivery address."""
    payment_method: str | None = Field(default=None, pattern=TOKEN)
    """A card token from the payment processor (``pm_...``) to pay for this order only. Left
    out or ``null``: the account's saved card, as saved at checkout (a card changed or
    removed afterwards does not change what pays for this order)."""


class Checkout(ResponseView):
    """The order checkout created; it is placed once the payment is authorized."""

    order_id: str
    """The order's id: follow it at the tracking API's ``GET /orders/{order_id}``."""
    status: str
    """``pending-payment``: the new order awaits its payment's authorization. Only when the
    cart had become an order already (a checkout retried after a failure, with the same
    ``Idempotency-Key``) is it that order's status now (e.g. ``placed``, or
    ``payment-declined`` once its dishes came back to the cart)."""
    total: int
    """What the customer pays for the order (the cart's ``total``), in ``currency``'s minor
    unit."""
    currency: str
    """The ISO 4217 code of ``total`` (e.g. ``EUR``)."""
    push_topic: str
    """The push topic the app subscribes to for this order's notifications (see the
    tracking view's ``pushTopic``)."""
