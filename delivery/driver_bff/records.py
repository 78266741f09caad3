"""The driver BFF's collections and the states of what they hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.geo import distance_m

if TYPE_CHECKING:
    from shared.stores import Doc

DRIVERS = "drivers"
"""``drivers/{driverId}``: ``{id, name, vehicle, online, location, locationAt, updatedAt,
acceptingOfferId, onlineAt, answeredUpTo, offersOpened, offlineReason}``; ``locationAt`` is
when the app took the position ``location`` holds (its ``reportedAt``, or when a report saying
none arrived; missing until a location is reported, and on profiles stored before it was kept);
``acceptingOfferId`` names the offer the driver last began to accept (see
:func:`~delivery.driver_bff.offers.accepting`), ``None`` or missing once they went offline
(profiles written before offers had ids may hold an ``acceptingDeliveryId`` no longer read).
``onlineAt`` is when they last asked to go online, ``answeredUpTo`` the ``expiresAt`` of the
latest offer they answered (both missing until then), ``offlineReason`` why the platform took
them offline (:data:`OFFLINE_REASONS`), ``None`` or missing when it did not; offers that ran
out before either do not count against them (see :mod:`~delivery.driver_bff.absence`).
``offersOpened`` holds the ``expiresAt`` of the latest offers (at most
:data:`OFFERS_OPENED_KEPT`) that reached the driver's app before they expired (missing until
the first): only those count against them when they run out."""
ONLINE_AT = "onlineAt"
LOCATION_AT = "locationAt"
ANSWERED_UP_TO = "answeredUpTo"
OFFERS_OPENED = "offersOpened"
OFFERS_OPENED_KEPT = 10
"""The latest offers kept in ``offersOpened``: more than the misses in a row that take a
driver offline, which all come after the latest offer they answered."""
OFFLINE_REASON = "offlineReason"
MISSED_OFFERS = "missed-offers"
"""The ``offlineReason`` of a driver who let offers in a row run out unanswered."""
OFFLINE_REASONS = (MISSED_OFFERS,)

OFFERS = "driver-offers"
"""``driver-offers/{deliveryId}``: the latest offer of a delivery, ``{deliveryId, orderId,
driverId, pickup{name,address}, dropoff, expiresAt, status, answeredAt, answer, pastDrivers,
revision}`` (``revision``: that of dispatch's latest offer or withdrawal applied, ``None`` or
missing when it named none, so an older one heard late changes nothing);
status is ``open``, ``accepted``, ``declined``, ``withdrawn``, ``released`` (accepted, then
handed back) or ``assigned`` (the delivery was assigned to the driver on their answer to an
earlier offer of it, which dispatch heard late); ``answer`` is the driver's verdict
(``accepted`` or ``declined``), kept when the offer is then withdrawn or released (missing
until they answer, and on offers answered before it was kept). No offer keeps the customer's
street or coordinates: an open one's ``dropoff`` is its :func:`offered_area`, the others' its
:func:`area` (the whole address comes with the assignment, in :data:`DELIVERIES`; offers stored
before hold it while open, and are shown only their :func:`offered_area`). ``pastDrivers``
names, once each, the drivers the delivery was offered to before its latest driver, never that
driver (who may have been offered it before too; offers stored before may name them, and are
read as if they did not): a late answer of theirs is told the offer was withdrawn. The
delivery and ``expiresAt`` identify an offer: a driver may be offered a delivery again once
their offer ran out. An offer withdrawn before it arrived is kept as ``{deliveryId,
driverId, expiresAt, status: "withdrawn"}``, so that offer never opens when it comes
(``expiresAt`` is missing when the withdrawal named none: then only an offer announced before
the withdrawal stays closed)."""
ANSWER = "answer"
"""The field of an offer keeping the driver's verdict (see :data:`OFFERS`)."""

DELIVERIES = "driver-deliveries"
"""``driver-deliveries/{deliveryId}``: ``{deliveryId, orderId, driverId, pickup, dropoff, status,
assignedAt, pickedUpAt, deliveredAt}`` (and ``releasedAt, releaseReason`` once released);
status is ``assigned``, ``picked-up``, ``delivered``, ``cancelled`` or ``released`` (handed
back before the pickup); once no longer active, ``dropoff`` keeps only its :func:`area`. A
delivery released and then assigned to another driver keeps the releasing driver's record at
:func:`handed_back`. The record at ``{deliveryId}`` is the latest assignment's (by dispatch's
``assignedAt``; a driver is assigned a delivery at most once), or, when the cancellation came
before it, :func:`cancelled_first` until the assignment arrives."""

ACTIVE = ("assigned", "picked-up")
"""Statuses of a delivery the driver still has to finish."""


def handed_back(delivery_id: str, driver_id: str) -> str:
    """Where a driver's released record of a delivery is kept once another driver has it."""
    return f"{delivery_id}:{driver_id}"


def area(address: Doc) -> Doc:
    """What the driver keeps of a customer's address once they no longer need it: the city
    and postcode, no street or coordinates."""
    return {"city": address["city"], "postcode": address["postcode"]}


def offered_area(pickup: Doc, dropoff: Doc) -> Doc:
    """What a driver is shown of a customer's address before taking the delivery on: its
    :func:`area` and ``distanceM``, how far it is from the ``pickup`` address in whole metres
    (as the crow flies). ``dropoff`` is the whole address, or what this kept of it."""
    distance = dropoff.get("distanceM")
    if distance is None:
        distance = round(distance_m(pickup, dropoff))
    return {**area(dropoff), "distanceM": distance}


def cancelled_first(delivery_id: str, order_id: str, driver_id: str) -> Doc:
    """The record of a delivery cancelled before its assignment to ``driver_id`` arrived:
    ``{deliveryId, orderId, driverId, status: "cancelled"}``; the assignment, when it comes,
    fills it in, still cancelled. The API treats it as no delivery yet (404)."""
    return {
        "deliveryId": delivery_id,
        "orderId": order_id,
        "driverId": driver_id,
        "status": "cancelled",
    }


def is_cancelled_first(delivery: Doc) -> bool:
    """Whether ``delivery`` is a :func:`cancelled_first` record, its assignment not yet in."""
    return "assignedAt" not in delivery
