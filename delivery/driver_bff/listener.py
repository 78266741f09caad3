"""Keeps the drivers' offers and deliveries as dispatch decides them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.driver_bff.records import ACTIVE, DELIVERIES, OFFERS, area, handed_back
from delivery.events import (
    DELIVERY_ASSIGNED,
    DELIVERY_CANCELLED,
    DELIVERY_OFFERED,
    OFFER_WITHDRAWN,
)
from shared.stores import Doc, apply_event

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context


def keep_driver_work(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Apply one dispatch decision to the driver's offers or deliveries."""
    handler = {
        DELIVERY_OFFERED: _offered,
        OFFER_WITHDRAWN: _withdrawn,
        DELIVERY_ASSIGNED: _assigned,
        DELIVERY_CANCELLED: _cancelled,
    }[event.type]
    handler(event, ctx)


def _offered(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    body = event.body

    def mutate(offer: Doc | None) -> Doc:
        past = list((offer or {}).get("pastDrivers", []))
        if offer is not None and offer["driverId"] != body["driverId"]:
            past.append(offer["driverId"])
        return {
            "deliveryId": body["id"],
            "orderId": body["orderId"],
            "driverId": body["driverId"],
            "pickup": {"name": body["pickup"]["name"], "address": body["pickup"]["address"]},
            "dropoff": body["dropoff"],
            "expiresAt": body["expiresAt"],
            "status": "open",
            "answeredAt": None,
            "pastDrivers": past,
        }

    apply_event(ctx.ports.store, OFFERS, body["id"], event, mutate)


def _withdrawn(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    delivery_id, driver_id = event.body["id"], event.body["driverId"]

    def mutate(offer: Doc | None) -> Doc:
        if offer is None:  # withdrawn before we saw the offer: keep it from reopening
            return {"deliveryId": delivery_id, "driverId": driver_id, "status": "withdrawn"}
        if offer["driverId"] == driver_id and offer["status"] in ("open", "accepted"):
            return {**offer, "status": "withdrawn", "dropoff": area(offer["dropoff"])}
        return offer

    apply_event(ctx.ports.store, OFFERS, delivery_id, event, mutate)


def _assigned(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """The driver's new delivery; one handed back by another driver moves aside for it."""
    body, store = event.body, ctx.ports.store
    assignment = {
        "deliveryId": body["id"],
        "orderId": body["orderId"],
        "driverId": body["driverId"],
        "pickup": {"name": body["pickup"]["name"], "address": body["pickup"]["address"]},
        "dropoff": body["dropoff"],
        "status": "assigned",
        "assignedAt": body["assignedAt"],
        "pickedUpAt": None,
        "deliveredAt": None,
    }
    current = store.get(DELIVERIES, body["id"])
    if current is not None and _taken_over(current, body["driverId"]):
        store.put(DELIVERIES, handed_back(body["id"], current["driverId"]), current)

    def replace(delivery: Doc | None) -> Doc | None:
        if delivery is None or _taken_over(delivery, body["driverId"]):
            return assignment
        return None  # a repeat, or the assignment of a driver who handed it back since

    store.update(DELIVERIES, body["id"], replace)


def _taken_over(delivery: Doc, driver_id: str) -> bool:
    """Whether ``delivery`` is another driver's record, handed back, that ``driver_id``'s
    assignment replaces."""
    return bool(delivery["status"] == "released" and delivery["driverId"] != driver_id)


def _cancelled(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    def cancel(delivery: Doc | None) -> Doc | None:
        if delivery is None or delivery["status"] not in ACTIVE:
            return None
        return {**delivery, "status": "cancelled", "dropoff": area(delivery["dropoff"])}

    ctx.ports.store.update(DELIVERIES, event.body["id"], cancel)
