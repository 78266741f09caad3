"""Handing an assigned delivery back before the pickup, so dispatch finds another driver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.driver_bff.deliveries import advance, mine, view
from delivery.driver_bff.models import Delivery, ReleaseRequest
from delivery.driver_bff.records import DELIVERIES, OFFERS
from shared.api import HttpApi

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.auth import Principal
    from shared.stores import Doc

RELEASE_REFUSALS = {
    404: "no such delivery (an id that cannot exist included)",
    409: "the delivery is no longer assigned: picked up, delivered or cancelled",
}


def let_go(offer: Doc | None, driver_id: str) -> Doc | None:
    """The driver's accepted offer, marked ``released`` so it cannot be answered again;
    ``None`` when there is nothing to change (another driver has the offer by now)."""
    if offer is None or offer["driverId"] != driver_id or offer["status"] != "accepted":
        return None
    return {**offer, "status": "released"}


def register(api: HttpApi, ports: DeliveryPorts) -> None:
    """Declare the release route on ``api``."""
    store, clock = ports.store, ports.clock

    @api.route(
        "POST",
        "/deliveries/{delivery_id}/release",
        actors={"driver"},
        body=ReleaseRequest,
        response=Delivery,
        idempotent=True,
        refusals=RELEASE_REFUSALS,
    )
    def release(caller: Principal, body: ReleaseRequest, delivery_id: str) -> Delivery:
        """Hand an assigned delivery back before picking it up, optionally saying why.

        Dispatch offers it to other drivers at once, never to the caller again; the
        caller is free for other offers. The delivery keeps only the area of the
        customer's address from then on. Asking again changes nothing.
        """
        now = clock.now_ms()
        details = {"releaseReason": body.reason}
        if mine(store, delivery_id, caller.subject)["status"] != "released":
            store.update(
                DELIVERIES,
                delivery_id,
                lambda d: advance(d, caller.subject, "released", now, details),
            )
        store.update(OFFERS, delivery_id, lambda offer: let_go(offer, caller.subject))
        return view(store, mine(store, delivery_id, caller.subject))
