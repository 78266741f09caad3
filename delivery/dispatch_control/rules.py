"""The dispatch rules: keep drivers' reservations true, and offer searching deliveries."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from delivery.dispatch_control.geo import SEARCH_RINGS, ring, ring_gap_m
from delivery.dispatch_control.records import (
    BUSY,
    DELIVERIES,
    DRIVERS,
    LAST_EXPIRY,
    OFFER_TIMEOUT_MS,
    available,
    declined_at,
    dispatchable,
    holds_another,
    in_chunks,
    may_offer_again,
    missed_by,
    nudge_searching,
    offered_to,
    release,
    withdrawal,
)
from shared.geo import distance_m
from shared.stores import Doc, Where

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore, DocumentChange
    from shared.stores.base import Updater


def settle_drivers(change: DocumentChange, ctx: Context[DeliveryPorts]) -> None:
    """Make the reservations of the delivery's drivers agree with it.

    A driver is reserved while a delivery is offered to them and busy while
    it is assigned to them or picked up. Settling against the delivery's
    current state, not the change, keeps late or repeated changes harmless. An
    offer made to a driver who went offline meanwhile (dispatch heard of it
    between their reservation and the offer) is withdrawn at once, and so is one
    made to a driver another delivery took meanwhile (:func:`withdraw_unheld`). A
    driver the delivery let go is offered the other searching deliveries.
    """
    store = ctx.ports.store
    delivery = store.get(DELIVERIES, change.key)
    if delivery is None:
        return
    involved = sorted(_drivers_of(change.before) | _drivers_of(change.after))
    settled = [settle(store, driver_id, delivery["id"]) for driver_id in involved]
    for driver in settled:
        if driver is not None:
            release(store, driver, ctx.clock.now_ms())
            withdraw_unheld(store, driver, delivery, ctx.clock.now_ms())
    let_go = [driver for driver in settled if driver is not None and available(driver)]
    if let_go:
        now = ctx.clock.now_ms()
        nudge_searching(store, ctx.cause_id, let_go, skip=delivery["id"], now_ms=now)


def settle(
    store: AbstractDocumentStore, driver_id: str, key: str, *, reserved_at: int | None = None
) -> Doc | None:
    """Reserve, occupy or free the driver as the delivery ``key`` says; the driver's state after.

    The delivery is read inside the driver's write, on each try of it: one read before may
    not show an offer a try made to the driver since, whose reservation this would drop. With
    ``reserved_at``, only a driver whose reservation is still the one made then: one reserved
    anew since (``reservedAt``) is a try on its way to its offer.
    """

    def updater(driver: Doc | None) -> Doc | None:
        if driver is None:
            return None
        if reserved_at is not None and driver.get("reservedAt", 0) != reserved_at:
            return None
        delivery = store.get(DELIVERIES, key)
        busy = (
            delivery is not None
            and delivery["status"] in BUSY
            and delivery["driver"]["id"] == driver_id
        )
        claims = {"offeredDeliveryId": offered_to(delivery, driver_id), "deliveryId": busy}
        settled = dict(driver)
        for field, holds in claims.items():
            if holds and settled[field] is None:
                settled[field] = key
            elif not holds and settled[field] == key:
                settled[field] = None
        return settled if settled != driver else None

    return store.update(DRIVERS, driver_id, updater) or store.get(DRIVERS, driver_id)


def withdraw_unheld(store: AbstractDocumentStore, driver: Doc, delivery: Doc, now_ms: int) -> None:
    """Take back ``delivery``'s offer to ``driver`` when they hold another delivery: reserved
    for its offer, or busy with it.

    An offer is written after its driver's reservation; going offline in between drops a
    reservation no offer stands for yet, so a driver back online may be reserved for, and
    offered, another delivery before this offer lands. Left standing, both could be
    accepted, and the driver would carry two deliveries.
    """
    key = delivery["id"]
    if not offered_to(delivery, driver["id"]) or not holds_another(driver, key):
        return
    expiring = delivery["offer"]["expiresAt"]
    store.update(DELIVERIES, key, withdrawal(driver["id"], now_ms, "taken", expiring=expiring))


def offer_to_nearest(change: DocumentChange, ctx: Context[DeliveryPorts]) -> None:
    """Offer a searching delivery to the nearest available driver who has not declined it,
    drivers who missed its offer after the others; when there is none, to a driver who
    declined it at least :data:`~delivery.dispatch_control.records.DECLINE_COOL_DOWN_MS` ago,
    the one who declined it longest ago first."""
    if change.after is None or change.after["status"] != "searching":
        return
    store = ctx.ports.store
    delivery = store.get(DELIVERIES, change.key)
    if delivery is None:
        return
    if delivery["status"] != "searching":
        # A try that reserved a driver and died before the offer was written: the delivery
        # has moved on since, and names no such driver, so nothing else would free them.
        for reserved in store.query(DRIVERS, [Where("offeredDeliveryId", "==", change.key)]):
            settle(store, reserved.key, delivery["id"])
        return
    now = ctx.clock.now_ms()
    for driver in _candidates(store, delivery, now):
        if store.update(DRIVERS, driver["id"], _reservation(delivery["id"], now)) is None:
            continue  # someone else reserved them meanwhile
        if store.update(DELIVERIES, delivery["id"], _offer(driver["id"], now)) is None:
            # the delivery moved on meanwhile: let the driver go again
            settle(store, driver["id"], delivery["id"])
        return


def _drivers_of(delivery: Doc | None) -> set[str]:
    if delivery is None:
        return set()
    offer, driver = delivery.get("offer"), delivery.get("driver")
    return {d for d in ((offer or {}).get("driverId"), (driver or {}).get("id")) if d}


FREE = (Where("online", "==", True), Where("deliveryId", "==", None))
"""What a driver offered a delivery needs to be, that a query can tell."""


def _candidates(store: AbstractDocumentStore, delivery: Doc, now_ms: int) -> list[Doc]:
    """The free drivers near the pickup who have not declined it: first those who never
    missed its offer, nearest first, then those who did, who missed it longest ago first.
    With none, those who declined it and :func:`may_offer_again` now, who declined it longest
    ago first, then nearest first.

    Rings of cells around the pickup are read outwards, up to
    :data:`SEARCH_RINGS`, until no ring left can hold a driver nearer than the
    nearest one found who never missed the offer. The cells go in as few queries
    as an ``in`` condition allows (:func:`~delivery.dispatch_control.records.in_chunks`),
    a query going on into the next ring where one leaves room: the small inner rings are
    read together, and a search that finds nobody makes 15 queries, not 21 (one per ring,
    and one more for the remainder of each ring larger than a query).
    """
    key = delivery["id"]
    pickup = delivery["pickup"]["address"]
    missed, declines = missed_by(delivery), declined_at(delivery)

    def free(driver: Doc) -> bool:
        return (
            dispatchable(driver)
            and driver["deliveryId"] is None
            and driver["offeredDeliveryId"] in (None, key)
        )

    def usable(driver: Doc) -> bool:
        return free(driver) and driver["id"] not in delivery["declinedBy"]

    def misses(driver: Doc) -> int:
        """0 for a driver who never missed the offer, else 1 + their place in ``missedBy``."""
        return missed.index(driver["id"]) + 1 if driver["id"] in missed else 0

    # A driver already reserved by an attempt that failed half-way comes first.
    found = {d.key: d.data for d in store.query(DRIVERS, [Where("offeredDeliveryId", "==", key)])}
    nearest = math.inf
    around = ((radius, cell) for radius in range(SEARCH_RINGS + 1) for cell in ring(pickup, radius))
    for cells in in_chunks(around):
        if ring_gap_m(pickup, cells[0][0]) >= nearest:  # the chunk's cells are no nearer
            break
        in_cells = Where("cell", "in", [cell for _, cell in cells])
        for driver in store.query(DRIVERS, [*FREE, in_cells]):
            found[driver.key] = driver.data
            if usable(driver.data) and not misses(driver.data):
                nearest = min(nearest, distance_m(driver.data["location"], pickup))
    first = sorted(
        filter(usable, found.values()),
        key=lambda d: (
            # Reserved by a try that died half-way, unless the reservation is the offer they
            # just missed, whose withdrawal has not freed them yet (its trigger may run late).
            d["offeredDeliveryId"] != key or bool(misses(d)),
            misses(d),
            distance_m(d["location"], pickup),
            d["id"],
        ),
    )
    if first:
        return first
    return sorted(
        (d for d in found.values() if free(d) and may_offer_again(delivery, d["id"], now_ms)),
        key=lambda d: (
            d["offeredDeliveryId"] != key,  # reserved by a try that died half-way
            declines[d["id"]],
            distance_m(d["location"], pickup),
            d["id"],
        ),
    )


def _reservation(key: str, now_ms: int) -> Updater:
    def reserve(driver: Doc | None) -> Doc | None:
        if driver is None or not dispatchable(driver) or driver["deliveryId"] is not None:
            return None
        if driver["offeredDeliveryId"] not in (None, key):
            return None
        return {**driver, "offeredDeliveryId": key, "reservedAt": now_ms}

    return reserve


def _offer(driver_id: str, now_ms: int) -> Updater:
    def offer(delivery: Doc | None) -> Doc | None:
        if delivery is None or delivery["status"] != "searching":
            return None
        if driver_id in delivery["declinedBy"] and not may_offer_again(delivery, driver_id, now_ms):
            return None  # chosen before they declined it, by another try
        # Later than the offer before, though made in its millisecond: the expiry names it.
        expires_at = max(now_ms + OFFER_TIMEOUT_MS, delivery.get(LAST_EXPIRY, 0) + 1)
        return {
            **delivery,
            "status": "offered",
            "offer": {"driverId": driver_id, "expiresAt": expires_at},
            LAST_EXPIRY: expires_at,
            "changedAt": now_ms,
        }

    return offer
