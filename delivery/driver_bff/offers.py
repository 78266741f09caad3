"""Offers made to the driver: see the open ones, accept or decline them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from delivery.driver_bff.models import Answer, Offer, Offers
from delivery.driver_bff.pickups import cancelled, readiness
from delivery.driver_bff.records import (
    ANSWER,
    ANSWERED_UP_TO,
    DRIVERS,
    OFFERS,
    area,
    offered_area,
)
from delivery.events import OFFER_TIMEOUT_MS, offer_id_of
from shared.api import HttpApi, HttpError, echoed
from shared.stores import Doc, Where
from shared.stores.document_rules import id_problem

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.auth import Principal
    from shared.stores import AbstractDocumentStore

Verdict = Literal["accepted", "declined"]
ACCEPT_LANDS_WITHIN_MS = 30_000
"""How long after its offer expired an accept begun in time may still be written; one that
would be written later is refused as expired. Until then an accept of the offer may be on
its way, so its driver cannot go offline (see :func:`accepting`)."""
_OFFER_ID = re.compile(r"(?P<delivery>.+)@(?P<expires>[0-9]{1,19})")
NOT_ARRIVED = (
    "no such offer: it may not have arrived here yet (the push can come first); "
    "retry after Retry-After"
)
"""The 404 to an answer naming an offer later than any of its delivery heard (none of them
heard, or only earlier ones): the push announcing it and this BFF's listener hear dispatch
on separate subscriptions, so a driver may tap a pushed offer before it is kept here."""
NOT_ARRIVED_RETRY_AFTER_S = 1
"""The ``Retry-After`` of that 404: the listener usually hears the offer within a second."""
NOT_MADE = "no such offer: none made by now expires that late"
"""The 404, with no ``Retry-After``, to an answer naming an offer of a delivery none of whose
offers was heard, expiring later than any offer made by now may (see :func:`heard`)."""
EXPIRED = "the offer has expired"
ORDER_CANCELLED = "the offer was withdrawn: the order was cancelled"
EXPIRED_UNHEARD = "no such offer: it has expired, and had not arrived here"
"""The 404, with no ``Retry-After``, to an answer naming an offer not heard here (see
:func:`heard`) whose expiry is past: it could no longer be answered once it arrived."""
CLOCK_SKEW_MS = 60_000
"""How far ahead of this BFF's clock dispatch's may be: an offer expiring more than
:data:`~delivery.events.OFFER_TIMEOUT_MS` and this after now cannot have been made yet."""


def named(offer_id: str) -> tuple[str, int]:
    """The delivery and the expiry of the offer an :func:`offer_id_of` names; 404 for anything
    else, one naming a delivery that cannot be an id (``__x__@5``) included, as the kit
    answers a path parameter that cannot be an id (:mod:`shared.api`)."""
    found = _OFFER_ID.fullmatch(offer_id)
    if found is None:
        raise HttpError(
            404, f"no such offer {echoed(repr(offer_id))} (an offer is answered by its offerId)"
        )
    problem = id_problem(found["delivery"])
    if problem is not None:
        why = f"{echoed(repr(found['delivery']))} cannot be an id: {problem}"
        raise HttpError(404, f"no such offer {echoed(repr(offer_id))}: {why}")
    return found["delivery"], int(found["expires"])


def answer(
    offer: Doc | None,
    driver_id: str,
    verdict: Verdict,
    now_ms: int,
    *,
    online: bool,
    expires_at: int,
    order_cancelled: bool = False,
) -> Doc | None:
    """The offer with the driver's verdict, ``None`` when it already has it, or the refusal.

    ``expires_at`` names the offer answered: another offer of the delivery (one made to the
    driver again since) is not answered by it. An offline driver may decline but not
    accept; an answered offer keeps the verdict in ``answer`` too (which a withdrawal leaves
    it), and only the area of the customer's address. An offer not heard yet is refused as
    :func:`heard` says; one whose order was heard cancelled (``order_cancelled``) as
    withdrawn, before its withdrawal arrives.
    """
    offer = heard(offer, expires_at, now_ms)
    if offer["driverId"] != driver_id:
        if driver_id in offer.get("pastDrivers", []):
            raise HttpError(409, "the offer was withdrawn")
        raise HttpError(403, "this offer was not made to you")
    if offer.get("expiresAt") != expires_at:
        raise HttpError(409, "the offer was withdrawn; see GET /me/offers for those open now")
    if offer["status"] == verdict:
        return None
    if offer["status"] != "open":
        raise HttpError(409, f"the offer is already {offer['status']}")
    if order_cancelled:
        raise HttpError(409, ORDER_CANCELLED)
    if verdict == "accepted" and not online:
        raise HttpError(409, "you are offline: go online (PUT /me/status) to accept offers")
    if now_ms >= offer["expiresAt"]:
        raise HttpError(409, EXPIRED)
    return {
        **offer,
        "status": verdict,
        ANSWER: verdict,
        "answeredAt": now_ms,
        "dropoff": area(offer["dropoff"]),
    }


def heard(offer: Doc | None, expires_at: int, now_ms: int) -> Doc:
    """``offer``, the delivery's latest offer heard, when the answer to the offer expiring at
    ``expires_at`` is to be checked against it (it is that offer, or a later one); else the
    refusal of an answer to an offer not heard yet.

    Of two offers of a delivery the later expires later (dispatch makes it so, though both be
    made in one millisecond), so an offer expiring after the one heard, or of a delivery none of
    whose offers was heard, is on its way here: the answer is a 404 with ``Retry-After``
    (:data:`NOT_ARRIVED`), and the same request is taken once it arrives. Only while the offer
    named may still arrive in time to be answered: past its expiry, by this BFF's clock, the 404
    says it expired (:data:`EXPIRED_UNHEARD`), and one expiring later than any offer made by now
    is :data:`NOT_MADE`, both without ``Retry-After``; that one, an earlier offer heard, is left
    to :func:`answer`, which refuses it as withdrawn.
    """
    held = None if offer is None else offer.get("expiresAt")
    if offer is not None and (held is None or expires_at <= held):
        return offer
    if now_ms >= expires_at:
        raise HttpError(404, EXPIRED_UNHEARD)
    if expires_at <= now_ms + OFFER_TIMEOUT_MS + CLOCK_SKEW_MS:
        raise HttpError(404, NOT_ARRIVED, headers={"Retry-After": str(NOT_ARRIVED_RETRY_AFTER_S)})
    if offer is None:
        raise HttpError(404, NOT_MADE)
    return offer


ACCEPTING = "acceptingOfferId"
"""The field of a driver's profile naming the offer (:func:`offer_id_of`) they are accepting,
written with the check that they are online, so a concurrent request to go offline sees it
(see :func:`accepting`)."""


def accepting(store: AbstractDocumentStore, driver_id: str, offer: str) -> bool:
    """Note on the driver's profile that they are accepting ``offer``, if they are online
    (checked in the same write); whether they are.

    A request to go offline refuses while the note names an offer still open whose accept
    may be on its way (:func:`answerable`); the accept, written at most
    :data:`ACCEPT_LANDS_WITHIN_MS` after the offer expired, cannot land once it is let go.
    """

    def note(driver: Doc | None) -> Doc | None:
        if driver is None or not driver["online"] or driver.get(ACCEPTING) == offer:
            return None
        return {**driver, ACCEPTING: offer}

    driver = store.update(DRIVERS, driver_id, note) or store.get(DRIVERS, driver_id)
    return bool(driver and driver["online"] and driver.get(ACCEPTING) == offer)


def answered(store: AbstractDocumentStore, driver_id: str, expires_at: int) -> None:
    """Note on the driver's profile that they answer, in time, the offer expiring at
    ``expires_at``: the offers they let run out before it no longer count against them."""

    def note(driver: Doc | None) -> Doc | None:
        if driver is None or driver.get(ANSWERED_UP_TO, 0) >= expires_at:
            return None
        return {**driver, ANSWERED_UP_TO: expires_at}

    store.update(DRIVERS, driver_id, note)


def open_offers(store: AbstractDocumentStore, driver_id: str, now_ms: int) -> list[Doc]:
    """The offers open to the driver now, not expired."""
    found = store.query(OFFERS, [Where("driverId", "==", driver_id), Where("status", "==", "open")])
    return [d.data for d in found if d.data["expiresAt"] > now_ms]


def answerable(store: AbstractDocumentStore, driver_id: str, now_ms: int) -> set[str]:
    """The ids of the driver's open offers an accept begun before their expiry may still be
    written to now: those expired less than :data:`ACCEPT_LANDS_WITHIN_MS` ago included, not
    those of an order heard cancelled (its accept is refused when written)."""
    found = open_offers(store, driver_id, now_ms - ACCEPT_LANDS_WITHIN_MS)
    return {
        offer_id_of(offer["deliveryId"], offer["expiresAt"])
        for offer in found
        if not cancelled(store, offer.get("orderId"))
    }


def view(store: AbstractDocumentStore, offer: Doc) -> Offer:
    """What the driver sees of an open offer: the pickup, with how far the restaurant is with
    the food, and only the area of the customer's address and how far it is."""
    food = readiness(store, offer["orderId"])
    pickup = offer["pickup"]
    return Offer.model_validate(
        {
            **offer,
            "offerId": offer_id_of(offer["deliveryId"], offer["expiresAt"]),
            "pickup": {**pickup, **food},
            "dropoff": offered_area(pickup["address"], offer["dropoff"]),
        }
    )


ANSWER_REFUSALS = {
    404: (
        "no such offer (an offerId that cannot exist included); for an offerId that can exist, "
        "the offer may not have arrived yet (a push can come before it, and before the end of "
        "the delivery's earlier offer): while it may still arrive in time to be answered (it "
        f"has not expired), the answer then has `Retry-After: {NOT_ARRIVED_RETRY_AFTER_S}`, "
        "and the same request may be sent again after it"
    ),
    409: (
        "the offer was withdrawn (its order cancelled included), has expired or was answered "
        "already, or the driver is offline"
    ),
}


def register(api: HttpApi, ports: DeliveryPorts) -> None:
    """Declare the offer routes on ``api``."""
    store, clock = ports.store, ports.clock

    def reply(caller: Principal, offer_id: str, verdict: Verdict) -> Answer:
        delivery_id, expires_at = named(offer_id)
        offer_id = offer_id_of(delivery_id, expires_at)  # as the profile's marker spells it
        now = clock.now_ms()
        too_late = expires_at + ACCEPT_LANDS_WITHIN_MS

        def check(offer: Doc | None, *, online: bool) -> Doc | None:
            ended = offer is not None and cancelled(store, offer.get("orderId"))
            return answer(
                offer,
                caller.subject,
                verdict,
                now,
                online=online,
                expires_at=expires_at,
                order_cancelled=ended,
            )

        # Refused before the profile notes anything: an offer that is not the caller's to
        # answer (made up, another driver's, expired, withdrawn) must not forgive their misses.
        check(store.get(OFFERS, delivery_id), online=True)
        online = verdict == "accepted" and accepting(store, caller.subject, offer_id)

        def updater(offer: Doc | None) -> Doc | None:
            written = check(offer, online=online)
            # The expiry was checked at the request's time: an accept must also land in time.
            if written is not None and verdict == "accepted" and clock.now_ms() >= too_late:
                raise HttpError(409, EXPIRED)
            return written

        # Noted before the answer is written, as accepting is: a miss heard meanwhile must
        # not take offline a driver whose answer is going through.
        updater(store.get(OFFERS, delivery_id))  # refuses what the write would refuse
        answered(store, caller.subject, expires_at)
        store.update(OFFERS, delivery_id, updater)
        return Answer(delivery_id=delivery_id, offer_id=offer_id, status=verdict)

    @api.route("GET", "/me/offers", actors={"driver"}, response=Offers)
    def get_offers(caller: Principal) -> Offers:
        """The offers open to the caller right now: none while the caller is offline (they
        could not accept them: dispatch withdraws them once it hears of it), nor any expired
        or of an order cancelled, though their withdrawal has not arrived yet."""
        if not (store.get(DRIVERS, caller.subject) or {}).get("online", False):
            return Offers(offers=[])
        offers = open_offers(store, caller.subject, clock.now_ms())
        shown = [offer for offer in offers if not cancelled(store, offer["orderId"])]
        return Offers(offers=[view(store, offer) for offer in shown])

    @api.route(
        "POST",
        "/offers/{offer_id}/accept",
        actors={"driver"},
        response=Answer,
        refusals=ANSWER_REFUSALS,
    )
    def accept_offer(caller: Principal, offer_id: str) -> Answer:
        """Take the delivery on; refused once the offer expired or was withdrawn, or while the
        caller is offline.

        ``offer_id`` is the offer's ``offerId``: an accept sent late, once the delivery was
        offered to the caller again, is refused, not taken for the new offer.
        """
        return reply(caller, offer_id, "accepted")

    @api.route(
        "POST",
        "/offers/{offer_id}/decline",
        actors={"driver"},
        response=Answer,
        refusals=ANSWER_REFUSALS,
    )
    def decline_offer(caller: Principal, offer_id: str) -> Answer:
        """Turn the delivery down (``offer_id``: the offer's ``offerId``), so it is offered to
        another driver."""
        return reply(caller, offer_id, "declined")
