"""The order document checkout creates, and its moves once the payment is decided."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.checkout_bff.models import ORDERS
from shared import ids

if TYPE_CHECKING:
    from customer.checkout_bff.pricing import PricedCart
    from shared.stores import AbstractDocumentStore, Doc

PENDING = "pending-payment"
PLACED = "placed"
DECLINED = "payment-declined"
CANCELLED = "cancelled"
"""Given up before it was placed: the customer cancelled it, or its payment took too long."""
NEVER_PLACED = frozenset({DECLINED, CANCELLED})
"""The final statuses of an order that never reached Order."""
CHECKOUT_ASKED = "checkoutAsked"
"""The field in which an order keeps the digest of what its checkout asked (its request's
body and the card that pays): a digest, never the token itself, which is forgotten once the
payment is decided."""


def new_order(
    order_id: str,
    customer_id: str,
    cart: PricedCart,
    delivery_address: Doc,
    payment_method: str,
    now_ms: int,
    *,
    notify_customer: bool = True,
    checkout_key: str | None = None,
    asked: str | None = None,
) -> Doc:
    """An order awaiting payment, known outside only by a fresh random ``customerRef``.

    ``paymentMethod`` is the card token that pays: the one the checkout request named,
    else the account's saved card as it was at checkout (checkout refuses an order with
    neither; orders checked out before it fixed the saved card may hold ``None``, which
    payment-esg reads as the account's card). It stays in this document, no event carries
    it, and it is forgotten once payment-esg announces the payment's outcome
    (:func:`payment_decided`), or finds the order cancelled before it asked the processor
    anything.
    ``notifyCustomer`` is the account's choice at checkout, passed on with the order.
    ``checkoutKey`` is the digest of the checkout request's ``Idempotency-Key`` (``None``
    without one), so that a retry of it still knows the order once its cart was restored.
    ``checkoutAsked`` is ``asked``, the digest of what the checkout asked (its body and the
    card that pays), so that the same request sent again without a key, a second click, is
    told from a new try once a declined payment put the dishes back.
    """
    restaurant = cart.restaurant
    return {
        "id": order_id,
        "customerId": customer_id,
        "customerRef": ids.new_uuid().hex,
        "restaurant": {k: restaurant[k] for k in ("id", "name", "address")},
        "items": cart.lines,
        "total": cart.total,
        "currency": cart.currency,
        "deliveryAddress": delivery_address,
        "paymentMethod": payment_method,
        "notifyCustomer": notify_customer,
        "checkoutKey": checkout_key,
        CHECKOUT_ASKED: asked,
        "status": PENDING,
        "createdAt": now_ms,
    }


def leave_pending(store: AbstractDocumentStore, order_id: str, changes: Doc) -> bool:
    """Apply ``changes`` if the order still awaits its payment (a repeated outcome is a no-op);
    whether they were applied."""
    moved = store.update(
        ORDERS,
        order_id,
        lambda order: {**order, **changes} if order and order["status"] == PENDING else None,
    )
    return moved is not None


def payment_decided(store: AbstractDocumentStore, order_id: str, changes: Doc) -> None:
    """Apply the payment's outcome ``changes`` if the order still awaits it, and forget the
    card token its checkout request named, whatever the order's status.

    payment-esg announces an outcome once it has stored the processor's answer,
    so it never needs the token again: a retry asks with the card its attempt noted.
    """

    def decide(order: Doc | None) -> Doc | None:
        if order is None:
            return None
        decided = {**order, **changes} if order["status"] == PENDING else dict(order)
        if decided.get("paymentMethod") is not None:
            decided["paymentMethod"] = None
        return decided if decided != order else None

    store.update(ORDERS, order_id, decide)


def give_up(store: AbstractDocumentStore, order_id: str, reason: str, now_ms: int) -> bool:
    """Cancel the order for ``reason`` if it still awaits its payment; whether it did.

    Its payment may still be authorized afterwards: payment-esg then voids it.
    """
    changes = {"status": CANCELLED, "reason": reason, "cancelledAt": now_ms}
    return leave_pending(store, order_id, changes)
