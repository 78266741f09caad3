"""The driver's own profile: who they are, whether they work now, and where they are."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from delivery.driver_bff.models import (
    REPORT_MAX_AGE_MS,
    REPORT_SKEW_MS,
    LocationReport,
    Profile,
    ProfileRequest,
    StatusRequest,
)
from delivery.driver_bff.offers import ACCEPTING, answerable, named
from delivery.driver_bff.pickups import cancelled
from delivery.driver_bff.records import (
    ACTIVE,
    DELIVERIES,
    DRIVERS,
    LOCATION_AT,
    OFFERS,
    OFFLINE_REASON,
    ONLINE_AT,
)
from shared.api import HttpApi, HttpError
from shared.stores import Doc, Where

if TYPE_CHECKING:
    from collections.abc import Callable

    from delivery.ports import DeliveryPorts
    from shared.auth import Principal
    from shared.stores import AbstractDocumentStore


def register(api: HttpApi, ports: DeliveryPorts) -> None:
    """Declare the profile routes on ``api``."""
    store, clock = ports.store, ports.clock

    def edit(
        caller: Principal,
        fields: dict[str, Any],
        *,
        needs_location: bool = False,
        unless: Callable[[Doc], None] | None = None,
    ) -> Profile:
        """Change the caller's profile; ``needs_location`` refuses it until one is known,
        ``unless`` raises the refusal the current profile calls for, in the same write."""

        def updater(driver: Doc | None) -> Doc:
            if driver is None:
                raise HttpError(409, "create your profile first (PUT /me)")
            if needs_location and driver["location"] is None:
                raise HttpError(
                    409,
                    "report your location first (PUT /me/location): dispatch offers "
                    "deliveries by where drivers are",
                )
            if unless is not None:
                unless(driver)
            return {**driver, **fields, "updatedAt": clock.now_ms()}

        return Profile.model_validate(store.update(DRIVERS, caller.subject, updater))

    @api.route("PUT", "/me", actors={"driver"}, body=ProfileRequest, response=Profile)
    def put_profile(caller: Principal, body: ProfileRequest) -> Profile:
        """Create or change the caller's profile (name and vehicle)."""

        def updater(driver: Doc | None) -> Doc:
            current = driver or {"id": caller.subject, "online": False, "location": None}
            return {**current, **body.model_dump(), "updatedAt": clock.now_ms()}

        return Profile.model_validate(store.update(DRIVERS, caller.subject, updater))

    @api.route("GET", "/me", actors={"driver"}, response=Profile, refusals={404: "no profile yet"})
    def get_profile(caller: Principal) -> Profile:
        """The caller's profile."""
        driver = store.get(DRIVERS, caller.subject)
        if driver is None:
            raise HttpError(404, "you have no profile yet (PUT /me)")
        return Profile.model_validate(driver)

    @api.route(
        "PUT",
        "/me/status",
        actors={"driver"},
        body=StatusRequest,
        response=Profile,
        refusals={
            409: "no profile yet, going online before reporting a location, or going "
            "offline during an active delivery or with an accepted offer not yet assigned"
        },
    )
    def put_status(caller: Principal, body: StatusRequest) -> Profile:
        """Go online to receive offers (once the location is known), or offline once every
        delivery is finished and every accepted offer assigned (or its order cancelled: the
        delivery is over for the caller before dispatch answers); going offline lets an open
        offer go to the next driver. Either clears ``offlineReason``; going online, even
        when online already, also forgives the offers the caller let run out before."""
        if body.online:
            went_online = {"online": True, ONLINE_AT: clock.now_ms(), OFFLINE_REASON: None}
            return edit(caller, went_online, needs_location=True)
        # Read in the course of an offer (open, accepted, assigned): one moving on between
        # two reads is caught by the later one.
        answering = answerable(store, caller.subject, clock.now_ms())
        pending = awaiting_assignment(store, caller.subject)
        if pending:
            raise HttpError(409, _WAIT_FOR_ASSIGNMENT.format(pending[0]))
        if store.query(
            DELIVERIES,
            [Where("driverId", "==", caller.subject), Where("status", "in", list(ACTIVE))],
        ):
            raise HttpError(409, "finish your active delivery before going offline")

        def not_while_accepting(driver: Doc) -> None:
            """An accept of an offer still answerable when this request looked (expired just
            now included) may be in flight."""
            if driver.get(ACCEPTING) in answering:
                delivery_id, _ = named(driver[ACCEPTING])
                raise HttpError(409, _WAIT_FOR_ASSIGNMENT.format(delivery_id))

        went_offline = {"online": False, ACCEPTING: None, OFFLINE_REASON: None}
        return edit(caller, went_offline, unless=not_while_accepting)

    @api.route(
        "PUT",
        "/me/location",
        actors={"driver"},
        body=LocationReport,
        response=Profile,
        refusals={409: "no profile yet"},
    )
    def put_location(caller: Principal, body: LocationReport) -> Profile:
        """Report where the caller is; a report the app took before the location kept
        (``reportedAt``) is ignored, and the answer shows the location kept."""
        now = clock.now_ms()
        taken = _reported_at(body, now)
        location = body.model_dump(exclude={"reported_at"})

        def updater(driver: Doc | None) -> Doc | None:
            if driver is None:
                raise HttpError(409, "create your profile first (PUT /me)")
            kept = driver.get(LOCATION_AT)
            if body.reported_at is not None and kept is not None and taken <= kept:
                return None  # sent before the one kept, delivered after it
            at = max(taken, kept or 0)  # a report saying no time never moves it back
            return {**driver, "location": location, LOCATION_AT: at, "updatedAt": now}

        written = store.update(DRIVERS, caller.subject, updater)
        return Profile.model_validate(written or store.get(DRIVERS, caller.subject))


def _reported_at(report: LocationReport, now_ms: int) -> int:
    """When the report's position was taken: its ``reportedAt``, refused (400) outside
    :data:`REPORT_MAX_AGE_MS` before ``now_ms`` and :data:`REPORT_SKEW_MS` after it; ``now_ms``
    when it says none."""
    at = report.reported_at
    if at is None:
        return now_ms
    if at > now_ms + REPORT_SKEW_MS:
        problem = f"is {at - now_ms} ms ahead of the server's clock (at most {REPORT_SKEW_MS})"
    elif at < now_ms - REPORT_MAX_AGE_MS:
        problem = f"is more than {REPORT_MAX_AGE_MS // 60_000} minutes ago"
    else:
        return at
    message = f"reportedAt {problem}: check the device's clock"
    raise HttpError(400, message, fields={"reportedAt": message})


_WAIT_FOR_ASSIGNMENT = (
    "you accepted delivery {} and dispatch has not assigned it yet: wait for it "
    "(GET /me/deliveries), then finish or release it"
)


def awaiting_assignment(store: AbstractDocumentStore, driver_id: str) -> list[str]:
    """The deliveries whose offer the driver accepted and dispatch has not yet answered
    (assigned to them, or withdrawn), of orders not heard cancelled.

    A driver who went offline now would have dispatch withdraw the offer if it heard of
    the availability before the answer: the two events have different partition keys, so
    nothing orders them. An order heard cancelled is over for the driver whichever dispatch
    hears first: the offer withdrawn, or the delivery assigned to them and then cancelled.
    """
    accepted = store.query(
        OFFERS, [Where("driverId", "==", driver_id), Where("status", "==", "accepted")]
    )
    return sorted(
        offer.key
        for offer in accepted
        if (store.get(DELIVERIES, offer.key) or {}).get("driverId") != driver_id
        and not cancelled(store, offer.data["orderId"])
    )
