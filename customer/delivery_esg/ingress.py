"""Delivery's status changes, read with the customer's own reader and put on the bus."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from customer import events
from shared.contracts import Id, ReadEpochMs, Reader, knows, read

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

DELIVERY_STATUS_CHANGED = "delivery.delivery-status-changed"
STATUSES = frozenset({"assigned", "released", "picked-up", "delivered"})
"""The delivery statuses the customer follows (``released``: the driver handed the order back
and another one is being found); others are skipped."""
UNFOLLOWED = frozenset({"cancelled"})
"""Statuses known and left aside: a cancelled delivery's order is cancelled, and Order's own
status tells the customer so."""


class DriverReader(Reader):
    """The driver as the customer may see them: by the name of their driver profile, never
    by their id."""

    name: str


class LocationReader(Reader):
    """Where the driver is: a point on Earth, or the event breaks the contract (a fault),
    never a position shown to the customer."""

    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class DeliveryStatusReader(Reader):
    """Where the order's delivery stands."""

    id: Id
    order_id: Id
    """The order everything the customer subsystem knows of the delivery is keyed by: never
    empty, or the event breaks the contract (a fault naming it)."""
    status: str
    driver: DriverReader
    location: LocationReader | None = None
    changed_at: ReadEpochMs
    revision: str | None = None
    """Where the status comes in the delivery's course (text that sorts in it), passed on so
    tracking sets aside a status Delivery published again after a later one; ``None`` when
    Delivery did not say."""


def receive_delivery(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Emit ``delivery-status-changed`` keyed by the order, in line with the order's events.

    A ``changedAt`` past :data:`~shared.clock.LATEST_MS` comes in as that
    (:data:`~shared.contracts.ReadEpochMs`); a negative one is a fault naming the field.
    """
    delivery = read(event, DeliveryStatusReader)
    if delivery.status in UNFOLLOWED or not knows(ctx, event, "status", delivery.status, STATUSES):
        return
    body = delivery.model_dump(mode="json", by_alias=True)
    ctx.emit(events.DELIVERY_STATUS_CHANGED, "delivery", body, partition_key=delivery.order_id)
