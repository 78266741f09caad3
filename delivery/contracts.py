"""The Delivery subsystem's published events (v1): where the order's delivery stands.

Times are epoch milliseconds.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts import Contract, ContractModel, EpochMs, Id

DeliveryStatus = Literal["assigned", "released", "picked-up", "delivered", "cancelled"]
"""Where a delivery stands (documented on :attr:`DeliveryStatusChanged.status`)."""


class Driver(ContractModel):
    """The driver as the customer may see them."""

    id: Id
    """The driver's id."""
    name: str
    """The driver's name, as the customer may see it."""


class Location(ContractModel):
    """A position reported by the driver's app."""

    lat: float = Field(ge=-90, le=90)
    """Latitude in decimal degrees (WGS 84), north positive."""
    lng: float = Field(ge=-180, le=180)
    """Longitude in decimal degrees (WGS 84), east positive."""


class DeliveryStatusChanged(Contract):
    """A driver was assigned to the order, handed it back, picked it up, moved, or delivered it.

    Published on every status change and, while the order is on its way, as the
    driver moves: ``picked-up`` again with the new location, at most every 10
    seconds and for a move of 25 m or more. ``location`` is the driver's position from the pickup
    on; ``null`` while the driver is only assigned, and when they handed the
    order back (where a driver was when accepting, at home maybe, is not the
    customer's business). ``driver`` is the driver the status is about: for
    ``released``, the one who handed the order back, who no longer brings it.

    A delivery's statuses come in their course: ``released`` and ``cancelled`` only
    after the same driver's ``assigned``, ``picked-up`` before ``delivered``, and a driver's status
    after another driver was told ``assigned`` only after that driver's ``released``.
    Each is published at least once: redelivery may repeat one (same ``id``), and two of a
    delivery's changes handled at once may publish one again (another ``id``) or after a later
    one. ``revision`` tells where each comes: a consumer keeping where the delivery stands takes
    a status only if its ``revision`` is greater than that of the latest it took.
    """

    TYPE: ClassVar[str] = "delivery.delivery-status-changed"
    ENTITY: ClassVar[str] = "delivery"
    VERSION: ClassVar[int] = 1

    PARTITION_KEY: ClassVar[str] = "order_id"

    id: Id
    """The delivery's own id (one delivery per order)."""
    order_id: Id
    """The order being delivered (as in ``order.order-status-changed``); also the
    events' partition key, so they are ordered with the order's."""
    status: DeliveryStatus
    """Where the delivery stands: ``assigned`` (a driver took it), ``released`` (the
    assigned driver handed it back before picking it up; another driver is being found and
    ``assigned`` follows again), ``picked-up`` (the driver collected the food from the
    restaurant), ``delivered``, or ``cancelled`` (the order was cancelled while the driver
    was assigned: they no longer bring it; published only after their ``assigned``). Values
    may be added: skip those you do not know."""
    driver: Driver
    """The driver the status is about (for ``released``, the one who handed the order
    back)."""
    location: Location | None = Field(default=None, examples=[None])
    """The driver's latest position from the pickup on; ``null`` before it and for
    ``released``."""
    changed_at: EpochMs
    """When the status changed, or the driver reported the location."""
    revision: str | None = Field(default=None, examples=["2026-05-04T12:00:00.000000Z/002/01"])
    """Where the status comes in the delivery's course: of two statuses of one delivery, the
    one whose revision is greater (compared as text) is the later; a repeat has the same one.
    Opaque: only its order means anything. ``null`` on statuses published before it was
    added."""


PUBLISHED: tuple[type[Contract], ...] = (DeliveryStatusChanged,)
"""Every event this subsystem publishes, for the catalog and the contract tests."""
