"""The Delivery subsystem's published events (v1): where the order's delivery stands.

Times are epoch milliseconds.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts import Contract, ContractModel, EpochMs, Id

DeliveryStatus = Literal["assigned", "released", "picked-up", "delivered"]
"""``released``: the assigned driver handed the delivery back before picking it up; another
driver is being found (``assigned`` follows again)."""


class Driver(ContractModel):
    """The driver as the customer may see them."""

    id: Id
    name: str


class Location(ContractModel):
    """A position reported by the driver's app."""

    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class DeliveryStatusChanged(Contract):
    """A driver was assigned to the order, handed it back, picked it up, moved, or delivered it.

    Published on every status change and on every new location while the
    order is on its way. ``location`` is the driver's position from the pickup
    on; ``null`` while the driver is only assigned, and when they handed the
    order back (where a driver was when accepting, at home maybe, is not the
    customer's business). ``driver`` is the driver the status is about: for
    ``released``, the one who handed the order back, who no longer brings it.
    """

    TYPE: ClassVar[str] = "delivery.delivery-status-changed"
    ENTITY: ClassVar[str] = "delivery"
    VERSION: ClassVar[int] = 1

    id: Id
    order_id: Id
    status: DeliveryStatus
    driver: Driver
    location: Location | None = Field(default=None, examples=[None])
    changed_at: EpochMs


PUBLISHED: tuple[type[Contract], ...] = (DeliveryStatusChanged,)
"""Every event this subsystem publishes, for the catalog and the contract tests."""
