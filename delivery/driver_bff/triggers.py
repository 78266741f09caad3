"""Database-first: what drivers do in the API becomes events for dispatch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.driver_bff.records import ANSWER, OFFLINE_REASON, ONLINE_AT
from delivery.events import (
    DELIVERY_DELIVERED,
    DELIVERY_PICKED_UP,
    DRIVER_RELEASED,
    DRIVER_TAKEN_OFFLINE,
    DRIVER_UPDATED,
    OFFER_ACCEPTED,
    OFFER_DECLINED,
    offer_id_of,
)

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.runtime.context import Context
    from shared.stores import Doc, DocumentChange

DISPATCHED_FIELDS = ("name", "online", "location")
"""What dispatch needs to know of a driver."""
VERDICTS = ("accepted", "declined")
"""The statuses a driver's answer sets on their offer."""
ANSWERS = {
    ("open", "accepted"): OFFER_ACCEPTED,
    ("open", "declined"): OFFER_DECLINED,
}
"""(offer status before, the driver's verdict after) -> the event the answer is announced
with. An offer is created ``open`` (or closed: withdrawn before it came, or its delivery the
driver's already), so a change from nothing, or to another offer (another driver, or the same
driver's offer made again: another ``expiresAt``), is one from ``open``; the offer it replaced
is done with already (dispatch took it back, or heard its answer, before making the next one).
The verdict is the status an answer sets, or, once the offer was withdrawn or released since,
the ``answer`` it keeps (:func:`_verdict`)."""
STEPS = {
    ("assigned", "picked-up"): DELIVERY_PICKED_UP,
    ("assigned", "delivered"): DELIVERY_DELIVERED,
    ("picked-up", "delivered"): DELIVERY_DELIVERED,
    ("assigned", "released"): DRIVER_RELEASED,
}
"""(delivery status before, after) -> the event the driver's step is announced with. A
delivery is created ``assigned``, so a change from nothing, or from another driver's record
(released, which the new assignment replaced), is one from ``assigned``; but a handed-back
record moved to :func:`~delivery.driver_bff.records.handed_back` is created as it is, its
release announced already. A delivery delivered straight from ``assigned`` (picked up and
delivered in one change) is announced delivered only: dispatch takes that to imply the
pickup, and announces both."""


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
    the offer by its ``expiresAt`` (the delivery may have been offered to them again since).

    A change may hold several writes (the local change feed's): one from nothing, or from
    another offer of the delivery, is read from the state the offer is created in, and one
    that also took the answered offer back (withdrawn, or released) still announces the answer
    it kept (:data:`ANSWERS`). However the change came, an answer is one event, its id derived
    from the offer and the verdict (consumers drop any repeat)."""
    offer = change.after
    if offer is None:
        return
    before = change.before
    if before is None or _offer_of(before) != _offer_of(offer):
        before = {"status": "open"}
    verdict = _verdict(offer)
    answer = None if verdict is None else ANSWERS.get((before["status"], verdict))
    if answer is None:
        return
    body = {
        "deliveryId": offer["deliveryId"],
        "driverId": offer["driverId"],
        "answeredAt": offer["answeredAt"],
        "expiresAt": offer["expiresAt"],
    }
    fact = f"{offer_id_of(offer['deliveryId'], offer['expiresAt'])}/{verdict}"
    ctx.emit(answer, "offer", body, partition_key=offer["orderId"], fact=fact)


def _verdict(offer: Doc) -> str | None:
    """The driver's answer to the offer a ``driver-offers`` record holds: its status, once
    answered, or the ``answer`` it keeps since (withdrawn or released); ``None`` when they
    gave none, or the record, stored before answers were kept, does not say."""
    status = str(offer["status"])
    return status if status in VERDICTS else offer.get(ANSWER)


def _offer_of(offer: Doc) -> tuple[object, object]:
    """What identifies the offer a ``driver-offers`` record holds: its driver and expiry."""
    return offer["driverId"], offer.get("expiresAt")


def publish_progress(change: DocumentChange, ctx: Context[DeliveryPorts]) -> None:
    """``delivery-picked-up`` / ``delivery-delivered`` when the driver reported the step;
    ``driver-released``, with the driver's reason, when they handed the delivery back.

    A change may hold several writes (the local change feed's): one from nothing, or from
    another driver's record, is read from the state the record is created in
    (:data:`STEPS`)."""
    delivery, before = change.after, change.before
    if delivery is None:
        return
    if before is None or before["driverId"] != delivery["driverId"]:
        before = {"status": _created_in(change.key, delivery)}
    step = STEPS.get((before["status"], delivery["status"]))
    if step is None:
        return
    body = {k: delivery[k] for k in ("deliveryId", "orderId", "driverId")}
    if step == DRIVER_RELEASED:
        body["reason"] = delivery.get("releaseReason")
    ctx.emit(step, "delivery", body, partition_key=delivery["orderId"])


def _created_in(key: str, delivery: Doc) -> str:
    """The status a ``driver-deliveries`` record at ``key`` was created in: ``assigned``, but
    for a handed-back record moved aside, created released."""
    return "assigned" if key == delivery["deliveryId"] else str(delivery["status"])
