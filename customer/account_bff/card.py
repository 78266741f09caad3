"""The saved card's token, read from the account that keeps it.

No event carries a card token (the lake keeps events for good, and a token must
be deletable with its card), so the services that charge the saved card read it
here: checkout fixes it on the order it creates, and payment-esg falls back to it
for an order that names none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.account_bff.models import ACCOUNTS

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore


def saved_card_token(store: AbstractDocumentStore, customer_id: str) -> str | None:
    """The token of the card ``customer_id`` has saved now; ``None`` when they have none."""
    account = store.get(ACCOUNTS, customer_id)
    card = (account or {}).get("paymentMethod")
    return str(card["token"]) if card else None
