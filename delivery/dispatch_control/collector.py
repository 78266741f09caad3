"""Collects what happens to orders, offers and deliveries into dispatch's deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.dispatch_control.drivers import keep_driver
from delivery.dispatch_control.geo import block_of
from delivery.dispatch_control.misses import forgiven
from delivery.dispatch_control.records import (
    DELIVERIES,
    DRIVERS,
    ORDERS,
    area,
    declined,
    declined_at,
    delivery_id,
    dispatchable,
    holds_another,
    offered_to,
    withdrawal,
)
from delivery.events import (
    DELIVERY_DELIVERED,
    DELIVERY_PICKED_UP,
    DRIVER_RELEASED,
    DRIVER_UPDATED,
    OFFER_ACCEPTED,
    OFFER_DECLINED,
    ORDER_UPDATED,
)
from shared.exceptions import BusinessRuleViolation

if TYPE_CHECKING:
    from collections.abc import Callable

    from delivery.dispatch_control.records import Withdrawn
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore, Doc

NEEDS_A_DRIVER = ("accepted", "ready")
COURSE = (*NEEDS_A_DRIVER, "cancelled")
"""The order statuses dispatch acts on, in their course: of two stamped with the same time
(Order may give a status the time of the write before it), the later here is the latest."""
CANCELLABLE = ("scheduled", "searching", "offered", "assigned")
DISPATCH_LEAD_MS = 20 * 60_000
"""How long before the food is ready (``readyBy``) dispatch starts looking for a driver:
about the time a driver needs to reach the restaurant. A driver found earlier would wait."""
TOO_LATE_TO_CANCEL = ("picked-up", "delivered")
PROGRESS = {
    DELIVERY_PICKED_UP: (("assigned",), "picked-up"),
    DELIVERY_DELIVERED: (("assigned", "picked-up"), "delivered"),
}
"""The statuses a driver's report moves a delivery from, and to. A delivery is delivered from
``assigned`` too: the driver's two reports come from an unordered trigger, so the delivery
may be heard of before the pickup, which it implies (and which is then announced with it)."""


def collect(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Route the event to what it changes; every change is guarded, so repeats change nothing.

    A type the channel lets through that nothing here handles is left alone.
    """
    handlers: dict[str, Callable[[Envelope, Context[DeliveryPorts]], None]] = {
        ORDER_UPDATED: _order_updated,
        DRIVER_UPDATED: keep_driver,
        OFFER_ACCEPTED: _offer_accepted,
        OFFER_DECLINED: _offer_declined,
        DELIVERY_PICKED_UP: _progressed,
        DELIVERY_DELIVERED: _progressed,
        DRIVER_RELEASED: _released,
    }
    handler = handlers.get(event.type)
    if handler is not None:
        handler(event, ctx)


def _order_updated(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    order, store = event.body, ctx.ports.store
    if order["status"] not in COURSE:
        return
    if not _latest(store, order):
        ctx.log.info(
            "order %s: %s came after a later status; ignored", order["id"], order["status"]
        )
        return
    key = delivery_id(order["id"])
    if order["status"] in NEEDS_A_DRIVER:
        created = store.create(DELIVERIES, key, _new_delivery(order, event.timestamp))
        if not created and order["status"] == "ready":  # ready before it was said: search now
            store.update(DELIVERIES, key, lambda d: start_search(d, event.timestamp))
        elif not created:  # the food is said to be ready at another time
            store.update(DELIVERIES, key, lambda d: _rescheduled(d, order, event.timestamp))
    elif order["status"] == "cancelled":
        store.update(DELIVERIES, key, lambda d: _cancelled(d, event.timestamp))
        delivery = store.get(DELIVERIES, key)
        if delivery is not None and delivery["status"] in TOO_LATE_TO_CANCEL:
            # The not-delivered deadline, or an answer that missed its deadline's grace.
            raise BusinessRuleViolation(
                f"order {order['id']} was cancelled ({order['reason']}) after its delivery "
                f"was {delivery['status'].replace('-', ' ')}: the food went out unpaid; "
                "a person must settle it"
            )


def _latest(store: AbstractDocumentStore, order: Doc) -> bool:
    """Whether the order update is the latest dispatch heard of (a repeat of it included).

    Order's status announcements may arrive out of order (they come from
    unordered triggers, and a failed one is retried after the next went out): an
    ``accepted`` arriving after ``cancelled`` must not send a driver, even one
    stamped with the same time.
    """

    def newer(known: Doc | None) -> Doc | None:
        if known is not None and _place(known) >= _place(order):
            return None
        return {"status": order["status"], "changedAt": order["changedAt"]}

    if store.update(ORDERS, order["id"], newer) is not None:
        return True
    known = store.get(ORDERS, order["id"])
    return known is not None and _place(known) == _place(order)


def _place(order: Doc) -> tuple[int, int]:
    """Where an order status comes in the order's course: by time, then by :data:`COURSE`."""
    return order["changedAt"], COURSE.index(order["status"])


def _search_from(order: Doc, now_ms: int) -> int:
    """When to start looking for a driver for ``order``: :data:`DISPATCH_LEAD_MS` before the
    food is ready, now if it is ready or said to be soon (or nobody said when)."""
    ready_by = order.get("readyBy") if order["status"] == "accepted" else None
    return now_ms if ready_by is None else max(now_ms, ready_by - DISPATCH_LEAD_MS)


def _new_delivery(order: Doc, now_ms: int) -> Doc:
    if order["deliveryAddress"] is None:
        raise BusinessRuleViolation(f"order {order['id']} needs a driver but has no address")
    restaurant = order["restaurant"]
    search_from = _search_from(order, now_ms)
    return {
        "id": delivery_id(order["id"]),
        "orderId": order["id"],
        "customerRef": order["customerRef"],
        "pickup": {
            "restaurantId": restaurant["id"],
            "name": restaurant["name"],
            "address": restaurant["address"],
        },
        "pickupBlock": block_of(restaurant["address"]),
        "dropoff": order["deliveryAddress"],
        "status": "searching" if search_from <= now_ms else "scheduled",
        "searchFrom": search_from,
        "offer": None,
        "declinedBy": [],
        "declinedAt": {},
        "missedBy": [],
        "driver": None,
        "location": None,
        "changedAt": now_ms,
    }


def start_search(delivery: Doc | None, now_ms: int) -> Doc | None:
    """A scheduled delivery starts searching for a driver now; any other is left as it is."""
    if delivery is None or delivery["status"] != "scheduled":
        return None
    return {**delivery, "status": "searching", "changedAt": now_ms}


def _rescheduled(delivery: Doc | None, order: Doc, now_ms: int) -> Doc | None:
    """A scheduled delivery's search moves with the time the food is now said to be ready
    (the latest order update's ``readyBy``), starting now if that is due; a delivery
    searching already, or further on, is left as it is."""
    if delivery is None or delivery["status"] != "scheduled":
        return None
    search_from = _search_from(order, now_ms)
    if search_from == delivery["searchFrom"]:
        return None
    status = "searching" if search_from <= now_ms else "scheduled"
    return {**delivery, "status": status, "searchFrom": search_from, "changedAt": now_ms}


def _cancelled(delivery: Doc | None, now_ms: int) -> Doc | None:
    if delivery is None or delivery["status"] not in CANCELLABLE:
        return None
    at = max(now_ms, delivery["changedAt"])  # never before the assignment it ends
    return _finished({**delivery, "status": "cancelled", "changedAt": at})


def _offer_accepted(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """The driver takes the delivery offered to them if they answered in time and are still
    online as it is assigned; one heard offline by then (another instance saving it) lets the
    offer go as missed, as going offline holding it does. A driver who holds another delivery
    (:func:`~delivery.dispatch_control.records.holds_another`) is not assigned this one: its
    offer is taken back, counting against them neither way."""
    answer, store = event.body, ctx.ports.store
    _forgive(answer, store)
    let_go: list[tuple[Withdrawn, int]] = []  # why the offer goes, and its expiry

    def assign(delivery: Doc | None) -> Doc | None:
        driver = store.get(DRIVERS, answer["driverId"])  # read again on each try of the write
        if driver is None or delivery is None or not offered_to(delivery, driver["id"]):
            return None
        expires_at = delivery["offer"]["expiresAt"]
        if answer["answeredAt"] >= expires_at:
            return None
        if not dispatchable(driver):
            let_go.append(("missed", expires_at))
            return None
        if holds_another(driver, delivery["id"]):
            let_go.append(("taken", expires_at))
            return None
        return {
            **delivery,
            "status": "assigned",
            "offer": None,
            "driver": {"id": driver["id"], "name": driver["name"]},
            "location": None,  # followed from the pickup on
            "changedAt": max(event.timestamp, delivery.get("releasedAt", -1) + 1),
        }

    store.update(DELIVERIES, answer["deliveryId"], assign)
    if let_go:
        driver_id, key = answer["driverId"], answer["deliveryId"]
        why, expiring = let_go[-1]
        held = "went offline" if why == "missed" else "holds another delivery"
        ctx.log.info("%s accepted %s, but %s: not assigned", driver_id, key, held)
        store.update(
            DELIVERIES, key, withdrawal(driver_id, event.timestamp, why, expiring=expiring)
        )


def _offer_declined(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """The driver's offer is taken back; a decline heard once the offer is gone (taken back as
    run out, the delivery offered to someone else, or to them again, since) is still noted, so
    the delivery is offered to them again only after the cool-down
    (:func:`~delivery.dispatch_control.records.may_offer_again`). A decline takes back only the
    offer it answers (one announced before answers named their offer, any offer to them): a
    repeat heard once the delivery was offered to them again leaves that offer standing."""
    answer = event.body
    driver_id = answer["driverId"]
    _forgive(answer, ctx.ports.store)
    withdraw = withdrawal(driver_id, event.timestamp, "declined", expiring=answer.get("expiresAt"))

    def decline(delivery: Doc | None) -> Doc | None:
        if delivery is None or delivery["status"] not in CANCELLABLE:
            return None
        return withdraw(delivery) or declined(delivery, driver_id, event.timestamp)

    ctx.ports.store.update(DELIVERIES, answer["deliveryId"], decline)


def _forgive(answer: Doc, store: AbstractDocumentStore) -> None:
    """The driver answered: the offers they let run out before this one are forgiven
    (:mod:`~delivery.dispatch_control.misses`), however late the answer is heard; an answer
    announced before answers named their offer, those that ran out before it was given."""
    up_to: int = answer["expiresAt"] if "expiresAt" in answer else answer["answeredAt"]
    store.update(DRIVERS, answer["driverId"], lambda d: forgiven(d, up_to))


def _progressed(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    report, store = event.body, ctx.ports.store
    previous, status = PROGRESS[event.type]
    driver = store.get(DRIVERS, report["driverId"]) or {}

    def advance(delivery: Doc | None) -> Doc | None:
        if delivery is None or delivery["status"] not in previous:
            return None
        if delivery["driver"]["id"] != report["driverId"]:
            return None
        location = driver.get("location") or delivery["location"]
        at = max(event.timestamp, delivery["changedAt"])  # never before the assignment
        moved = {**delivery, "status": status, "location": location, "changedAt": at}
        return _finished(moved) if status == "delivered" else moved

    store.update(DELIVERIES, report["deliveryId"], advance)


def _released(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """The assigned driver handed the delivery back: it searches again at once, never to be
    offered to them again (they said they cannot take it; a decline of theirs before no longer
    counts, so no cool-down ends it).

    The hand-back is stamped after the assignment it ends, and the next assignment after the
    hand-back (``releasedAt``), each at least a millisecond later: a consumer keeping the
    latest status by ``changedAt`` cannot tell ``released`` and ``assigned`` of one
    millisecond apart (their course repeats), and one heard late would hide the new driver."""
    report = event.body

    def hand_back(delivery: Doc | None) -> Doc | None:
        if delivery is None or delivery["status"] != "assigned":
            return None
        if delivery["driver"]["id"] != report["driverId"]:
            return None
        released_at = max(event.timestamp, delivery["changedAt"] + 1)
        driver_id = report["driverId"]
        by = delivery["declinedBy"]
        return {
            **delivery,
            "status": "searching",
            "driver": None,
            "location": None,
            "declinedBy": by if driver_id in by else [*by, driver_id],
            "declinedAt": {d: at for d, at in declined_at(delivery).items() if d != driver_id},
            "changedAt": released_at,
            "releasedAt": released_at,
        }

    if ctx.ports.store.update(DELIVERIES, report["deliveryId"], hand_back) is not None:
        # Not the reason: free text a driver typed may say anything about anyone.
        ctx.log.info("%s handed %s back", report["driverId"], report["deliveryId"])


def _finished(delivery: Doc) -> Doc:
    """A delivered or cancelled delivery keeps only the area of the customer's address."""
    return {**delivery, "dropoff": area(delivery["dropoff"])}
