"""The checkout API's bodies and views, and the collections checkout keeps."""

from __future__ import annotations

from pydantic import Field

from customer.contracts import Address
from shared.api_models import RequestBody, ResponseView

CARTS = "carts"
"""Each customer's priced cart, keyed by their subject."""
ORDERS = "orders"
"""Orders from checkout until the payment is settled, keyed by order id."""
RESTAURANTS = "checkout-restaurants"
"""Checkout's own copy of the restaurants, keyed by restaurant id."""
MENUS = "checkout-menus"
"""Checkout's own copy of the menus, keyed by restaurant id."""
ACCOUNTS = "checkout-accounts"
"""Each customer's saved delivery address and whether a card is saved, keyed by subject."""

TOKEN = r"^pm_[A-Za-z0-9_]{3,64}$"


class CartLine(RequestBody):
    """A dish and how many of it."""

    menu_item_id: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=50)


class CartRequest(RequestBody):
    """The whole cart: dishes of one restaurant."""

    restaurant_id: str = Field(min_length=1, max_length=100)
    items: list[CartLine] = Field(min_length=1, max_length=30)


class PricedLine(ResponseView):
    """A cart line priced from the menu (``price`` per unit, in minor units)."""

    menu_item_id: str
    name: str
    quantity: int
    price: int


class Cart(ResponseView):
    """The priced cart; an empty cart has no restaurant and no currency."""

    restaurant_id: str | None
    items: list[PricedLine]
    total: int
    currency: str | None


EMPTY_CART = Cart(restaurant_id=None, items=[], total=0, currency=None)


class CheckoutRequest(RequestBody):
    """Where to deliver and how to pay; the account's saved ones when left out."""

    delivery_address: Address | None = None
    payment_method: str | None = Field(default=None, pattern=TOKEN)


class Checkout(ResponseView):
    """The order checkout created; it is placed once the payment is authorized."""

    order_id: str
    status: str
    total: int
    currency: str
    push_topic: str
    """The push topic the app subscribes to for this order's notifications (see the
    tracking view's ``pushTopic``)."""
