"""``dispatch-control``: finds a driver for every order that needs one.

The collector keeps dispatch's drivers and deliveries from what orders,
drivers and offers do; the rules offer a searching delivery to the nearest
available driver, keep drivers' reservations true and announce every
transition; a schedule takes back offers left unanswered for two minutes, once
an answer given in time can no longer be on its way (30 s later), and frees drivers
still reserved by an offer whose every try died between its two writes (reserving the
driver, then writing the offer) once the reservation is 5 min old.

A driver is assigned a delivery only while dispatch has them online: an accept heard
once they went offline assigns nothing, and their offer goes as missed. A driver who
hands a delivery back after accepting it (before the pickup) is never offered it again;
a delivery handed back searches again at once, and its driver is free for other offers.
A driver who declines a delivery is offered it again only once nobody else can take it
(no free driver in reach who has not declined it), and at the earliest
``DECLINE_COOL_DOWN_MS`` (10 min) after their latest decline: the one who declined it
longest ago first, as an ordinary offer (the same timeout), never while they are offline
or busy; declining it again starts their cool-down again. A decline takes back only the
offer it answers. A driver who
misses its offer (lets it run out, or goes offline holding it) is only ranked
after the drivers who never missed it; among those who did, the one who
missed it longest ago comes first. So the delivery goes to everyone else
first, and comes back to a driver who missed it when nobody else can take it;
the same driver is offered it again at the earliest once their last offer has
run out and been taken back (2 min 30 s), never in a tight loop. A driver holds one
delivery at a time, offered or assigned: an offer that lands once its driver was taken by
another delivery (they went offline and back between their reservation and the offer) is
taken back at once, counting against them neither way, and an acceptance of an offer made to a
driver dispatch holds for another delivery assigns nothing and takes the offer back so too
(:func:`~delivery.dispatch_control.records.holds_another`). A delivered
or cancelled delivery keeps only the city and postcode of the customer's
address.

Each offer a driver lets run out is announced with the run of them since the
driver last answered an offer or came online (``driver-missed-offers``,
:mod:`~delivery.dispatch_control.misses`): driver-bff takes a driver who let two
in a row run out offline, and its ``driver-updated`` stops their offers.

A delivery nobody takes (every driver in reach declined it, or let its offers run out
until driver-bff took them offline) waits, searching, with no retry loop and nothing
announced: it is offered at once to a driver who becomes free near it and has not declined
it (coming online, finishing or handing back a delivery, or found by the minute's sweep),
and goes round again to those who declined it as their cool-downs end (found by the same
nudges and sweep). Dispatch gives up on no delivery itself and tells Order nothing: the
order's deadline for a driver is Order's (30 min; ``no-driver``), and its cancellation ends
the search, withdrawing an offer standing then.
"""

from __future__ import annotations

from delivery.dispatch_control.announce import announce
from delivery.dispatch_control.collector import collect
from delivery.dispatch_control.misses import count_missed_offer
from delivery.dispatch_control.records import DELIVERIES
from delivery.dispatch_control.rules import offer_to_nearest, settle_drivers
from delivery.dispatch_control.timeouts import withdraw_expired_offers
from delivery.events import (
    DELIVERY_DELIVERED,
    DELIVERY_PICKED_UP,
    OFFER_ACCEPTED,
    OFFER_DECLINED,
    ORDER_UPDATED,
)
from shared.hub.routing import Rule
from shared.topology import Channel, Consumer, Role, Schedule, Service, ServiceKind, Trigger

DRIVERS_EVENTS = "driver-"
COLLECTED = Rule(
    types=frozenset(
        {ORDER_UPDATED, OFFER_ACCEPTED, OFFER_DECLINED, DELIVERY_PICKED_UP, DELIVERY_DELIVERED}
    ),
    type_prefixes=(DRIVERS_EVENTS,),
)
"""What the collector reads; ``driver-updated`` and ``driver-released`` by their prefix, as
listing every type would exceed the 256 bytes of a Pub/Sub filter."""

SERVICE = Service(
    "dispatch-control",
    ServiceKind.CONTROL,
    (
        Consumer(
            "collector",
            Role.LISTENER,
            Channel(COLLECTED),
            handlers=(collect,),
        ),
        Trigger(
            "rules",
            Role.TRIGGER,
            collection=DELIVERIES,
            handlers=(settle_drivers, offer_to_nearest, announce, count_missed_offer),
            correlate_by="orderId",
        ),
        Schedule("offer-timeouts", Role.TRIGGER, every_s=60, handlers=(withdraw_expired_offers,)),
    ),
    description="Assigns drivers to orders: nearest available first, re-offered on timeout.",
)
