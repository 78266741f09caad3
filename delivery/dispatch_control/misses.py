"""Counts the offers each driver lets run out in a row, and announces each one.

A driver whose app died stays online, and as the nearest free driver is offered
every new delivery near them first. Dispatch owns offers, so it says when one
ran out unanswered (``driver-missed-offers``); driver-bff, which owns the
driver's online flag, decides whether to take them offline.

The run is kept on the driver (``missedOffers``: the offers' ``expiresAt``) and
forgiven up to a time (``missesFrom``): the expiry of the latest offer the driver
answered, or when they came online. An offer that expired at or before it is
forgiven, whichever of the answer and the miss was heard first, so the answers,
the misses and coming online may be heard in any order, and again. Each miss is
announced with the whole run as it stands once it is counted: a miss counted late
(its trigger retried after the next miss was counted) still announces a run of both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.dispatch_control.records import DRIVERS, declined_at
from delivery.events import DRIVER_MISSED_OFFERS

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.runtime.context import Context
    from shared.stores import Doc, DocumentChange

MISSED = "missedOffers"
"""The driver's field holding the ``expiresAt`` of the offers they let run out in a row,
oldest first, at most :data:`MISSES_KEPT`."""
FORGIVEN_UP_TO = "missesFrom"
"""The driver's field: offers that expired at or before it are not counted as missed."""
MISSES_KEPT = 10
"""The latest misses kept of a run: more than driver-bff's limit, which takes the driver
offline long before."""


def count_missed_offer(change: DocumentChange, ctx: Context[DeliveryPorts]) -> None:
    """Count the offer the delivery's change took back after it ran out, and announce it with
    the run it is part of (misses counted before it, later ones included).

    Announced again when the trigger is retried (same id, so heard once); not announced
    once forgiven by an answer or coming online heard first.
    """
    ran_out = _ran_out(change)
    if ran_out is None:
        return
    driver_id, expires_at = ran_out
    store = ctx.ports.store
    driver = store.update(DRIVERS, driver_id, lambda d: _missed(d, expires_at))
    run: list[int] = (driver or store.get(DRIVERS, driver_id) or {}).get(MISSED, [])
    if expires_at not in run:
        return
    body = {
        "driverId": driver_id,
        "deliveryId": change.key,
        "expiresAt": expires_at,
        "count": len(run),
        "missed": run,
    }
    ctx.emit(DRIVER_MISSED_OFFERS, "driver", body, partition_key=driver_id)
    ctx.log.info("%s let the offer of %s run out (%d in a row)", driver_id, change.key, len(run))


def _ran_out(change: DocumentChange) -> tuple[str, int] | None:
    """The driver and expiry of the offer the change took back unanswered after it ran out.

    An offer is taken back, the delivery searching again, when the driver declines it
    (they answered: the change notes their decline), goes offline holding it (before it ran
    out: they chose to stop), or lets it run out; only the last counts. A driver offered the
    delivery again after declining it lets that offer run out as anyone does.
    """
    before, after = change.before, change.after
    if before is None or after is None:
        return None
    if before["status"] != "offered" or after["status"] != "searching":
        return None
    offer = before["offer"]
    driver_id = offer["driverId"]
    declined_now = driver_id in after["declinedBy"] and (
        driver_id not in before["declinedBy"]
        or declined_at(before).get(driver_id) != declined_at(after).get(driver_id)
    )
    if declined_now or after["changedAt"] < offer["expiresAt"]:
        return None
    return driver_id, offer["expiresAt"]


def _missed(driver: Doc | None, expires_at: int) -> Doc | None:
    if driver is None or expires_at <= driver.get(FORGIVEN_UP_TO, 0):
        return None
    run: list[int] = driver.get(MISSED, [])
    if expires_at in run:
        return None
    kept = sorted([*run, expires_at])[-MISSES_KEPT:]
    return {**driver, MISSED: kept} if expires_at in kept else None


def forgiven(driver: Doc | None, up_to: int) -> Doc | None:
    """The driver with the misses of offers that expired at or before ``up_to`` forgiven
    (they answered an offer that expired then, or came online then); ``None`` when that
    changes nothing."""
    if driver is None or up_to <= driver.get(FORGIVEN_UP_TO, 0):
        return None
    run = [e for e in driver.get(MISSED, []) if e > up_to]
    return {**driver, MISSED: run, FORGIVEN_UP_TO: up_to}
