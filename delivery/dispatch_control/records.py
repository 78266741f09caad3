"""Dispatch's collections and what its functions share: who is free, what is offered, nudges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from delivery.dispatch_control.geo import SEARCH_RINGS, cells_apart
from shared.stores import Doc, Where

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore
    from shared.stores.base import Updater

DRIVERS = "dispatch-drivers"
"""``dispatch-drivers/{driverId}``: ``{id, name, online, location, cell, deliveryId,
offeredDeliveryId}``; ``cell`` is the location's grid cell (:mod:`~delivery.dispatch_control.geo`),
``deliveryId`` the delivery they are busy with, ``offeredDeliveryId`` the one reserved for them
while they consider its offer."""

DELIVERIES = "deliveries"
"""``deliveries/{deliveryId}`` (``"d-" + orderId``): ``{id, orderId, customerRef,
pickup{restaurantId,name,address}, dropoff, status, offer{driverId,expiresAt}|null, declinedBy,
driver{id,name}|null, location, changedAt}``."""

Status = Literal["searching", "offered", "assigned", "picked-up", "delivered", "cancelled"]
BUSY: tuple[Status, ...] = ("assigned", "picked-up")
"""Statuses in which the delivery's driver has no time for another one."""
OFFER_TIMEOUT_MS = 2 * 60 * 1000


def delivery_id(order_id: str) -> str:
    """The delivery of an order."""
    return f"d-{order_id}"


def dispatchable(driver: Doc | None) -> bool:
    """Whether the driver works now and is somewhere known, busy or not."""
    return driver is not None and bool(driver["online"]) and driver["location"] is not None


def nudge_searching(
    store: AbstractDocumentStore, cause: str, drivers: Sequence[Doc], *, skip: str = ""
) -> None:
    """For each newly available driver, touch the longest-waiting searching delivery within
    their reach that they have not declined (never ``skip``), so the rules try to offer it
    again.

    One delivery per driver keeps a busy hour linear; the offer-timeouts sweep
    catches any delivery a nudge went past.
    """
    waiting = sorted(
        (d.data for d in store.query(DELIVERIES, [Where("status", "==", "searching")])),
        key=lambda d: (d["changedAt"], d["id"]),
    )
    for driver in drivers:
        if driver["location"] is None:
            continue
        for delivery in waiting:
            reach = cells_apart(driver["location"], delivery["pickup"]["address"])
            if (
                delivery["id"] != skip
                and driver["id"] not in delivery["declinedBy"]
                and reach <= SEARCH_RINGS
            ):
                store.update(DELIVERIES, delivery["id"], lambda d: _nudged(d, cause))
                waiting.remove(delivery)
                break


def _nudged(delivery: Doc | None, cause: str) -> Doc | None:
    if delivery is None or delivery["status"] != "searching":
        return None
    return {**delivery, "nudgedBy": cause}


def available(driver: Doc | None) -> bool:
    """Whether the driver can be offered a delivery now."""
    return (
        driver is not None
        and dispatchable(driver)
        and driver["deliveryId"] is None
        and driver["offeredDeliveryId"] is None
    )


def offered_to(delivery: Doc | None, driver_id: str) -> bool:
    """Whether the delivery is waiting for this driver's answer."""
    return (
        delivery is not None
        and delivery["status"] == "offered"
        and delivery["offer"]["driverId"] == driver_id
    )


def withdrawal(driver_id: str, now_ms: int) -> Updater:
    """An updater taking back the driver's declined or expired offer: search again without them."""

    def withdraw(delivery: Doc | None) -> Doc | None:
        if delivery is None or not offered_to(delivery, driver_id):
            return None
        return {
            **delivery,
            "status": "searching",
            "offer": None,
            "declinedBy": [*delivery["declinedBy"], driver_id],
            "changedAt": now_ms,
        }

    return withdraw
