"""Announce what other services need of an account, when that changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.events import ACCOUNT_UPDATED
from shared.stores.revisions import REVISION

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.runtime.context import Context
    from shared.stores import Doc, DocumentChange


def announce_account(change: DocumentChange, ctx: Context[CustomerPorts]) -> None:
    """Emit ``account-updated`` when the delivery address, whether a card is saved or whether
    the customer wants notifications changed, with the save's ``revision`` (``None`` for an
    account saved before saves were counted): two saves in one millisecond share their time."""
    if change.after is None:
        return
    after = checkout_details(change.after)
    if change.before is None or checkout_details(change.before) != after:
        body = {**after, REVISION: change.after.get(REVISION)}
        ctx.emit(ACCOUNT_UPDATED, "account", body, partition_key=change.key)


def checkout_details(account: Doc) -> Doc:
    """The part of an account checkout uses: ``{id, deliveryAddress, hasPaymentMethod,
    notifications}``.

    Never the card's token: events are kept for good in the lake, and a token
    must be deletable with the card. Checkout reads the saved card from the
    account itself when the customer checks out (:mod:`customer.account_bff.card`).
    """
    return {
        "id": account["id"],
        "deliveryAddress": account.get("deliveryAddress"),
        "hasPaymentMethod": account.get("paymentMethod") is not None,
        "notifications": account.get("preferences", {}).get("notifications", True),
    }
