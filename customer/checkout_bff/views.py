"""Checkout's own copies of restaurants, menus and accounts, and the payment outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.checkout_bff.models import ACCOUNTS, MENUS, RESTAURANTS
from customer.checkout_bff.orders import DECLINED, PLACED, payment_decided
from customer.events import (
    ACCOUNT_UPDATED,
    MENU_UPDATED,
    PAYMENT_AUTHORIZED,
    PAYMENT_DECLINED,
    RESTAURANT_UPDATED,
)
from shared.stores import apply_event

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

COPY_OF = {RESTAURANT_UPDATED: RESTAURANTS, MENU_UPDATED: MENUS, ACCOUNT_UPDATED: ACCOUNTS}
"""The copy each event type refreshes; each event carries the whole entity and the
``revision`` of the save it tells of (none when sent before its producer counted saves), so
a copy keeps the latest save, also of two in one millisecond (see
:func:`shared.stores.apply_event`)."""
PAYMENT_OUTCOMES = (PAYMENT_AUTHORIZED, PAYMENT_DECLINED)


def follow(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Refresh a copy, or move the paid (or declined) order out of ``pending-payment``; the
    order forgets the card token its checkout named either way."""
    store = ctx.ports.store
    collection = COPY_OF.get(event.type)
    if collection is not None:
        state, revision = dict(event.body), event.body.get("revision")
        apply_event(
            store, collection, event.partition_key, event, lambda _: state, revision=revision
        )
    elif event.type == PAYMENT_AUTHORIZED:
        placed_at = event.body.get("authorizedAt") or event.timestamp
        payment_decided(store, event.body["orderId"], {"status": PLACED, "placedAt": placed_at})
    elif event.type == PAYMENT_DECLINED:
        payment_decided(
            store, event.body["orderId"], {"status": DECLINED, "reason": event.body["reason"]}
        )
