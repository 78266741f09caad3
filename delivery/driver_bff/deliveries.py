"""The driver's deliveries: see them, and report picking up and delivering the order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from delivery.driver_bff.models import Deliveries, DeliveriesQuery, Delivery
from delivery.driver_bff.pickups import UNKNOWN, readiness
from delivery.driver_bff.records import (
    ACTIVE,
    DELIVERIES,
    area,
    handed_back,
    is_cancelled_first,
)
from shared.api import HttpApi, HttpError
from shared.stores import Doc, Where
from shared.stores.paging import newest_first

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.auth import Principal
    from shared.stores import AbstractDocumentStore

Step = Literal["picked-up", "delivered", "released"]
PREVIOUS: dict[Step, str] = {
    "picked-up": "assigned",
    "delivered": "picked-up",
    "released": "assigned",
}
STAMP: dict[Step, str] = {
    "picked-up": "pickedUpAt",
    "delivered": "deliveredAt",
    "released": "releasedAt",
}


def own(delivery: Doc | None, driver_id: str) -> Doc:
    """The delivery if it is the driver's, or the refusal (404, 403); one whose assignment
    has not arrived yet is none."""
    if delivery is None or is_cancelled_first(delivery):
        raise HttpError(404, "no such delivery")
    if delivery["driverId"] != driver_id:
        raise HttpError(403, "this delivery is assigned to another driver")
    return delivery


def mine(store: AbstractDocumentStore, delivery_id: str, driver_id: str) -> Doc:
    """The driver's record of the delivery: the current one, or the one they handed back
    before another driver took the delivery over; or the refusal (404, 403)."""
    current = store.get(DELIVERIES, delivery_id)
    if current is not None and current["driverId"] != driver_id:
        current = store.get(DELIVERIES, handed_back(delivery_id, driver_id)) or current
    return own(current, driver_id)


def advance(
    delivery: Doc | None, driver_id: str, step: Step, now_ms: int, details: Doc | None = None
) -> Doc | None:
    """The delivery moved to ``step`` (with ``details``), ``None`` when it is there already,
    or the refusal.

    A delivery no longer active (delivered, released) keeps only the area of the customer's
    address.
    """
    current = own(delivery, driver_id)
    if current["status"] == step:
        return None
    if current["status"] != PREVIOUS[step]:
        raise HttpError(409, f"a delivery that is {current['status']} cannot become {step}")
    moved = {**current, **(details or {}), "status": step, STAMP[step]: now_ms}
    return moved if step in ACTIVE else {**moved, "dropoff": area(moved["dropoff"])}


def view(store: AbstractDocumentStore, delivery: Doc) -> Delivery:
    """What the driver sees of a delivery: the customer's address only while it is active,
    how far the restaurant is with the food only while it is to be picked up."""
    to_pick_up = delivery["status"] == "assigned"
    food = readiness(store, delivery["orderId"]) if to_pick_up else UNKNOWN
    shown = {**delivery, "pickup": {**delivery["pickup"], **food}}
    if delivery["status"] in ACTIVE:
        return Delivery.model_validate(shown)
    return Delivery.model_validate({**shown, "dropoff": area(delivery["dropoff"])})


NO_SUCH_DELIVERY = "no such delivery (an id that cannot exist included)"
STEP_REFUSALS = {404: NO_SUCH_DELIVERY, 409: "the delivery is not at the step before"}


def register(api: HttpApi, ports: DeliveryPorts) -> None:
    """Declare the delivery routes on ``api``."""
    store, clock = ports.store, ports.clock

    def report(caller: Principal, delivery_id: str, step: Step) -> Delivery:
        now = clock.now_ms()
        store.update(DELIVERIES, delivery_id, lambda d: advance(d, caller.subject, step, now))
        return view(store, own(store.get(DELIVERIES, delivery_id), caller.subject))

    @api.route(
        "GET", "/me/deliveries", actors={"driver"}, response=Deliveries, query=DeliveriesQuery
    )
    def get_deliveries(caller: Principal, query: DeliveriesQuery) -> Deliveries:
        """The caller's deliveries, newest first, a page at a time."""
        theirs = [Where("driverId", "==", caller.subject)]
        page = newest_first(store, DELIVERIES, theirs, "assignedAt", query.limit, query.cursor())
        found = [view(store, d.data) for d in page.documents]
        return Deliveries(deliveries=found, next=page.next_token)

    @api.route(
        "GET",
        "/deliveries/{delivery_id}",
        actors={"driver"},
        response=Delivery,
        refusals={404: NO_SUCH_DELIVERY},
    )
    def get_delivery(caller: Principal, delivery_id: str) -> Delivery:
        """One of the caller's deliveries (also one they handed back)."""
        return view(store, mine(store, delivery_id, caller.subject))

    @api.route(
        "POST",
        "/deliveries/{delivery_id}/picked-up",
        actors={"driver"},
        response=Delivery,
        refusals=STEP_REFUSALS,
    )
    def picked_up(caller: Principal, delivery_id: str) -> Delivery:
        """Report that the caller has the order (only after it was assigned to them)."""
        return report(caller, delivery_id, "picked-up")

    @api.route(
        "POST",
        "/deliveries/{delivery_id}/delivered",
        actors={"driver"},
        response=Delivery,
        refusals=STEP_REFUSALS,
    )
    def delivered(caller: Principal, delivery_id: str) -> Delivery:
        """Report that the order reached the customer (only after it was picked up)."""
        return report(caller, delivery_id, "delivered")
