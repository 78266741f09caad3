"""The checkout BFF's HTTP API: the caller's cart, and checkout into a new order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import flask

from customer.account_bff.card import saved_card_token
from customer.checkout_bff.area import require_delivery_area
from customer.checkout_bff.models import (
    ACCOUNTS,
    CARTS,
    EMPTY_CART,
    ORDERS,
    Cart,
    CartRequest,
    Checkout,
    CheckoutRequest,
)
from customer.checkout_bff.orders import CHECKOUT_ASKED, DECLINED, new_order
from customer.checkout_bff.pricing import PricedCart, Unpriceable, price
from customer.checkout_bff.trigger import RESTORED_FROM
from shared import ids
from shared.api import HttpApi, HttpError
from shared.idempotency_keys import fingerprint

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.auth import Principal
    from shared.stores import AbstractDocumentStore, Doc


EMPTY_CART_REFUSAL = (
    "the cart is empty: if you just checked out, the order is among your orders "
    "(GET /orders on the tracking API); fill the cart (PUT /cart) to order again"
)
"""Why a checkout of an empty cart is refused: a second click sent without an
``Idempotency-Key`` finds the cart the first one ordered gone. The same words for every
empty cart, so the answer tells nothing of any order."""
DECLINED_AGAIN_REFUSAL = (
    "this checkout asks what the one before it asked, whose payment was declined (a second "
    "click?): nothing was ordered, and the card was not asked again. The dishes are back in "
    "the cart (GET /cart): to pay for them, name another card or save another, or send the "
    "checkout with an Idempotency-Key to try the same card again"
)
"""Why a checkout without an ``Idempotency-Key`` that repeats one whose payment was declined
is refused: the decline put the dishes back in the cart, so a second click arriving after it
would find them there and order them again, asking the processor to charge the card it just
declined a second time."""


def http_app(ports: CustomerPorts) -> flask.Flask:
    """The Flask app serving ``/cart`` and ``/checkout``; the cart is always the caller's."""
    api = HttpApi("Customer checkout", ports.verifier, store=ports.store)
    store = ports.store

    @api.route("GET", "/cart", actors={"customer"}, response=Cart)
    def get_cart(caller: Principal) -> Cart:
        """The caller's cart, as priced when it was last put."""
        doc = store.get(CARTS, caller.subject)
        return EMPTY_CART if doc is None else Cart.model_validate(doc)

    @api.route(
        "PUT",
        "/cart",
        actors={"customer"},
        body=CartRequest,
        response=Cart,
        refusals={
            422: "the cart cannot be ordered (unknown restaurant or dish, closed, unavailable, "
            "more than 50 of a dish, a total beyond what one order may come to)"
        },
    )
    def put_cart(caller: Principal, body: CartRequest) -> Cart:
        """Replace the caller's cart; it is priced from the restaurant's current menu, and
        lines of the same dish become one."""
        wanted = [(line.menu_item_id, line.quantity) for line in body.items]
        doc = _cart_version(body.restaurant_id, _price(store, body.restaurant_id, wanted))
        store.put(CARTS, caller.subject, doc)
        return Cart.model_validate(doc)

    @api.route("DELETE", "/cart", actors={"customer"}, status=204)
    def delete_cart(caller: Principal) -> None:
        """Empty the caller's cart."""
        store.delete(CARTS, caller.subject)

    @api.route(
        "POST",
        "/checkout",
        actors={"customer"},
        body=CheckoutRequest,
        response=Checkout,
        status=201,
        idempotent=True,
        refusals={
            409: "the cart is empty (an order checked out from it is in the tracking API's "
            "GET /orders), the menu changed since it was filled (the cart now holds the "
            "menu as it is), or the request repeats, without an Idempotency-Key, the checkout "
            "whose declined payment put the dishes back in the cart (a second click)",
            422: "the cart cannot be ordered, no delivery address is known or no card is given "
            "or saved, or the restaurant does not deliver to the address",
        },
    )
    def checkout(caller: Principal, body: CheckoutRequest) -> Checkout:
        """Order the caller's cart; the order is placed once the payment is authorized."""
        cart = _versioned(store, caller.subject)
        if cart is None:
            raise HttpError(409, EMPTY_CART_REFUSAL)
        ordered_version: str = cart["checkoutId"]
        made = store.get(ORDERS, ordered_version)
        if made is not None:  # a retry of a checkout that made the order and then failed
            return _consumed(store, caller.subject, ordered_version, made)
        key = _checkout_key()
        first = _first_try(store, cart, key)
        if first is not None:  # a retry of one whose order gave its dishes back since
            return _answer(first)
        account = store.get(ACCOUNTS, caller.subject)
        # The saved card pays as it is now: one changed or removed after checkout does not.
        card = body.payment_method or saved_card_token(store, caller.subject)
        address, card = _delivery_and_payment(body, account, card)
        asked = fingerprint(body.model_dump(mode="json", by_alias=True), card)
        if key is None and _repeats_a_decline(store, cart, asked):
            raise HttpError(409, DECLINED_AGAIN_REFUSAL, {"paymentMethod": "declined"})
        wanted = [(line["menuItemId"], line["quantity"]) for line in cart["items"]]
        priced = _price(store, cart["restaurantId"], wanted)
        if _as_shown(priced.lines, priced.currency) != _as_shown(cart["items"], cart["currency"]):
            _refuse_repriced(store, caller.subject, cart, priced)
        if priced.total <= 0:
            raise HttpError(422, "there is nothing to pay", {"items": "the total must be above 0"})
        require_delivery_area(priced.restaurant, address)
        order = new_order(
            ordered_version,
            caller.subject,
            priced,
            address,
            card,
            ports.clock.now_ms(),
            notify_customer=(account or {}).get("notifications", True),
            checkout_key=key,
            asked=asked,
        )
        if not store.create(ORDERS, order["id"], order):
            order = store.get(ORDERS, order["id"]) or order  # a concurrent checkout's
        return _consumed(store, caller.subject, ordered_version, order)

    return api.flask_app()


def _versioned(store: AbstractDocumentStore, customer: str) -> Doc | None:
    """The customer's cart, ``None`` if empty; one put before carts were versioned is given
    its version first, in one atomic write, so that checkouts of it at once make one order."""
    cart = store.get(CARTS, customer)
    if cart is None or cart.get("checkoutId"):
        return cart
    version = str(ids.new_uuid())
    fixed = store.update(
        CARTS,
        customer,
        lambda now: {**now, "checkoutId": version} if now and not now.get("checkoutId") else None,
    )
    return fixed if fixed is not None else store.get(CARTS, customer)


def _consumed(store: AbstractDocumentStore, customer: str, version: str, order: Doc) -> Checkout:
    """Consume the cart ``version`` that became ``order``, and answer the order.

    Only that version: a declined payment may have restored the dishes as a new one.
    """
    store.delete_if(CARTS, customer, lambda now: now.get("checkoutId") == version)
    return _answer(order)


def _answer(order: Doc) -> Checkout:
    """The answer of a checkout that made ``order``."""
    return Checkout(
        order_id=order["id"],
        status=order["status"],
        total=order["total"],
        currency=order["currency"],
        push_topic=order["customerRef"],
    )


def _checkout_key() -> str | None:
    """The digest of the request's ``Idempotency-Key``; ``None`` without one."""
    key = flask.request.headers.get("Idempotency-Key")
    return fingerprint(key) if key else None


def _first_try(store: AbstractDocumentStore, cart: Doc, key: str | None) -> Doc | None:
    """The order a request with ``key`` made from the cart ``cart`` was put back from, if it
    did: a retry of that checkout (its first try died before it answered, the key was freed,
    and the order was declined or cancelled meanwhile) answers that order, as a retry of one
    that answered would, and leaves the dishes for the customer's next checkout."""
    source = cart.get(RESTORED_FROM)
    if key is None or source is None:
        return None
    order = store.get(ORDERS, source)
    return order if order is not None and order.get("checkoutKey") == key else None


def _repeats_a_decline(store: AbstractDocumentStore, cart: Doc, asked: str) -> bool:
    """Whether a checkout without an ``Idempotency-Key`` asking ``asked`` (the digest of its
    body and the card that would pay) repeats the one whose order ``cart`` was put back from:
    one without a key either, which asked the same, and whose payment was declined. A
    second click that arrives after the decline put the dishes back would otherwise order
    them again, with the card just declined; a checkout naming another card, after another
    card was saved, or sent with a key, is the customer's own new try."""
    source = cart.get(RESTORED_FROM)
    if source is None:
        return False
    order = store.get(ORDERS, source)
    return (
        order is not None
        and order["status"] == DECLINED
        and order.get("checkoutKey") is None
        and order.get(CHECKOUT_ASKED) == asked
    )


def _cart_version(restaurant_id: str, priced: PricedCart) -> Doc:
    """A new version of a cart, as stored; it becomes at most one order, whose id it fixes."""
    cart = Cart.model_validate(
        {
            "restaurantId": restaurant_id,
            "items": priced.lines,
            "total": priced.total,
            "currency": priced.currency,
        }
    )
    return {**cart.model_dump(mode="json", by_alias=True), "checkoutId": str(ids.new_uuid())}


def _as_shown(lines: Sequence[Doc], currency: str | None) -> tuple[object, ...]:
    """What the customer saw of a cart: each line's dish, name, quantity and price."""
    fields = ("menuItemId", "name", "quantity", "price")
    return currency, [tuple(line[f] for f in fields) for line in lines]


def _refuse_repriced(
    store: AbstractDocumentStore, customer: str, cart: Doc, priced: PricedCart
) -> None:
    """The menu changed since the cart was filled (a price or a dish's name, even with the
    same total): store the cart as the menu prices it now (unless the customer changed it
    meanwhile) and refuse, so they see what they would order and pay."""
    repriced = _cart_version(cart["restaurantId"], priced)
    seen = cart.get("checkoutId")
    store.update(
        CARTS, customer, lambda now: repriced if now and now.get("checkoutId") == seen else None
    )
    raise HttpError(
        409,
        f"the menu changed since the cart was filled: it now costs {priced.total} "
        f"{priced.currency} (was {cart['total']} {cart['currency']}); check the cart "
        "(GET /cart) and check out again to order that",
        {"total": f"now {priced.total}"},
    )


def _price(
    store: AbstractDocumentStore, restaurant_id: str, wanted: Sequence[tuple[str, int]]
) -> PricedCart:
    try:
        return price(store, restaurant_id, wanted)
    except Unpriceable as e:
        raise HttpError(422, f"the cart cannot be ordered: {e}", e.fields) from e


def _delivery_and_payment(
    body: CheckoutRequest, known: Doc | None, card: str | None
) -> tuple[Doc, str]:
    """The address, and the card token that pays (``card``: the one the request gave, else
    the account's saved card, read from the account itself; it never travels in an event).

    Checkout knows saved addresses from ``account-updated`` events, so one saved a moment
    ago may not have reached it yet; the message says so. The card has no such delay.
    """
    account = known or {}
    given = body.delivery_address
    address: Doc | None = given.model_dump(mode="json") if given else account.get("deliveryAddress")
    missing: dict[str, str] = {}
    if address is None:
        missing["deliveryAddress"] = (
            "none given and none saved in the account (one saved a moment ago reaches "
            "checkout within seconds)"
            if known is not None
            else "none given, and checkout knows no account of yours yet "
            "(a new account reaches it within seconds)"
        )
    if card is None:
        missing["paymentMethod"] = (
            "none given and no card saved in the account (PUT /me/payment-method on the "
            "account API)"
        )
    if address is None or card is None:
        raise HttpError(422, "checkout needs " + " and ".join(missing), missing)
    return address, card
