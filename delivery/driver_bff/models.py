"""The driver API's request and response bodies (camelCase on the wire)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, field_validator

from shared.api_models import STORED, PageQuery, RequestBody, ResponseView
from shared.text import text_problem

Vehicle = Literal["bike", "scooter", "car"]
REASON_MAX_CHARS = 200
"""The longest reason a driver may give for handing a delivery back."""


def _fit_to_show(text: str, *, may_be_blank: bool = False) -> str:
    """``text``, refused when it is unfit to show as typed (:func:`~shared.text.text_problem`:
    a control character, a line separator, a bidirectional override left open, or, unless
    ``may_be_blank``, nothing visible)."""
    problem = text_problem(text, may_be_blank=may_be_blank)
    if problem is not None:
        raise ValueError(problem)
    return text


class ProfileRequest(RequestBody):
    """``PUT /me``."""

    name: str = Field(min_length=1, max_length=80)
    """The driver's name (1 to 80 characters, one line, at least one of them visible);
    customers see it on the orders they bring."""
    vehicle: Vehicle
    """How the driver travels: ``bike``, ``scooter`` or ``car``."""

    @field_validator("name")
    @classmethod
    def _shown(cls, name: str) -> str:
        return _fit_to_show(name)


class StatusRequest(RequestBody):
    """``PUT /me/status``."""

    online: StrictBool
    """``true``: go online to receive offers (once a location is reported); ``false``: go
    offline (refused during an active delivery, and while an accepted offer awaits its
    assignment)."""


class Location(RequestBody):
    """Where a driver is: JSON numbers only (no ``true``, no ``"52.5"``)."""

    lat: float = Field(ge=-90, le=90, strict=True)
    """Latitude in decimal degrees (WGS 84), north positive."""
    lng: float = Field(ge=-180, le=180, strict=True)
    """Longitude in decimal degrees (WGS 84), east positive."""


REPORT_SKEW_MS = 30_000
"""How far ahead of the server's clock a ``reportedAt`` may be: a phone's clock a little
fast."""
REPORT_MAX_AGE_MS = 60 * 60_000
"""How far behind the server's clock a ``reportedAt`` may be: a report sent again for an
hour over a bad network; an older one is a device's clock gone wrong."""


class LocationReport(Location):
    """``PUT /me/location``: where the driver is, and when the app took that position."""

    reported_at: int | None = Field(default=None, ge=0, le=2**63 - 1, strict=True)
    """When the app took the position, in epoch milliseconds (UTC), by the device's clock: a
    report taken before the location kept (sent earlier, delivered later: a retry, a bad
    network) is ignored, not taken over a newer one; the answer shows the location kept. At
    most 30 s ahead of the server's clock and an hour behind it, else a 400 (check the
    device's clock). Left out or ``null``: the report is taken as it arrives, as of then."""


class ReleaseRequest(RequestBody):
    """``POST /deliveries/{deliveryId}/release``: why the driver hands the delivery back, if
    they say (trimmed; a blank reason is none)."""

    reason: str | None = Field(default=None, max_length=REASON_MAX_CHARS)
    """Why, in the driver's words (up to 200 characters, one line). Left out, ``null`` or
    blank: no reason."""

    @field_validator("reason")
    @classmethod
    def _blank_is_none(cls, reason: str | None) -> str | None:
        return None if reason is None else _fit_to_show(reason, may_be_blank=True) or None


class LastLocation(Location):
    """Where a driver is, as their profile holds it: a field a later version of this BFF
    stored, and this one does not know (after a rollback), is left out, not a 500."""

    model_config = STORED


class Profile(ResponseView):
    """The caller's driver profile."""

    id: str
    """The driver's id: the caller's token subject."""
    name: str
    """The driver's name; customers see it on the orders they bring."""
    vehicle: Vehicle
    """How the driver travels: ``bike``, ``scooter`` or ``car``."""
    online: bool
    """Whether the driver is online, receiving offers; a new profile starts offline."""
    location: LastLocation | None
    """Where the driver last reported being; ``null`` until they first do."""
    offline_reason: Literal["missed-offers"] | None = None
    """Why the platform took the driver offline: ``missed-offers``, they let offers in a row
    run out unanswered (their app may have stopped); ``null`` when it did not, and again once
    they set their status (going online again is one ``PUT /me/status``). Values may be
    added."""


class Address(ResponseView):
    """A street address with its coordinates."""

    street: str
    """Street and house number."""
    city: str
    """City or town."""
    postcode: str
    """Postal code, as written in the address's country."""
    lat: float
    """Latitude in decimal degrees (WGS 84), north positive."""
    lng: float
    """Longitude in decimal degrees (WGS 84), east positive."""


class Area(ResponseView):
    """Where a finished delivery went: its city and postcode, no street or coordinates."""

    city: str
    """City or town."""
    postcode: str
    """Postal code, as written in the address's country."""


class OfferedArea(ResponseView):
    """Where an offered delivery goes, as the driver sees it before taking it on: the area of
    the customer's address and how far it is, no street or coordinates (those come with the
    assignment)."""

    city: str
    """City or town."""
    postcode: str
    """Postal code, as written in the address's country."""
    distance_m: int
    """How far the address is from the restaurant, in metres, as the crow flies."""


class Pickup(ResponseView):
    """The restaurant to pick the order up at."""

    name: str
    """The restaurant's name."""
    address: Address
    """The restaurant's address, where the order is picked up."""
    ready_by: int | None
    """While the order is to be picked up (an open offer, an ``assigned`` delivery): when the
    restaurant expects the food ready, in epoch milliseconds (UTC): the time it gave when it
    accepted the order, then the time it marked it ready; ``null`` before the restaurant
    said, and once the delivery is picked up, delivered, cancelled or released."""
    ready: bool | None
    """While the order is to be picked up: whether the restaurant has marked the food ready;
    ``null`` when that is not known yet, and once the delivery is no longer to be picked
    up."""


class Offer(ResponseView):
    """An open offer of a delivery to the caller."""

    offer_id: str
    """The offer's id: answer it at ``POST /offers/{offer_id}/accept`` or ``/decline``. The
    same delivery offered to the caller again (after this offer ran out) is another offer,
    with another id: an answer to this one never takes that one."""
    delivery_id: str
    """The delivery offered."""
    order_id: str
    """The order to deliver."""
    pickup: Pickup
    """Where to pick the order up."""
    dropoff: OfferedArea
    """Where to deliver it: only the area of the customer's address and its distance from the
    restaurant; the whole address is shown once the delivery is assigned to the caller."""
    expires_at: int
    """Until when the offer can be accepted, in epoch milliseconds (UTC); afterwards it is
    withdrawn."""


class Offers(ResponseView):
    """``GET /me/offers``."""

    offers: list[Offer]
    """The offers open to the caller that have not expired, of orders not cancelled, in no set
    order."""


class Answer(ResponseView):
    """The driver's answer to an offer."""

    delivery_id: str
    """The delivery whose offer was answered."""
    offer_id: str
    """The offer answered (its ``offerId``)."""
    status: Literal["accepted", "declined"]
    """The caller's answer; an accepted delivery appears among the caller's deliveries once
    dispatch assigns it."""


class Delivery(ResponseView):
    """A delivery assigned to the caller; ``dropoff`` is the customer's address while the
    delivery is active, only its :class:`Area` once it is delivered, cancelled or released
    (handed back before the pickup: no longer the caller's)."""

    delivery_id: str
    """The delivery's id (one delivery per order)."""
    order_id: str
    """The order being delivered."""
    status: Literal["assigned", "picked-up", "delivered", "cancelled", "released"]
    """``assigned`` (to pick up), ``picked-up`` (on its way), ``delivered``, ``cancelled``
    (the order was cancelled before the pickup) or ``released`` (the caller handed it back
    before the pickup)."""
    pickup: Pickup
    """Where the order is picked up."""
    dropoff: Annotated[Address | Area, Field(union_mode="left_to_right")]
    """The customer's address while ``assigned`` or ``picked-up``; afterwards only its city
    and postcode."""
    assigned_at: int
    """When the delivery was assigned to the caller, in epoch milliseconds (UTC); the list is
    newest first by it."""
    picked_up_at: int | None
    """When the caller reported the pickup, in epoch milliseconds (UTC); ``null`` until
    then."""
    delivered_at: int | None
    """When the caller reported the delivery, in epoch milliseconds (UTC); ``null`` until
    then."""


class Deliveries(ResponseView):
    """``GET /me/deliveries``: a page of the caller's deliveries, newest first; ``next`` asks
    for the following page (``?after=<next>``), ``null`` on the last one."""

    deliveries: list[Delivery]
    """This page's deliveries, those the caller handed back included, newest ``assignedAt``
    first (then by id, descending); at most ``limit``."""
    next: str | None = None
    """The ``after`` of the following page (an opaque token); ``null`` on the last page.
    (It was an ``assignedAt`` to send back as ``before``, which the list still takes.)"""


class DeliveriesQuery(PageQuery):
    """``?limit=`` deliveries per page, ``?after=`` the ``next`` of the page before (or
    ``?before=`` a time)."""
