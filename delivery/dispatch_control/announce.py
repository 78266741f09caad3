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
    ``picked-up`` first, so every consumer sees the pickup.
    """
    if change.after is None:
        return
    before, after = change.before or {}, change.after
    old, new = before.get("status"), after["status"]
    if old == "offered" and new in ("searching", "cancelled"):
        withdrawn = {"id": after["id"], "driverId": before["offer"]["driverId"]}
        ctx.emit(OFFER_WITHDRAWN, "delivery", withdrawn, partition_key=after["orderId"])
    if old == "assigned" and new == "searching":  # only a release goes back from assigned
        released = {**_status(after), "status": "released", "driver": before["driver"]}
        ctx.emit(DELIVERY_STATUS_CHANGED, "delivery", released, partition_key=after["orderId"])
    if old == "assigned" and new == "delivered":  # the delivery was heard of before the pickup
        picked_up = {**_status(after), "status": "picked-up"}
        ctx.emit(
            DELIVERY_STATUS_CHANGED,
            "delivery",
            picked_up,
            partition_key=after["orderId"],
            discriminator="picked-up",
        )
    if old != new:
        for event_type, body in _entered(after):
            ctx.emit(event_type, "delivery", body, partition_key=after["orderId"])
    elif new == "picked-up" and before.get("location") != after["location"]:
        ctx.emit(
            DELIVERY_STATUS_CHANGED, "delivery", _status(after), partition_key=after["orderId"]
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
            return [(DELIVERY_CANCELLED, {**common, "driverId": driver and driver["id"]})]
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
