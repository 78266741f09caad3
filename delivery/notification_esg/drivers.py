"""When each driver last asked to go online, so a driver back online is never told they are
offline.

The push telling a driver the platform took them offline (``driver-taken-offline``) may be
handled late (the provider was down; the trigger announcing it was retried late): by then the
driver may have gone online again. Both events come from driver-bff's drivers trigger and
carry driver-bff's times: ``onlineAt`` (when the driver last asked to go online) at or after
``offlineAt`` means they went online since (the onlineAt a driver had when taken offline is
always earlier: every miss counted against them ran out after it, and was taken back later).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.envelope import Envelope
    from shared.stores import AbstractDocumentStore, Doc

DRIVERS = "notification-drivers"
"""``notification-drivers/{driverId}``: ``{onlineAt}``: the latest ``onlineAt`` heard in a
``driver-updated``; written only when it moves, not for every location the driver reports."""


def driver_updated(store: AbstractDocumentStore, event: Envelope) -> None:
    """Keep the driver's ``onlineAt`` if it is later than the one kept."""
    driver = event.body
    online_at = driver.get("onlineAt")
    if online_at is None:
        return

    def heard(record: Doc | None) -> Doc | None:
        if record is not None and record["onlineAt"] >= online_at:
            return None
        return {"onlineAt": online_at}

    store.update(DRIVERS, driver["id"], heard)


def online_since(store: AbstractDocumentStore, driver_id: str, at: int) -> bool:
    """Whether the driver asked to go online at or after ``at`` (epoch ms, driver-bff's time)."""
    record = store.get(DRIVERS, driver_id)
    return record is not None and record["onlineAt"] >= at
