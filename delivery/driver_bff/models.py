"""The driver API's request and response bodies (camelCase on the wire)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, field_validator

from shared.api_models import RequestBody, ResponseView
from shared.stores.paging import PageQuery

Vehicle = Literal["bike", "scooter", "car"]
REASON_MAX_CHARS = 200
"""The longest reason a driver may give for handing a delivery back."""


class ProfileRequest(RequestBody):
    """``PUT /me``."""

    name: str = Field(min_length=1, max_length=80)
    vehicle: Vehicle


class StatusRequest(RequestBody):
    """``PUT /me/status``."""

    online: StrictBool


class Location(RequestBody):
    """``PUT /me/location``, and where a driver is."""

    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class ReleaseRequest(RequestBody):
    """``POST /deliveries/{deliveryId}/release``: why the driver hands the delivery back, if
    they say (trimmed; a blank reason is none)."""

    reason: str | None = Field(default=None, max_length=REASON_MAX_CHARS)

    @field_validator("reason")
    @classmethod
    def _blank_is_none(cls, reason: str | None) -> str | None:
        return reason or None


class Profile(ResponseView):
    """The caller's driver profile."""

    id: str
    name: str
    vehicle: Vehicle
    online: bool
    location: Location | None


class Address(ResponseView):
    """A street address with its coordinates."""

    street: str
    city: str
    postcode: str
    lat: float
    lng: float


class Area(ResponseView):
    """Where a finished delivery went: its city and postcode, no street or coordinates."""

    city: str
    postcode: str


class Pickup(ResponseView):
    """The restaurant to pick the order up at."""

    name: str
    address: Address


class Offer(ResponseView):
    """An open offer of a delivery to the caller."""

    delivery_id: str
    order_id: str
    pickup: Pickup
    dropoff: Address
    expires_at: int


class Offers(ResponseView):
    """``GET /me/offers``."""

    offers: list[Offer]


class Answer(ResponseView):
    """The driver's answer to an offer."""

    delivery_id: str
    status: Literal["accepted", "declined"]


class Delivery(ResponseView):
    """A delivery assigned to the caller; ``dropoff`` is the customer's address while the
    delivery is active, only its :class:`Area` once it is delivered, cancelled or released
    (handed back before the pickup: no longer the caller's)."""

    delivery_id: str
    order_id: str
    status: Literal["assigned", "picked-up", "delivered", "cancelled", "released"]
    pickup: Pickup
    dropoff: Annotated[Address | Area, Field(union_mode="left_to_right")]
    assigned_at: int
    picked_up_at: int | None
    delivered_at: int | None


class Deliveries(ResponseView):
    """``GET /me/deliveries``: a page of the caller's deliveries, newest first; ``next`` asks
    for the following page (``?before=<next>``), ``None`` on the last one."""

    deliveries: list[Delivery]
    next: int | None = None


class DeliveriesQuery(PageQuery):
    """``?limit=`` deliveries per page, ``?before=`` the ``next`` of the page before."""
