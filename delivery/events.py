"""The internal event types on the Delivery subsystem's bus, and their bodies.

Everything about one order's delivery is keyed by the order id; a driver's
profile by the driver id. Times are epoch milliseconds.

``order-updated`` (order-esg ingress)
    id, status, reason, customerRef, restaurant{id,name,address}, deliveryAddress,
    notifyCustomer, readyBy, changedAt
``driver-updated`` (driver-bff drivers-trigger)
    id, name, online, location, onlineAt, version
``driver-taken-offline`` (driver-bff drivers-trigger): the platform took the driver offline
    id, reason (``missed-offers``: they let offers in a row run out), offlineAt (when; one
    taking offline, so the push it calls for is sent once)
``offer-accepted``, ``offer-declined`` (driver-bff offers-trigger)
    deliveryId, driverId, answeredAt, expiresAt (the offer answered: the delivery may have been
    offered to the driver again since; dispatch takes an answer given in time for the delivery,
    whichever of its offers to the driver is open when it is heard)
``delivery-picked-up``, ``delivery-delivered`` (driver-bff deliveries-trigger)
    deliveryId, orderId, driverId
``driver-released`` (driver-bff deliveries-trigger): the driver handed an assigned delivery back
    deliveryId, orderId, driverId, reason (the driver's words, or null)
``delivery-offered`` (dispatch-control rules)
    id, orderId, driverId, pickup{restaurantId,name,address}, dropoff, expiresAt, revision
``offer-withdrawn`` (dispatch-control rules)
    id, driverId, expiresAt (the offer withdrawn: the delivery may be offered to the driver
    again at once; absent from events announced before it was added), revision
``driver-missed-offers`` (dispatch-control rules): the driver let an offer run out unanswered
    driverId, deliveryId, expiresAt (the offer that ran out), count (how many offers in a row
    the driver let run out since the latest offer they answered or their coming online, as
    dispatch heard them when it counted this one: the run as it stands, this one and any
    counted before it included; at most 10), missed (those offers' ``expiresAt``, oldest
    first: a consumer that heard of a later answer or coming online leaves out those that ran
    out before it)
``delivery-assigned`` (dispatch-control rules)
    id, orderId, driverId, pickup, dropoff, assignedAt, revision
``delivery-cancelled`` (dispatch-control rules)
    id, orderId, driverId (null when no driver was assigned), changedAt, revision
``delivery-status-changed`` (dispatch-control rules)
    id, orderId, status, driver{id,name}, location, changedAt, revision; status ``released``
    names the driver who handed the delivery back

``revision`` is ``[version, step]``: the delivery document's write that announced the event
(its change ``version``, which sorts in write order) and the event's place among those that
write announced. Dispatch's announcements are unordered (a trigger retried late), so a
consumer that must keep the delivery's order compares revisions (version as text, then step);
events announced before revisions existed have none (offers, withdrawals and assignments
had none before statuses did: an offer, its withdrawal and the next offer may be written in
one millisecond, with one ``expiresAt``).

Dispatch's collector and notification-esg's push function hear every ``driver-*`` type (by
prefix: see :data:`~delivery.dispatch_control.COLLECTED` and
:data:`~delivery.notification_esg.HEARD`), and leave alone the ones they do not need.
``driver-updated`` carries ``{id, name, online, location, onlineAt, version}``, ``onlineAt``
when the driver last asked to go online (``None`` before they ever did), ``version`` the
profile's save it announces (versions of one driver's saves sort, as text, in write order;
absent from events announced before it was added).
"""

from collections.abc import Mapping
from typing import Any

ORDER_UPDATED = "order-updated"
DRIVER_UPDATED = "driver-updated"
DRIVER_TAKEN_OFFLINE = "driver-taken-offline"
OFFER_ACCEPTED = "offer-accepted"
OFFER_DECLINED = "offer-declined"
DELIVERY_PICKED_UP = "delivery-picked-up"
DELIVERY_DELIVERED = "delivery-delivered"
DRIVER_RELEASED = "driver-released"
DELIVERY_OFFERED = "delivery-offered"
OFFER_WITHDRAWN = "offer-withdrawn"
DRIVER_MISSED_OFFERS = "driver-missed-offers"
DELIVERY_ASSIGNED = "delivery-assigned"
DELIVERY_CANCELLED = "delivery-cancelled"
DELIVERY_STATUS_CHANGED = "delivery-status-changed"


OFFER_TIMEOUT_MS = 2 * 60_000
"""How long an offer stays open: ``delivery-offered``'s ``expiresAt`` is when dispatch made it
plus this, or a millisecond after the delivery's offer before when that one was made in the
same millisecond. Dispatch makes a delivery's offers one after another, so of two of its offers
the later expires later (its ``expiresAt`` names it alone), and no offer made by now expires
later than this from now, but for those few milliseconds."""


def offer_id_of(delivery_id: str, expires_at: int) -> str:
    """The id an offer is answered by (``delivery-offered``'s ``id`` and ``expiresAt``): its
    delivery and its expiry, so the same delivery offered to the driver again later (after
    their offer ran out) is another offer."""
    return f"{delivery_id}@{expires_at}"


REVISION = "revision"
"""The field of dispatch's announcements holding their ``[version, step]``."""


def revision_order(revision: list[Any]) -> tuple[str, int]:
    """A ``revision`` as it sorts: by the write's version (as text), then by the step."""
    version, step = revision
    return str(version), int(step)


def announced_before(heard: Mapping[str, Any], kept: Mapping[str, Any] | None) -> bool:
    """Whether dispatch announced ``heard`` (an event's body) before what ``kept`` (a record
    built from its announcements) holds, by their :data:`REVISION`: an offer, its end and
    the next offer may be written in one millisecond, and heard in any order. Where either
    names none (events and records from before it was kept) they are not told apart."""
    theirs, ours = heard.get(REVISION), (kept or {}).get(REVISION)
    return theirs is not None and ours is not None and revision_order(theirs) < revision_order(ours)
