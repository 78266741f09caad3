"""Dispatch's collections and what its functions share: who is free, what is offered, nudges."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Literal, TypeVar

from delivery.dispatch_control.geo import SEARCH_RINGS, blocks_within, cells_apart
from delivery.events import OFFER_TIMEOUT_MS as OFFER_TIMEOUT_MS  # the offers dispatch makes
from shared.stores import Doc, Where
from shared.stores.base import MAX_IN_VALUES

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Document
    from shared.stores.base import Updater

DRIVERS = "dispatch-drivers"
"""``dispatch-drivers/{driverId}``: ``{id, name, online, location, cell, deliveryId,
offeredDeliveryId, reservedAt, missedOffers, missesFrom}``; ``cell`` is the location's grid
cell (:mod:`~delivery.dispatch_control.geo`), ``deliveryId`` the delivery they are busy with,
``offeredDeliveryId`` the one reserved for them while they consider its offer, ``reservedAt``
when an offer try last reserved them (missing until the first, and on reservations made
before it was kept; left as it is once the reservation goes); ``missedOffers`` and
``missesFrom`` the offers they let run out in a row (missing until the first;
:mod:`~delivery.dispatch_control.misses`); ``version`` the save of driver-bff's profile kept
(``driver-updated``'s ``version``; missing until an event names one)."""
VERSION = "version"
LAST_EXPIRY = "lastOfferExpiresAt"

DELIVERIES = "deliveries"
"""``deliveries/{deliveryId}`` (``"d-" + orderId``): ``{id, orderId, customerRef,
pickup{restaurantId,name,address}, pickupBlock, dropoff, status, searchFrom,
offer{driverId,expiresAt}|null, declinedBy, declinedAt, missedBy, driver{id,name}|null,
location, changedAt, releasedAt, lastOfferExpiresAt}``; ``releasedAt`` is when a driver last
handed it back (missing until then), so the next assignment is stamped after it.
``pickupBlock`` is the pickup's block (:mod:`~delivery.dispatch_control.geo`), missing on
deliveries stored before it was kept. ``declinedBy`` holds the drivers who turned the delivery
down or handed it back, once each; ``declinedAt`` maps each of them who turned it down (not one
who handed it back, nor one stored before it was kept: it is missing then) to when they last
did, so it may be offered to them again (:func:`may_offer_again`); ``missedBy`` those whose
offer ran out or who went offline holding it, least recent first (missing on deliveries stored
before it was kept). ``lastOfferExpiresAt`` is the ``expiresAt`` of its latest offer (missing
until the first, and on deliveries offered before it was kept): each offer expires at least a
millisecond after the one before, so the delivery and the expiry name one offer (``offerId``),
though a decline, its withdrawal and the next offer share a millisecond.
Once delivered or cancelled, ``dropoff`` keeps only its city and postcode."""

ORDERS = "dispatch-orders"
"""``dispatch-orders/{orderId}``: ``{status, changedAt}`` of the latest order update dispatch
acted on (``accepted``, ``ready`` or ``cancelled``), so an older one arriving late is ignored."""

Status = Literal[
    "scheduled", "searching", "offered", "assigned", "picked-up", "delivered", "cancelled"
]
"""``scheduled``: the food is far from ready, so the search starts at ``searchFrom``."""
Withdrawn = Literal["declined", "missed", "taken"]
"""Why an offer was taken back: the driver said no, let it run out or went offline, or was
taken by another delivery before the offer was written (which counts against them neither
way)."""
BUSY: tuple[Status, ...] = ("assigned", "picked-up")
"""Statuses in which the delivery's driver has no time for another one."""
DECLINE_COOL_DOWN_MS = 10 * 60_000
"""How long after a driver declined a delivery it may be offered to them again, once nobody
else can take it: long enough for what made them say no to change (the food nearer ready, the
driver elsewhere), short enough for two more rounds before Order gives up waiting (30 min)."""

T = TypeVar("T")


def delivery_id(order_id: str) -> str:
    """The delivery of an order."""
    return f"d-{order_id}"


def dispatchable(driver: Doc | None) -> bool:
    """Whether the driver works now and is somewhere known, busy or not."""
    return driver is not None and bool(driver["online"]) and driver["location"] is not None


def nudge_searching(
    store: AbstractDocumentStore,
    cause: str,
    drivers: Sequence[Doc],
    *,
    skip: str = "",
    everywhere: bool = False,
    now_ms: int,
) -> None:
    """For each newly available driver, touch the longest-waiting searching delivery within
    their reach that they have not declined (never ``skip``), so the rules try to offer it
    again; with none, the longest-waiting they declined that :func:`may_offer_again` them at
    ``now_ms``.

    Only the searching deliveries whose ``pickupBlock`` is among the blocks
    around the drivers are read (:func:`~delivery.dispatch_control.geo.blocks_within`),
    not every delivery waiting anywhere. With ``everywhere`` (the offer-timeouts
    sweep, once a minute) every searching delivery is read, so one stored before
    ``pickupBlock`` was kept, which no block finds, is still offered by the next sweep.
    One delivery per driver keeps a busy hour linear; the sweep catches any
    delivery a nudge went past.
    """
    located = [driver for driver in drivers if driver["location"] is not None]
    if not located:
        return
    waiting = sorted(
        (d.data for d in _searching_near(store, located, everywhere=everywhere)),
        key=lambda d: (d["changedAt"], d["id"]),
    )
    for driver in located:
        reachable = [
            delivery
            for delivery in waiting
            if delivery["id"] != skip
            and cells_apart(driver["location"], delivery["pickup"]["address"]) <= SEARCH_RINGS
        ]
        undeclined = (d for d in reachable if driver["id"] not in d["declinedBy"])
        again = (d for d in reachable if may_offer_again(d, driver["id"], now_ms))
        delivery = next(undeclined, None) or next(again, None)
        if delivery is not None:
            store.update(DELIVERIES, delivery["id"], lambda d: _nudged(d, cause))
            waiting.remove(delivery)


def _searching_near(
    store: AbstractDocumentStore, drivers: Sequence[Doc], *, everywhere: bool
) -> list[Document]:
    """The searching deliveries in the blocks within the drivers' reach (all of them with
    ``everywhere``)."""
    searching = Where("status", "==", "searching")
    if everywhere:
        return store.query(DELIVERIES, [searching])
    near = sorted({b for d in drivers for b in blocks_within(d["location"], SEARCH_RINGS)})
    return [
        d
        for chunk in in_chunks(near)
        for d in store.query(DELIVERIES, [searching, Where("pickupBlock", "in", chunk)])
    ]


def in_chunks(values: Iterable[T]) -> Iterator[list[T]]:
    """``values`` in order, in lists of at most :data:`~shared.stores.base.MAX_IN_VALUES` (the
    most one ``in`` condition takes), each taken from ``values`` only when it is asked for."""
    remaining = iter(values)
    while chunk := list(islice(remaining, MAX_IN_VALUES)):
        yield chunk


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


def holds_another(driver: Doc, key: str) -> bool:
    """Whether the driver is reserved for, or busy with, a delivery other than ``key``.

    A driver carries one delivery at a time: an offer of ``key`` standing for such a driver (it
    landed after they were taken by the other, or their reservation for it was dropped) is
    taken back, when the rules see it land and when the driver accepts it. The driver's fields
    name the delivery from its reservation on, through its assignment, to its end.
    """
    return driver["offeredDeliveryId"] not in (None, key) or driver["deliveryId"] not in (None, key)


def offered_to(delivery: Doc | None, driver_id: str) -> bool:
    """Whether the delivery is waiting for this driver's answer."""
    return (
        delivery is not None
        and delivery["status"] == "offered"
        and delivery["offer"]["driverId"] == driver_id
    )


def withdrawal(
    driver_id: str, now_ms: int, why: Withdrawn, *, expiring: int | None = None
) -> Updater:
    """An updater taking the driver's offer back so the delivery searches again; with
    ``expiring``, only the offer that expires then (not one made to them again since).

    A driver who declined is offered the delivery again only as :func:`may_offer_again`
    says; one who missed it goes to the end of ``missedBy``, so others are offered it first;
    one taken by another delivery stays where they were in neither.
    """

    def withdraw(delivery: Doc | None) -> Doc | None:
        if delivery is None or not offered_to(delivery, driver_id):
            return None
        if expiring is not None and delivery["offer"]["expiresAt"] != expiring:
            return None
        withdrawn = {**delivery, "status": "searching", "offer": None, "changedAt": now_ms}
        if why == "declined":
            return declined(withdrawn, driver_id, now_ms) or withdrawn
        if why == "missed":
            missed = [*(d for d in missed_by(delivery) if d != driver_id), driver_id]
            return {**withdrawn, "missedBy": missed}
        return withdrawn

    return withdraw


def declined(delivery: Doc, driver_id: str, at_ms: int) -> Doc | None:
    """The delivery with the driver's decline at ``at_ms`` noted (``declinedBy``, and
    ``declinedAt``); ``None`` when that changes nothing: a later decline of theirs is noted, or
    they handed it back (or declined it before declines were timed), so are never offered it
    again."""
    declines, by = declined_at(delivery), delivery["declinedBy"]
    if driver_id in by and at_ms <= declines.get(driver_id, at_ms):
        return None
    return {
        **delivery,
        "declinedBy": by if driver_id in by else [*by, driver_id],
        "declinedAt": {**declines, driver_id: at_ms},
    }


def declined_at(delivery: Doc) -> dict[str, int]:
    """When each driver who turned the delivery down last did (not those who handed it
    back)."""
    declines: dict[str, int] = delivery.get("declinedAt") or {}
    return declines


def may_offer_again(delivery: Doc, driver_id: str, now_ms: int) -> bool:
    """Whether the delivery may be offered at ``now_ms`` to a driver who declined it: they
    declined it (not handed it back) at least :data:`DECLINE_COOL_DOWN_MS` ago. Only once
    nobody else can take it (:func:`~delivery.dispatch_control.rules.offer_to_nearest`)."""
    at = declined_at(delivery).get(driver_id)
    return at is not None and now_ms >= at + DECLINE_COOL_DOWN_MS


def missed_by(delivery: Doc) -> list[str]:
    """The drivers who missed the delivery's offer, the one who missed it longest ago first."""
    missed: list[str] = delivery.get("missedBy", [])
    return missed


def release(store: AbstractDocumentStore, driver: Doc, now_ms: int) -> None:
    """Let go of the delivery reserved for a driver who can no longer take it (offline): its
    offer is withdrawn as missed, and a reservation no offer stands for (a try that died
    between the reservation and the offer) is dropped, which nothing else would drop."""
    held = driver["offeredDeliveryId"]
    if held is None or dispatchable(driver):
        return
    withdraw = withdrawal(driver["id"], now_ms, "missed")

    def if_still_gone(delivery: Doc | None) -> Doc | None:
        # Read again on each try of the write: a driver back online since keeps the offer
        # made to them meanwhile (a handling that read them offline may resume late).
        return None if dispatchable(store.get(DRIVERS, driver["id"])) else withdraw(delivery)

    store.update(DELIVERIES, held, if_still_gone)
    if not offered_to(store.get(DELIVERIES, held), driver["id"]):
        store.update(DRIVERS, driver["id"], lambda d: _unreserved(d, held))


def _unreserved(driver: Doc | None, key: str) -> Doc | None:
    if driver is None or dispatchable(driver) or driver["offeredDeliveryId"] != key:
        return None  # back online: the reservation may be a try on its way to the offer
    return {**driver, "offeredDeliveryId": None}


def area(address: Doc) -> Doc:
    """What a finished delivery keeps of an address: no street, no coordinates."""
    return {"city": address["city"], "postcode": address["postcode"]}
