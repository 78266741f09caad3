"""Dispatch's view of the drivers, fed by ``driver-updated``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.dispatch_control.geo import cell_of
from delivery.dispatch_control.misses import forgiven
from delivery.dispatch_control.records import (
    DELIVERIES,
    DRIVERS,
    VERSION,
    available,
    dispatchable,
    nudge_searching,
    release,
)
from shared.geo import distance_m
from shared.stores import apply_event

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import Doc


def keep_driver(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Keep the driver's name, availability and position, and act on what changed.

    A driver who becomes available gets the searching deliveries offered; one
    who goes offline holding an offer lets it go to the next driver, as if it had
    run out; a driver carrying an order moves the delivery's location along. A driver
    coming online starts a new run of missed offers (offers that ran out before are
    forgiven).

    Of two saves of the driver's profile in one millisecond, heard in reverse order (the
    announcing trigger is unordered), the later save wins by its ``version``: by time alone
    the one heard last would, and a driver who went offline could stay online here.
    """
    store, update = ctx.ports.store, event.body
    previous: dict[str, Doc | None] = {}
    version: str | None = update.get(VERSION)  # missing from events announced before it was

    def mutate(driver: Doc | None) -> Doc:
        previous["driver"] = driver
        if driver is not None and _saved_later(driver, version):
            return driver
        reservations = {"deliveryId": None, "offeredDeliveryId": None}
        fields = {k: update[k] for k in ("id", "name", "online", "location")}
        fields["cell"] = cell_of(update["location"]) if update["location"] else None
        if version is not None:
            fields[VERSION] = version
        kept = {**reservations, **(driver or {}), **fields}
        if update["online"] and not (driver or {}).get("online"):
            return forgiven(kept, event.timestamp) or kept
        return kept

    applied = apply_event(store, DRIVERS, update["id"], event, mutate)
    applied = applied and not _saved_later(previous.get("driver"), version)
    driver = store.get(DRIVERS, update["id"])
    came_online = applied and not dispatchable(previous.get("driver"))
    if driver is not None:
        # When they went offline, not when dispatch heard it: an offer let go before it ran
        # out is no miss (misses._ran_out), however late the event comes.
        release(store, driver, event.timestamp)
    # A redelivery (not applied) may follow a nudge that failed after the driver was saved.
    # Declines cool down by dispatch's clock, as the sweep's and the rules' nudges see them.
    if driver is not None and available(driver) and (came_online or not applied):
        nudge_searching(store, ctx.cause_id, [driver], now_ms=ctx.clock.now_ms())
    if driver is not None and driver["deliveryId"] is not None:
        store.update(DELIVERIES, driver["deliveryId"], lambda d: _followed(d, driver, event))


def _saved_later(driver: Doc | None, version: str | None) -> bool:
    """Whether ``driver`` holds a save of the profile written after the one ``version``
    names (versions of one document's writes sort, as text, in write order)."""
    kept = (driver or {}).get(VERSION)
    return version is not None and kept is not None and version <= kept


FOLLOW_EVERY_MS = 10_000
"""The least time between two locations of a delivery told to its customer (and so to
Order): a driver's app may report every second, each report a status published."""
FOLLOW_MOVE_M = 25
"""The least move of the driver that changes the delivery's location: less is a driver
waiting at a light, or the phone's position wandering."""


def _followed(delivery: Doc | None, driver: Doc, event: Envelope) -> Doc | None:
    """The picked-up delivery at the driver's new location, unless the driver moved too
    little, or too soon after the location it shows (an older report never replaces it)."""
    if delivery is None or delivery["status"] != "picked-up":
        return None
    location, shown = driver["location"], delivery["location"]
    if delivery["driver"]["id"] != driver["id"] or location is None:
        return None
    if shown is not None and (
        distance_m(shown, location) < FOLLOW_MOVE_M
        or event.timestamp - delivery["changedAt"] < FOLLOW_EVERY_MS
    ):
        return None
    return {**delivery, "location": location, "changedAt": event.timestamp}
