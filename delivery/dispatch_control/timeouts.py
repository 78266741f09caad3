"""Offers nobody answered in time go back to searching, the driver counted as having missed
them (others are offered the delivery first; the rules announce the miss, see
:mod:`~delivery.dispatch_control.misses`); scheduled deliveries start searching when their
time comes; and a sweep offers deliveries still waiting while drivers are free."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.dispatch_control.collector import start_search
from delivery.dispatch_control.records import (
    DELIVERIES,
    DRIVERS,
    available,
    nudge_searching,
    withdrawal,
)
from shared.stores import Where

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.runtime.context import Context


OFFER_ANSWER_GRACE_MS = 30_000
"""How long an answer given just before an offer expired may take to be collected; the
offer is withdrawn only after that, so the driver who answered in time gets it."""


def withdraw_expired_offers(now_ms: int, ctx: Context[DeliveryPorts]) -> None:
    """Withdraw every offer expired for longer than the grace; the rules then offer the next
    driver."""
    store = ctx.ports.store
    due = [Where("status", "==", "scheduled"), Where("searchFrom", "<=", now_ms)]
    for found in store.query(DELIVERIES, due):
        store.update(DELIVERIES, found.key, lambda d: start_search(d, now_ms))
    expired = store.query(
        DELIVERIES,
        [
            Where("status", "==", "offered"),
            Where("offer.expiresAt", "<=", now_ms - OFFER_ANSWER_GRACE_MS),
        ],
    )
    for found in expired:
        offer = found.data["offer"]
        driver_id = offer["driverId"]
        # Only the offer found: another sweep at work may have taken it back and made it again.
        missed = withdrawal(driver_id, now_ms, "missed", expiring=offer["expiresAt"])
        if store.update(DELIVERIES, found.key, missed) is not None:
            ctx.log.info("offer of %s to %s expired", found.key, driver_id)
    online = store.query(DRIVERS, [Where("online", "==", True)])
    free = [d.data for d in online if available(d.data)]
    if free:
        # Every searching delivery: those stored before their pickupBlock was kept too.
        nudge_searching(store, f"sweep-{now_ms}", free, everywhere=True)
