"""Tells the rest of the subsystem what became of a delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.events import (
    DELIVERY_ASSIGNED,
    DELIVERY_CANCELLED,
    DELIVERY_OFFERED,
    DELIVERY_STATUS_CHANGED,
    OFFER_WITHDRAWN,
)

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.envelope import Json
    from shared.runtime.context import Context
    from shared.stores import Doc, DocumentChange


def announce(change: DocumentChange, ctx: Context[DeliveryPorts]) -> None:
    """Emit the events of the delivery's transition; a rewrite without one emits nothing.

    A delivery handed back (assigned, then searching again) is published as ``released``
    with the driver who released it; one delivered straight from ``assigned`` is published
    ``picked-up`` first, so every consumer sees the pickup. Every event carries its
    ``revision``, where it comes in the delivery's course (see :mod:`delivery.events`): an
    offer, its withdrawal and the next offer may be written in one millisecond.
    """
    if change.after is None:
        return
    before, after = change.before or {}, change.after
    old, new = before.get("status"), after["status"]
    course: list[tuple[str, Json, str]] = []  # (type, body, discriminator)
    if old == "offered" and new in ("searching", "cancelled"):
        offer = before["offer"]
        withdrawn = {
            "id": after["id"],
            "driverId": offer["driverId"],
            "expiresAt": offer["expiresAt"],
        }
        course.append((OFFER_WITHDRAWN, withdrawn, ""))
    if old == "assigned" and new == "searching":  # only a release goes back from assigned
        released = {**_status(after), "status": "released", "driver": before["driver"]}
        course.append((DELIVERY_STATUS_CHANGED, released, ""))
    if old == "assigned" and new == "delivered":  # the delivery was heard of before the pickup
        picked_up = {**_status(after), "status": "picked-up"}
        course.append((DELIVERY_STATUS_CHANGED, picked_up, "picked-up"))
    if old != new:
        course += [(event_type, body, "") for event_type, body in _entered(after)]
    elif new == "picked-up" and before.get("location") != after["location"]:
        course.append((DELIVERY_STATUS_CHANGED, _status(after), ""))
    for step, (event_type, body, discriminator) in enumerate(course):
        ctx.emit(
            event_type,
            "delivery",
            {**body, "revision": [change.version, step]},
            partition_key=after["orderId"],
            discriminator=discriminator,
        )


def _entered(delivery: Doc) -> list[tuple[str, Json]]:
    common = {"id": delivery["id"], "orderId": delivery["orderId"]}
    route = {"pickup": delivery["pickup"], "dropoff": delivery["dropoff"]}
    match delivery["status"]:
        case "offered":
            offer = delivery["offer"]
            return [
                (
                    DELIVERY_OFFERED,
                    {
                        **common,
                        "driverId": offer["driverId"],
                        **route,
                        "expiresAt": offer["expiresAt"],
                    },
                )
            ]
        case "assigned":
            assigned = {
                **common,
                "driverId": delivery["driver"]["id"],
                **route,
                "assignedAt": delivery["changedAt"],
            }
            return [(DELIVERY_ASSIGNED, assigned), (DELIVERY_STATUS_CHANGED, _status(delivery))]
        case "picked-up" | "delivered":
            return [(DELIVERY_STATUS_CHANGED, _status(delivery))]
        case "cancelled":
            driver = delivery["driver"]
            cancelled = {
                **common,
                "driverId": driver and driver["id"],
                "changedAt": delivery["changedAt"],
            }
            return [(DELIVERY_CANCELLED, cancelled)]
    return []


def _status(delivery: Doc) -> Json:
    return {
        "id": delivery["id"],
        "orderId": delivery["orderId"],
        "status": delivery["status"],
        "driver": delivery["driver"],
        "location": delivery["location"],
        "changedAt": delivery["changedAt"],
    }
