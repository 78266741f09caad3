"""Which card pays for an order: read where it is kept, never from an event.

Card tokens stay in the documents that own them, so deleting a card deletes
its token; events, which the lake keeps for good, carry none. The order names
the token its checkout request gave, or none for the account's saved card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.account_bff.models import ACCOUNTS
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
    account = store.get(ACCOUNTS, order["customerId"])
    card = (account or {}).get("paymentMethod")
    return str(card["token"]) if card else None


def forget_card(store: AbstractDocumentStore, order_id: str) -> None:
    """Drop the card token the order's checkout named, when nothing will charge it any more."""

    def forget(order: Doc | None) -> Doc | None:
        if order is None or order.get("paymentMethod") is None:
            return None
        return {**order, "paymentMethod": None}

    store.update(ORDERS, order_id, forget)
