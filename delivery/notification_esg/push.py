"""Egress: push notifications to customers and drivers, one per business fact.

Each call carries an idempotency key named after the fact, so a redelivered
event never notifies twice. The customer's notices also need their
``customerRef``, which only ``order-updated`` carries: it is kept in
``notification-orders/{orderId}`` with the facts already notified, so a
location-only update or a repeat costs no call at all. A fact is a status, but
a delivery may be handed back and assigned again: each release is its own fact
(``released:<driverId>``), and so is each assignment (``assigned:<driverId>``;
the first one sent keeps the key ``assigned``, claimed before it is sent). A
customer who turned notifications off (``notifyCustomer``, passed on by Order
from Customer) gets none; their driver is still told what concerns the driver.

Statuses may arrive out of order (the announcing triggers are unordered and
retried late), and two of one order may be handled at once (a redelivery while the first
delivery still runs), so the customer is told only what is newer than what they were told, or
are being told: a delivery status is claimed in the order's record (``delivery``) before it is
sent, atomically with the checks that it is newer than the one claimed last and that the order
is not cancelled, and noted as told once sent (a send that fails leaves its claim, which its
retry takes up again, so a crash may push it twice but never loses it);
an order status by Order's ``changedAt`` (a later silent one, ``ready``, is no reason to keep
the acceptance back), a delivery status by dispatch's (see
:data:`COURSE` within a millisecond), no acceptance once a delivery status was
told, and nothing of the delivery once the order is cancelled. A driver is
pushed an offer only while it is open
(:mod:`~delivery.notification_esg.offers`): not once it was withdrawn (declined,
missed, or the order cancelled), taken, or has expired; nor while the driver is heard
offline (:mod:`~delivery.notification_esg.drivers`): the offer's withdrawal is then on its
way, and the event is redelivered until it comes (or the driver is heard online again). An
offer is not claimed as a delivery status is: two deliveries of it at once send it under one
idempotency key, which the provider delivers once, and no claim could keep a withdrawal from
landing between the check and the send (the driver's acceptance is then refused, 409). A
driver the platform took offline for the offers they let run out is told once
(``{driverId}:taken-offline:{offlineAt}``), with a tap to go online again, unless they were
heard online since (:mod:`~delivery.notification_esg.drivers`).

A recipient with no device registered at the provider (the app uninstalled, a driver
never signed in on a phone) is skipped with a ``push skipped`` warning (to count them by,
as a log-based metric), and the fact handled as told: neither retried nor a fault. A
provider refusing our API key (401, 403) is our configuration, not the event: the event is
redelivered with backoff like one during an outage, logged as an error each time, and
dead-lettered (a fault to resubmit once ``PUSH_PROVIDER_KEY`` is right) when that lasts; a
notice that is stale by then (an offer over) is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from delivery.events import (
    DELIVERY_CANCELLED,
    DELIVERY_OFFERED,
    DELIVERY_STATUS_CHANGED,
    DRIVER_TAKEN_OFFLINE,
    DRIVER_UPDATED,
    OFFER_WITHDRAWN,
    ORDER_UPDATED,
)
from delivery.notification_esg.drivers import driver_updated, heard_offline, online_since
from delivery.notification_esg.messages import (
    ORDER_STATUSES,
    cancelled_delivery,
    delivery_update,
    new_offer,
    order_update,
    taken_offline,
)
from delivery.notification_esg.offers import offer_made, offer_over, still_open
from delivery.notification_esg.provider import PushCredentialsRefused, RecipientUnregistered
from shared.exceptions import NotYet

if TYPE_CHECKING:
    from collections.abc import Callable

    from delivery.notification_esg.provider import PushMessage
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore, Doc

ORDERS = "notification-orders"
"""``notification-orders/{orderId}``: ``{customerRef, notify, status, changedAt, notified:
[fact, ...], delivery, firstAssignment}``: the order as its latest status has it (by Order's
``changedAt``), the facts the customer was told, the delivery status claimed last (told, or
being told), ``{status, driverId, changedAt}``, and the driver whose assignment took the key
``assigned`` (absent until one did). A record kept before statuses were ordered lacks
``status``, ``changedAt`` and ``delivery`` (any update is newer), and its first assignment is
the fact ``assigned``, without the driver."""
RELEASED = "released:"
"""The prefix of the fact that a driver handed the delivery back."""
ASSIGNED = "assigned:"
"""The prefix of the fact that a driver was assigned the delivery."""
FIRST_ASSIGNMENT = "assigned"
"""How the idempotency key names the first assignment the customer is sent."""
FIRST_ASSIGNED = "firstAssignment"
"""The record's field naming the driver whose assignment took the key ``assigned``."""
COURSE = {"released": 1, "assigned": 2, "picked-up": 3, "delivered": 4}
"""The order of the delivery statuses dispatch stamps in one millisecond; the assignment of a
driver who has handed the delivery back comes before them all."""


class UnknownOrder(NotYet):
    """A delivery update came before its order; the event is redelivered later."""


class KeyRefused(NotYet):
    """The provider refused our API key, which :func:`_push` logged as an error: the notice
    waits for ``PUSH_PROVIDER_KEY`` to be put right; the event is redelivered with backoff,
    then dead-lettered."""


class OfferHeldBack(NotYet):
    """An offer open to a driver heard offline since: its withdrawal, or the driver coming
    online again, is on its way; the event is redelivered later, pushed only if still open to
    a driver online."""


def notify(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Send the notification ``event`` calls for, if any; the ``driver-*`` types the channel
    carries but no notice depends on are left alone."""
    handlers: dict[str, Callable[[Envelope, Context[DeliveryPorts]], None]] = {
        ORDER_UPDATED: _order_updated,
        DELIVERY_STATUS_CHANGED: _delivery_status_changed,
        DELIVERY_OFFERED: _delivery_offered,
        OFFER_WITHDRAWN: _offer_withdrawn,
        DELIVERY_CANCELLED: _delivery_cancelled,
        DRIVER_TAKEN_OFFLINE: _driver_taken_offline,
        DRIVER_UPDATED: _driver_updated,
    }
    handler = handlers.get(event.type)
    if handler is not None:
        handler(event, ctx)


def _order_updated(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Keep the order as its latest status has it; tell the customer of that status."""
    order, store = event.body, ctx.ports.store

    def remember(record: Doc | None) -> Doc | None:
        if record is not None and order_stamp(record) > order_stamp(order):
            return None
        return {
            "notified": [],
            **(record or {}),
            "customerRef": order["customerRef"],
            "notify": order.get("notifyCustomer", True),
            "status": order["status"],
            "changedAt": order["changedAt"],
        }

    heard = (order["status"], order["changedAt"])
    record = store.update(ORDERS, order["id"], remember) or store.get(ORDERS, order["id"])
    if record is None or _later_told(record, heard):
        ctx.log.info(
            "order %s: %s came after a later status; not notified", order["id"], order["status"]
        )
        return
    if order["status"] == "accepted" and _delivery_told(record):
        ctx.log.info(
            "order %s: accepted came after a delivery status was told; not notified", order["id"]
        )
        return
    if order["status"] in ORDER_STATUSES:
        _tell_customer(ctx, order["id"], record, order["status"], partial(order_update, order))


def _later_told(record: Doc, heard: tuple[str, int]) -> bool:
    """Whether the order's latest status kept in ``record`` is a later one than ``heard`` that
    the customer is told of; a later silent one (``ready``) makes no earlier notice stale."""
    return (record["status"], record["changedAt"]) != heard and record["status"] in ORDER_STATUSES


def _delivery_told(record: Doc) -> bool:
    """Whether the customer was told, or is being told, a delivery status, which only an
    accepted order has."""
    claimed = record.get("delivery") is not None
    return claimed or any(fact not in ORDER_STATUSES for fact in record["notified"])


def order_stamp(order: Doc) -> tuple[int, bool]:
    """Where an order status comes: by Order's ``changedAt``, the cancellation (final) last
    within a millisecond; a record kept before statuses were ordered comes first."""
    return (order.get("changedAt", -1), order.get("status") == "cancelled")


def _delivery_status_changed(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Tell the customer of the delivery's status unless they heard of a later one, or of
    the order's cancellation; an assignment ends the driver's offer."""
    delivery = event.body
    if delivery["status"] == "assigned":
        offer_over(ctx.ports.store, event, delivery["id"], delivery["driver"]["id"])
    step = {
        "status": delivery["status"],
        "driverId": delivery["driver"]["id"],
        "changedAt": delivery["changedAt"],
    }
    claim = _claim_step(ctx.ports.store, delivery["orderId"], step)
    if claim.record is None:
        raise UnknownOrder(f"no customer known for order {delivery['orderId']} yet")
    if claim.refused:
        ctx.log.info("order %s: %s %s; not notified", *_named(delivery), claim.refused)
        return
    if claim.fact is not None:
        compose = partial(delivery_update, delivery)
        _tell_customer(ctx, delivery["orderId"], claim.record, claim.fact, compose)


@dataclass(slots=True)
class _Claim:
    """What :func:`_claim_step` found: the order's ``record`` (``None`` if none is kept yet),
    why the status is not told (``refused``, empty if it is not), and the ``fact`` to tell
    (``None`` if there is none, or it was told)."""

    record: Doc | None = None
    refused: str = ""
    fact: str | None = None


def _claim_step(store: AbstractDocumentStore, order_id: str, step: Doc) -> _Claim:
    """Claim the delivery status ``step`` in the order's record before it is told: atomically,
    unless the order is cancelled or a later status was claimed; a status claimed already (a
    redelivery, or the retry of a send that failed) is the claim's still."""
    claim = _Claim()

    def claimed(record: Doc | None) -> Doc | None:
        nonlocal claim
        claim = _Claim(record)  # an updater may run again (a transaction retried)
        if record is None:
            return None
        if record.get("status") == "cancelled":
            claim.refused = "came after its cancellation"
            return None
        last, handed_back = record.get("delivery"), _handed_back(record["notified"], step)
        if last is not None and course(step, handed_back) < course(last, handed_back):
            claim.refused = "came after a later status"
            return None
        fact = delivery_fact(step, record["notified"])
        if fact is None or _told(fact, record["notified"]):
            return None
        claim.fact = fact
        if last == step:
            return None
        claim.record = {**record, "delivery": step}
        return claim.record

    store.update(ORDERS, order_id, claimed)
    return claim


def _named(delivery: Doc) -> tuple[str, str]:
    """The order and the delivery status (with its driver) a log line names."""
    return delivery["orderId"], f"{delivery['status']} ({delivery['driver']['id']})"


def course(step: Doc, handed_back: set[str]) -> tuple[int, int]:
    """Where a delivery status ``{status, driverId, changedAt}`` comes in the delivery's
    course: by dispatch's ``changedAt``, then by :data:`COURSE`, the assignment of a driver
    in ``handed_back`` first."""
    status = step["status"]
    first = status == "assigned" and step["driverId"] in handed_back
    return (step["changedAt"], 0 if first else COURSE[status])


def _handed_back(notified: list[str], step: Doc) -> set[str]:
    """The drivers known to have handed the delivery back: by the facts ``notified``, and by
    ``step`` if it is a release."""
    drivers = {fact.removeprefix(RELEASED) for fact in notified if fact.startswith(RELEASED)}
    return (drivers | {step["driverId"]}) if step["status"] == "released" else drivers


def delivery_fact(step: Doc, notified: list[str]) -> str | None:
    """The fact the customer hears of from a delivery status ``{status, driverId}``, given
    those ``notified`` already; ``None`` for the assignment of a driver who has handed the
    delivery back since."""
    status, driver_id = step["status"], step["driverId"]
    if status == "released":
        return f"{RELEASED}{driver_id}"
    if status != "assigned":
        return str(status)
    if f"{RELEASED}{driver_id}" in notified:
        return None
    return f"{ASSIGNED}{driver_id}"


def _delivery_offered(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Tell the driver of the offer while it is open."""
    offer, store = event.body, ctx.ports.store
    offer_made(store, event)
    if not still_open(store, offer, ctx.clock.now_ms()):
        ctx.log.info("offer of %s to %s is over: not pushed", offer["id"], offer["driverId"])
        return
    if heard_offline(store, offer["driverId"]):
        raise OfferHeldBack(f"offer of {offer['id']} to {offer['driverId']}, who went offline")
    key = f"{offer['id']}:offer:{offer['driverId']}:{offer['expiresAt']}"
    _push(ctx, new_offer(offer), key)


def _offer_withdrawn(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    withdrawn = event.body
    expires_at = withdrawn.get("expiresAt")
    offer_over(ctx.ports.store, event, withdrawn["id"], withdrawn["driverId"], expires_at)


def _delivery_cancelled(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    delivery = event.body
    if delivery["driverId"] is not None:
        key = f"{delivery['id']}:cancelled:{delivery['driverId']}"
        _push(ctx, cancelled_delivery(delivery), key)


def _driver_updated(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    driver_updated(ctx.ports.store, event)


def _driver_taken_offline(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Tell the driver the platform took them offline, once per taking offline, unless they
    were heard online since."""
    driver = event.body
    if online_since(ctx.ports.store, driver["id"], driver["offlineAt"]):
        ctx.log.info("%s went online again since being taken offline: not told", driver["id"])
        return
    key = f"{driver['id']}:taken-offline:{driver['offlineAt']}"
    _push(ctx, taken_offline(driver), key)


def _tell_customer(
    ctx: Context[DeliveryPorts],
    order_id: str,
    record: Doc,
    fact: str,
    compose: Callable[[str], PushMessage],
) -> None:
    """Send the customer the notice ``compose`` makes for ``fact`` once (never if they want
    none), then note it in the order's ``record``."""
    notified = record["notified"]
    if not record.get("notify", True) or _told(fact, notified):
        return
    first = fact.startswith(ASSIGNED) and _claim_first_assignment(ctx, order_id, fact)
    key = FIRST_ASSIGNMENT if first else fact
    _push(ctx, compose(record["customerRef"]), f"{order_id}:{key}:customer")

    def note(current: Doc | None) -> Doc | None:
        if current is None:
            return None
        told = current["notified"]
        told = told if fact in told else [*told, fact]
        return {**current, "notified": told}

    ctx.ports.store.update(ORDERS, order_id, note)


def _push(ctx: Context[DeliveryPorts], message: PushMessage, key: str) -> None:
    """Hand ``message`` to the provider under ``key``; skip it, with a warning, when its
    recipient has no device registered; one the provider could not take (an outage, our API
    key refused) is redelivered."""
    try:
        ctx.ports.push.send(message, idempotency_key=key)
    except RecipientUnregistered:
        ctx.log.warning("push skipped: no device registered for the %s of %s", message.kind, key)
    except PushCredentialsRefused as refused:
        ctx.log.error("push of %s held back: %s", key, refused)
        # Reported once, above: the runtime notes a wait as information, a failure again.
        raise KeyRefused(f"push of {key} waits for PUSH_PROVIDER_KEY") from refused


def _told(fact: str, notified: list[str]) -> bool:
    """Whether the customer was told ``fact``; in a record kept before assignments named their
    driver, ``assigned`` stands for any assignment before the first hand-back."""
    if fact in notified:
        return True
    legacy = FIRST_ASSIGNMENT in notified and not any(f.startswith(RELEASED) for f in notified)
    return fact.startswith(ASSIGNED) and legacy


def _claim_first_assignment(ctx: Context[DeliveryPorts], order_id: str, fact: str) -> bool:
    """Whether the assignment ``fact`` has the key ``assigned``: the first one about to be
    sent claims it in the order's record, as one sent whose answer was lost is not noted
    (its retry, stale once its driver handed the order back, never notes it) and the next
    driver's must not take its key; one told before claims existed kept it."""
    driver_id = fact.removeprefix(ASSIGNED)

    def claim(record: Doc | None) -> Doc | None:
        if record is None or FIRST_ASSIGNED in record:
            return None
        if any(f == FIRST_ASSIGNMENT or f.startswith(ASSIGNED) for f in record["notified"]):
            return None
        return {**record, FIRST_ASSIGNED: driver_id}

    store = ctx.ports.store
    record = store.update(ORDERS, order_id, claim) or store.get(ORDERS, order_id) or {}
    return record.get(FIRST_ASSIGNED) == driver_id
