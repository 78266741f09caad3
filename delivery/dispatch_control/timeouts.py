"""Offers nobody answered in time go back to searching, the driver counted as having missed
them (others are offered the delivery first; the rules announce the miss, see
:mod:`~delivery.dispatch_control.misses`); scheduled deliveries start searching when their
time comes; drivers left reserved with no offer standing for them are freed; and a sweep
offers deliveries still waiting while drivers are free (to a driver who declined one once
their cool-down has passed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.dispatch_control.collector import start_search
from delivery.dispatch_control.records import (
    DELIVERIES,
    DRIVERS,
    available,
    nudge_searching,
    offered_to,
    withdrawal,
)
from delivery.dispatch_control.rules import settle
from shared.stores import Where

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore


OFFER_ANSWER_GRACE_MS = 30_000
"""How long an answer given just before an offer expired may take to be collected; the
offer is withdrawn only after that, so the driver who answered in time gets it."""

STALE_RESERVATION_MS = 5 * 60_000
"""How old a driver's reservation with no offer standing for it must be before the sweep
drops it: far longer than an offer try takes between reserving the driver and writing the
offer, and than the first retries of a try that failed in between (which reserve the same
driver again, stamping the reservation anew). Only a try whose retries all failed leaves
one this old."""


def withdraw_expired_offers(now_ms: int, ctx: Context[DeliveryPorts]) -> None:
    """Withdraw every offer expired for longer than the grace; the rules then offer the next
    driver. Drivers held by a stale reservation (:func:`settle_stale_reservations`) are freed
    first, so this sweep offers them the deliveries waiting."""
    store = ctx.ports.store
    for driver_id in settle_stale_reservations(store, now_ms):
        ctx.log.info("%s: a stale reservation no offer stands for was settled", driver_id)
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
        nudge_searching(store, f"sweep-{now_ms}", free, everywhere=True, now_ms=now_ms)


def settle_stale_reservations(store: AbstractDocumentStore, now_ms: int) -> list[str]:
    """Make agree with their delivery the drivers reserved for longer than
    :data:`STALE_RESERVATION_MS` with no offer standing for them; the drivers settled.

    Such a reservation was left by an offer try that died between its two writes, and whose
    retries all failed: nothing else would free its driver while they stay online. A try
    still on its way that writes the offer after all finds the driver reserved again by the
    rules (:func:`~delivery.dispatch_control.rules.settle_drivers`), or, held by another
    delivery meanwhile, takes the offer back. A driver reserved anew since the sweep read
    them (another try, which writes its offer next) keeps that reservation.
    """
    settled = []
    for found in store.query(DRIVERS, [Where("offeredDeliveryId", "!=", None)]):
        driver = found.data
        # Missing on reservations made before it was kept, which are old by now.
        reserved_at = driver.get("reservedAt", 0)
        if reserved_at > now_ms - STALE_RESERVATION_MS:
            continue  # a try may still be on its way to the offer
        delivery = store.get(DELIVERIES, driver["offeredDeliveryId"])
        # An offer standing for it is left to its expiry, which takes it back; one a try made
        # since the delivery was read reserved the driver anew, and is left alone too.
        if delivery is not None and not offered_to(delivery, found.key):
            after = settle(store, found.key, delivery["id"], reserved_at=reserved_at)
            if after is None or after["offeredDeliveryId"] != delivery["id"]:
                settled.append(found.key)
    return settled
