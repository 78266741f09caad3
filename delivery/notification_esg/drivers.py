"""Whether each driver is online, and when they last asked to be, so a driver is never told
they are offline once back online, nor pushed an offer once they went offline.

The push telling a driver the platform took them offline (``driver-taken-offline``) may be
handled late (the provider was down; the trigger announcing it was retried late): by then the
driver may have gone online again. Both events come from driver-bff's drivers trigger and
carry driver-bff's times: ``onlineAt`` (when the driver last asked to go online) at or after
``offlineAt`` means they went online since (the onlineAt a driver had when taken offline is
always earlier: every miss counted against them ran out after it, and was taken back later).

A driver who goes offline holding an offer lets it go, but the offer's announcement may be
handled before its withdrawal. ``driver-updated`` may itself arrive out of order (the trigger
is retried late): its time is driver-bff's write of the profile, so the latest availability
is the one of the latest time, as dispatch keeps it (the one handled last within a
millisecond).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.envelope import Envelope
    from shared.stores import AbstractDocumentStore, Doc

DRIVERS = "notification-drivers"
"""``notification-drivers/{driverId}``: ``{onlineAt, online, availableAt}``: the latest
``onlineAt`` heard in a ``driver-updated``, and whether the driver was online at the latest
write of their profile heard to change it (``availableAt``, that event's time); ``online`` and
``availableAt`` are missing from records kept before them (taken as online). Written only
when one moves, not for every location the driver reports."""
AVAILABLE_AT = "availableAt"


def driver_updated(store: AbstractDocumentStore, event: Envelope) -> None:
    """Keep the driver's ``onlineAt`` if it is later than the one kept, and whether they are
    online if the event is no older than the one that said otherwise."""
    driver = event.body
    online_at, online = driver.get("onlineAt"), bool(driver["online"])
    if online_at is None:  # never online: never offered anything
        return

    def heard(record: Doc | None) -> Doc | None:
        if record is None:
            return {"onlineAt": online_at, "online": online, AVAILABLE_AT: event.timestamp}
        changed: Doc = {}
        if record["onlineAt"] < online_at:
            changed["onlineAt"] = online_at
        newer = event.timestamp >= record.get(AVAILABLE_AT, 0)
        if record.get("online", True) != online and newer:
            changed |= {"online": online, AVAILABLE_AT: event.timestamp}
        return {**record, **changed} if changed else None

    store.update(DRIVERS, driver["id"], heard)


def online_since(store: AbstractDocumentStore, driver_id: str, at: int) -> bool:
    """Whether the driver asked to go online at or after ``at`` (epoch ms, driver-bff's time)."""
    record = store.get(DRIVERS, driver_id)
    return record is not None and record["onlineAt"] >= at


def heard_offline(store: AbstractDocumentStore, driver_id: str) -> bool:
    """Whether the latest heard of the driver is that they went offline."""
    record = store.get(DRIVERS, driver_id)
    return record is not None and record.get("online", True) is False
