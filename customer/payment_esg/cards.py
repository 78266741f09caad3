"""Which card pays for an order: read where it is kept, never from an event.

Card tokens stay in the documents that own them, so deleting a card deletes
its token (an order keeps the one paying for it only until the payment's outcome);
events, which the lake keeps for good, carry none. The order names the token its
checkout request gave, or the account's saved card as checkout found it; one that
names none (checked out before checkout fixed the saved card, or whose saved card
went just before checkout) is paid with the account's card, if it has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.account_bff.card import saved_card_token
from customer.checkout_bff.models import ORDERS

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Doc


def card_token(store: AbstractDocumentStore, order: Doc | None) -> str | None:
    """The token to charge for ``order`` (its document as read), or ``None`` when it has no
    card any more."""
    if order is None:
        return None
    if order.get("paymentMethod"):
        return str(order["paymentMethod"])
    return saved_card_token(store, order["customerId"])


def forget_card(store: AbstractDocumentStore, order_id: str) -> None:
    """Drop the card token the order's checkout named, when nothing will charge it any more."""

    def forget(order: Doc | None) -> Doc | None:
        if order is None or order.get("paymentMethod") is None:
            return None
        return {**order, "paymentMethod": None}

    store.update(ORDERS, order_id, forget)
