"""Schedule: the payment deadline. An order whose payment has not been decided in time is
cancelled (``payment-timeout``) instead of waiting for ever.

The customer then sees the order cancelled and finds its dishes back in the
cart, as after a decline; it never reaches Order. An authorization that comes
after all is voided by payment-esg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.checkout_bff.models import ORDERS
from customer.checkout_bff.orders import PENDING, give_up
from shared.stores import Where

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.runtime.context import Context

PAYMENT_DEADLINE_MS = 10 * 60_000
"""How long after checkout an order may wait for its payment to be authorized or declined.

An authorization takes seconds. payment-esg retries a processor that is down
after 5 s, 10 s, 20 s and so on, its seventh attempt coming about 5 minutes
after checkout, so an outage of up to about 5 minutes still ends in a decision;
a customer kept waiting longer is better served by an answer.
"""
PAYMENT_TIMEOUT = "payment-timeout"
"""The reason of an order cancelled at the payment deadline."""


def give_up_unpaid(now_ms: int, ctx: Context[CustomerPorts]) -> None:
    """Cancel each order still awaiting its payment :data:`PAYMENT_DEADLINE_MS` after checkout."""
    store = ctx.ports.store
    due = [Where("status", "==", PENDING), Where("createdAt", "<=", now_ms - PAYMENT_DEADLINE_MS)]
    for doc in store.query(ORDERS, due):
        if give_up(store, doc.key, PAYMENT_TIMEOUT, now_ms):
            ctx.log.info("order %s: no payment decided in time, cancelled", doc.key)
