"""Which drivers' offers are still open, so a driver is never pushed an offer that is over.

An offer's announcement may be handled late (the announcing trigger is unordered and retried
late; the provider may be down until the offer is over): by then the driver may have
declined or accepted it, let it run out, or the order may have been cancelled. The events
that end an offer are kept beside it, by their time: an event older than the latest heard
of the delivery changes nothing (:func:`~shared.stores.apply_event`), so neither an offer
heard after its end nor one older than the delivery's latest offer opens. Of events of one
millisecond, dispatch's ``revision`` tells which it announced first (an offer accepted at once
is assigned in the millisecond it was made): the record keeps the latest applied, and an
event announced before it changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.events import REVISION, announced_before
from shared.stores import apply_event

if TYPE_CHECKING:
    from shared.envelope import Envelope
    from shared.stores import AbstractDocumentStore, Doc

OFFERS = "notification-offers"
"""``notification-offers/{deliveryId}``: ``{driverId, expiresAt, open, revision}``: the
delivery's latest offer as the events heard so far tell, and whether it is still open;
``expiresAt`` is ``None`` when the offer's end was heard before the offer itself;
``revision`` that of the latest event applied (``None`` or missing when it named none)."""


def offer_made(store: AbstractDocumentStore, event: Envelope) -> None:
    """Keep the offer ``delivery-offered`` announces, unless something later was heard."""
    offer = event.body
    made = {
        "driverId": offer["driverId"],
        "expiresAt": offer["expiresAt"],
        "open": True,
        REVISION: offer.get(REVISION),
    }

    def keep(record: Doc | None) -> Doc:
        return record if record is not None and announced_before(offer, record) else made

    apply_event(store, OFFERS, offer["id"], event, keep)


def offer_over(
    store: AbstractDocumentStore,
    event: Envelope,
    delivery_id: str,
    driver_id: str,
    expires_at: int | None = None,
) -> None:
    """The delivery's offer to ``driver_id`` is over: ``offer-withdrawn`` (declined, missed,
    or the order cancelled), naming the offer by its ``expires_at``, or the delivery's
    assignment to them (any offer of it)."""

    revision = event.body.get(REVISION)

    def close(record: Doc | None) -> Doc:
        if record is None:
            return {"driverId": driver_id, "expiresAt": None, "open": False, REVISION: revision}
        if announced_before(event.body, record):  # an offer made since, in its millisecond
            return record
        other = expires_at is not None and record["expiresAt"] not in (None, expires_at)
        if record["driverId"] == driver_id and not other:  # not an offer made again since
            return {**record, "open": False, REVISION: revision}
        return record

    apply_event(store, OFFERS, delivery_id, event, close)


def still_open(store: AbstractDocumentStore, offer: Doc, now_ms: int) -> bool:
    """Whether the offer (a ``delivery-offered`` body) is the delivery's latest, not over and
    not expired."""
    record = store.get(OFFERS, offer["id"]) or {}
    return (
        record.get("open") is True
        and record["driverId"] == offer["driverId"]
        and record["expiresAt"] == offer["expiresAt"]
        and now_ms < offer["expiresAt"]
    )
