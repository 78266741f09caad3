"""Keeps the drivers' offers and deliveries as dispatch decides them, how far restaurants
are with the orders (:mod:`~delivery.driver_bff.pickups`), and takes offline the drivers
who let offers in a row run out (:mod:`~delivery.driver_bff.absence`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.driver_bff.absence import take_offline
from delivery.driver_bff.pickups import keep_pickup
from delivery.driver_bff.records import (
    ACTIVE,
    DELIVERIES,
    DRIVERS,
    OFFERS,
    OFFERS_OPENED,
    OFFERS_OPENED_KEPT,
    area,
    cancelled_first,
    handed_back,
    is_cancelled_first,
    offered_area,
)
from delivery.events import (
    DELIVERY_ASSIGNED,
    DELIVERY_CANCELLED,
    DELIVERY_OFFERED,
    DRIVER_MISSED_OFFERS,
    OFFER_WITHDRAWN,
    ORDER_UPDATED,
    REVISION,
    announced_before,
)
from shared.stores import Doc, apply_event

if TYPE_CHECKING:
    from collections.abc import Callable

    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore


def keep_driver_work(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Apply one dispatch decision to the driver's offers, deliveries or availability, or keep
    an order's update."""
    handler = {
        ORDER_UPDATED: keep_pickup,
        DELIVERY_OFFERED: _offered,
        OFFER_WITHDRAWN: _withdrawn,
        DELIVERY_ASSIGNED: _assigned,
        DELIVERY_CANCELLED: _cancelled,
        DRIVER_MISSED_OFFERS: take_offline,
    }[event.type]
    handler(event, ctx)


def _offered(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """The driver's new offer; one of a delivery the driver has already (dispatch took their
    answer to an earlier offer of it, heard late) never opens, nor does one whose withdrawal
    came first, however close in time (:func:`_withdrawn_first`). One that opens before it
    expires is noted on the driver's profile: only such an offer is theirs to miss. The offer
    keeps only the customer's area and distance: the street is the assigned driver's to know."""
    body, store = event.body, ctx.ports.store
    theirs = _has_delivery(store, body["id"], body["driverId"])

    def mutate(offer: Doc | None) -> Doc:
        if offer is not None and (
            theirs or _withdrawn_first(offer, body) or announced_before(body, offer)
        ):
            return offer
        past = _past_drivers(offer, body["driverId"])
        new = {
            "deliveryId": body["id"],
            "orderId": body["orderId"],
            "driverId": body["driverId"],
            "pickup": {"name": body["pickup"]["name"], "address": body["pickup"]["address"]},
            "dropoff": offered_area(body["pickup"]["address"], body["dropoff"]),
            "expiresAt": body["expiresAt"],
            "status": "open",
            "answeredAt": None,
            "pastDrivers": past,
            REVISION: body.get(REVISION),
        }
        return _closed_as_assigned(new) if theirs else new

    apply_event(store, OFFERS, body["id"], event, mutate)
    if ctx.clock.now_ms() < body["expiresAt"] and _opened(store.get(OFFERS, body["id"]), body):
        store.update(DRIVERS, body["driverId"], lambda d: _opened_in_time(d, body["expiresAt"]))


def _past_drivers(offer: Doc | None, driver_id: str) -> list[str]:
    """The drivers a delivery whose latest offer is ``offer`` was offered to before, once
    each, as its offer to ``driver_id`` replaces it: never ``driver_id`` itself, who may have
    been offered it before (their offer ran out, and the others' too)."""
    if offer is None:
        return []
    past = [d for d in offer.get("pastDrivers", []) if d != driver_id]
    if offer["driverId"] not in (driver_id, *past):
        past.append(offer["driverId"])
    return past


def _opened(offer: Doc | None, offered: Doc) -> bool:
    """Whether ``offer`` is the ``offered`` offer, opened in the driver's app (whatever became
    of it since), not kept closed."""
    return bool(
        offer is not None
        and "orderId" in offer
        and offer["driverId"] == offered["driverId"]
        and offer["expiresAt"] == offered["expiresAt"]
        and offer["status"] != "assigned"
    )


def _opened_in_time(driver: Doc | None, expires_at: int) -> Doc | None:
    """The driver noting the offer expiring at ``expires_at`` as one they could answer
    (:func:`~delivery.driver_bff.absence.unanswered`); ``None`` when noted already."""
    if driver is None or expires_at in driver.get(OFFERS_OPENED, []):
        return None
    opened = sorted([*driver.get(OFFERS_OPENED, []), expires_at])[-OFFERS_OPENED_KEPT:]
    return {**driver, OFFERS_OPENED: opened}


def _has_delivery(store: AbstractDocumentStore, delivery_id: str, driver_id: str) -> bool:
    """Whether the driver was assigned the delivery (dispatch never offers it to them again):
    they have its record, or the one they handed back."""
    current = store.get(DELIVERIES, delivery_id)
    if current is not None and current["driverId"] == driver_id:
        return True
    return store.get(DELIVERIES, handed_back(delivery_id, driver_id)) is not None


def _withdrawn_first(offer: Doc, offered: Doc) -> bool:
    """Whether ``offer`` is what :func:`_withdrawn` kept of the ``offered`` offer (its driver
    and expiry), withdrawn before it arrived."""
    return bool(
        "orderId" not in offer
        and offer["driverId"] == offered["driverId"]
        and offer.get("expiresAt") == offered["expiresAt"]
    )


def _closed_as_assigned(offer: Doc) -> Doc:
    return {**offer, "status": "assigned", "dropoff": area(offer["dropoff"])}


def _withdrawn(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """The driver's offer is withdrawn; one made to them again since (a newer ``expiresAt``)
    stays open."""
    delivery_id, driver_id = event.body["id"], event.body["driverId"]
    expires_at = event.body.get("expiresAt")  # absent from events announced before it was
    revision = event.body.get(REVISION)

    def mutate(offer: Doc | None) -> Doc:
        if offer is None:  # withdrawn before we saw the offer: keep it from reopening
            placeholder = {"deliveryId": delivery_id, "driverId": driver_id, "status": "withdrawn"}
            if expires_at is not None:
                placeholder["expiresAt"] = expires_at
            return {**placeholder, REVISION: revision}
        if announced_before(event.body, offer):  # the next driver's offer is in already
            return offer
        made_again = expires_at is not None and offer.get("expiresAt") != expires_at
        theirs = offer["driverId"] == driver_id and offer["status"] in ("open", "accepted")
        if theirs and not made_again:
            withdrawn = {**offer, "status": "withdrawn", "dropoff": area(offer["dropoff"])}
            return {**withdrawn, REVISION: revision}
        return offer

    apply_event(ctx.ports.store, OFFERS, delivery_id, event, mutate)


def _assigned(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """The driver's new delivery; another driver's record, handed back before it, moves aside,
    and the driver's offer of it still open closes (:func:`_answered_by_assignment`).

    A driver is assigned a delivery at most once (dispatch never offers it again to one who
    handed it back), so the assignment of a driver who has a record of it is a repeat, and
    one older than the record it would replace (dispatch's ``assignedAt``) is stale: neither
    changes anything. One whose cancellation came first arrives cancelled.
    """
    body, store = event.body, ctx.ports.store
    delivery_id, driver_id = body["id"], body["driverId"]
    assignment = {
        "deliveryId": delivery_id,
        "orderId": body["orderId"],
        "driverId": driver_id,
        "pickup": {"name": body["pickup"]["name"], "address": body["pickup"]["address"]},
        "dropoff": body["dropoff"],
        "status": "assigned",
        "assignedAt": body["assignedAt"],
        "pickedUpAt": None,
        "deliveredAt": None,
    }
    repeat = store.get(DELIVERIES, handed_back(delivery_id, driver_id)) is not None

    def replaces(delivery: Doc) -> bool:
        return (
            not repeat
            and _handed_back_by_another(delivery, driver_id)
            and delivery["assignedAt"] <= body["assignedAt"]
        )

    def replace(delivery: Doc | None) -> Doc | None:
        if delivery is None or replaces(delivery):
            return assignment
        if delivery["driverId"] == driver_id and is_cancelled_first(delivery):
            return {**assignment, "status": "cancelled", "dropoff": area(body["dropoff"])}
        return None

    _make_room(store, delivery_id, replaces)
    store.update(DELIVERIES, delivery_id, replace)
    store.update(OFFERS, delivery_id, lambda offer: _answered_by_assignment(offer, driver_id))


def _answered_by_assignment(offer: Doc | None, driver_id: str) -> Doc | None:
    """The driver's offer still open, closed: the delivery is theirs already (dispatch took
    their answer to an earlier offer of it, heard late); ``None`` when there is none."""
    if offer is None or offer["driverId"] != driver_id or offer["status"] != "open":
        return None
    return _closed_as_assigned(offer)


def _cancelled(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """The order was cancelled: so is its driver's delivery, at once, or as its assignment
    arrives if it has not yet (:func:`~delivery.driver_bff.records.cancelled_first`)."""
    body, store = event.body, ctx.ports.store
    delivery_id, driver_id = body["id"], body["driverId"]

    def replaces(delivery: Doc) -> bool:
        return driver_id is not None and _handed_back_by_another(delivery, driver_id)

    def cancel(delivery: Doc | None) -> Doc | None:
        if delivery is None or replaces(delivery):
            if driver_id is None:  # nobody was assigned: no assignment can follow
                return None
            return cancelled_first(delivery_id, body["orderId"], driver_id)
        if delivery["status"] not in ACTIVE:
            return None
        return {**delivery, "status": "cancelled", "dropoff": area(delivery["dropoff"])}

    _make_room(store, delivery_id, replaces)
    store.update(DELIVERIES, delivery_id, cancel)


def _handed_back_by_another(delivery: Doc, driver_id: str) -> bool:
    """Whether ``delivery`` is another driver's record, handed back, that a record of
    ``driver_id`` may replace."""
    return bool(delivery["status"] == "released" and delivery["driverId"] != driver_id)


def _make_room(
    store: AbstractDocumentStore, delivery_id: str, replaced: Callable[[Doc], bool]
) -> None:
    """Keep the delivery's record at its driver's :func:`handed_back` key when ``replaced``
    says the next write takes its place."""
    current = store.get(DELIVERIES, delivery_id)
    if current is not None and replaced(current):
        store.put(DELIVERIES, handed_back(delivery_id, current["driverId"]), current)
