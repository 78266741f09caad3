"""Database-first: what drivers do in the API becomes events for dispatch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.driver_bff.records import OFFLINE_REASON, ONLINE_AT
from delivery.events import (
    DELIVERY_DELIVERED,
    DELIVERY_PICKED_UP,
    DRIVER_RELEASED,
    DRIVER_TAKEN_OFFLINE,
    DRIVER_UPDATED,
    OFFER_ACCEPTED,
    OFFER_DECLINED,
)

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange

DISPATCHED_FIELDS = ("name", "online", "location")
"""What dispatch needs to know of a driver."""
ANSWERS = {"accepted": OFFER_ACCEPTED, "declined": OFFER_DECLINED}
PROGRESSED = ("picked-up", "delivered")
"""The steps a driver's delivery reaches only from ``assigned``, the status it is created in:
a change from nothing to one of them (the local change feed's, for a document created and
moved on before it looked) is the move from ``assigned``."""
STEPS = {
    "picked-up": DELIVERY_PICKED_UP,
    "delivered": DELIVERY_DELIVERED,
    "released": DRIVER_RELEASED,
}


def publish_driver(change: DocumentChange, ctx: Context[DeliveryPorts]) -> None:
    """``driver-updated`` when the driver's name, availability or position changed, with
    when they last asked to go online (``onlineAt``, ``None`` before they ever did) and the
    profile's save it comes from (``version``: of two saves in one millisecond, heard in
    either order, it tells the later)."""
    if change.after is None:
        return
    before = change.before or {}
    if all(before.get(f) == change.after[f] for f in DISPATCHED_FIELDS):
        return
    body = {
        "id": change.key,
        **{f: change.after[f] for f in DISPATCHED_FIELDS},
        ONLINE_AT: change.after.get(ONLINE_AT),
        "version": change.version,
    }
    ctx.emit(DRIVER_UPDATED, "driver", body, partition_key=change.key)


def publish_taken_offline(change: DocumentChange, ctx: Context[DeliveryPorts]) -> None:
    """``driver-taken-offline`` when the platform took the driver offline, so they are told."""
    before, after = change.before, change.after
    if before is None or after is None or not before["online"] or after["online"]:
        return
    reason = after.get(OFFLINE_REASON)
    if reason is None:
        return
    body = {"id": change.key, "reason": reason, "offlineAt": after["updatedAt"]}
    ctx.emit(DRIVER_TAKEN_OFFLINE, "driver", body, partition_key=change.key)


def publish_answer(change: DocumentChange, ctx: Context[DeliveryPorts]) -> None:
    """``offer-accepted`` / ``offer-declined`` when the driver answered an open offer, naming
    the offer by its ``expiresAt`` (the delivery may have been offered to them again since)."""
    before, after = change.before, change.after
    if after is None:
        return
    if before is None:  # created open and answered before the change feed looked (locally)
        before = {"status": "open", "driverId": after["driverId"]}
    if before["status"] != "open":
        return
    if after["driverId"] != before["driverId"] or after["status"] not in ANSWERS:
        return
    body = {
        "deliveryId": after["deliveryId"],
        "driverId": after["driverId"],
        "answeredAt": after["answeredAt"],
        "expiresAt": after["expiresAt"],
    }
    ctx.emit(ANSWERS[after["status"]], "offer", body, partition_key=after["orderId"])


def publish_progress(change: DocumentChange, ctx: Context[DeliveryPorts]) -> None:
    """``delivery-picked-up`` / ``delivery-delivered`` when the driver reported the step;
    ``driver-released``, with the driver's reason, when they handed the delivery back."""
    before, after = change.before, change.after
    if after is None:
        return
    if before is None and after["status"] in PROGRESSED:
        before = {"status": "assigned"}  # created so, and moved on before the feed looked
    if before is None or before["status"] == after["status"]:
        return
    if after["status"] not in STEPS:
        return
    body = {k: after[k] for k in ("deliveryId", "orderId", "driverId")}
    if after["status"] == "released":
        body["reason"] = after.get("releaseReason")
    ctx.emit(STEPS[after["status"]], "delivery", body, partition_key=after["orderId"])
