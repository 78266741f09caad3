"""Taking offline a driver who lets offers in a row run out, as one whose app died does.

Such a driver stays online for good otherwise, and as the nearest free driver is
offered each new delivery near them first, which then waits for nothing until the
offer runs out. Dispatch announces each offer that ran out
(``driver-missed-offers``, with the run it ends); driver-bff owns the online flag,
so it takes the driver offline, and its ``driver-updated`` tells dispatch to offer
them nothing more until they go online again.

Only the offers that ran out after the driver last asked to go online and after the
latest offer they answered or began to accept count, so a late or repeated
announcement never takes offline a driver who has been heard from since; and only
those that reached the driver's app before they expired (``offersOpened``), as a
driver cannot miss an offer they never had a chance to answer. A driver carrying
food is never taken offline this way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.driver_bff.offers import ACCEPTING, named
from delivery.driver_bff.records import (
    ACTIVE,
    ANSWERED_UP_TO,
    DELIVERIES,
    DRIVERS,
    MISSED_OFFERS,
    OFFERS_OPENED,
    OFFLINE_REASON,
    ONLINE_AT,
)
from shared.stores import Where

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import Doc

MISSED_OFFERS_LIMIT = 2
"""How many offers in a row a driver may let run out unanswered before the platform takes
them offline."""


def take_offline(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """On ``driver-missed-offers``, take the driver offline (``offlineReason``
    ``missed-offers``) once :data:`MISSED_OFFERS_LIMIT` offers in a row that count ran out,
    unless they carry food."""
    body, store = event.body, ctx.ports.store
    driver_id = body["driverId"]
    carrying = [Where("driverId", "==", driver_id), Where("status", "in", list(ACTIVE))]
    if store.query(DELIVERIES, carrying):
        ctx.log.info("%s let offers run out while carrying food: left online", driver_id)
        return
    now = ctx.clock.now_ms()

    def updater(driver: Doc | None) -> Doc | None:
        if driver is None or not driver["online"]:
            return None
        if len(unanswered(driver, body["missed"])) < MISSED_OFFERS_LIMIT:
            return None
        return {
            **driver,
            "online": False,
            ACCEPTING: None,
            OFFLINE_REASON: MISSED_OFFERS,
            "updatedAt": now,
        }

    if store.update(DRIVERS, driver_id, updater) is not None:
        ctx.log.info("%s let %d offers in a row run out: taken offline", driver_id, body["count"])


def unanswered(driver: Doc, missed: list[int]) -> list[int]:
    """The expiries in ``missed`` of offers that reached the driver's app before they expired
    and ran out after the driver last asked to go online, and after the latest offer they
    answered or began to accept."""
    accepting = driver.get(ACCEPTING)
    heard = (
        driver.get(ONLINE_AT) or 0,
        driver.get(ANSWERED_UP_TO) or 0,
        named(accepting)[1] if accepting else 0,
    )
    opened = driver.get(OFFERS_OPENED, [])
    return [e for e in missed if e > max(heard) and e in opened]
