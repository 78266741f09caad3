"""``driver-bff``: the drivers' app backend.

Drivers keep their profile, go online and report where they are, see and
answer the offers dispatch makes them, see when the food will be ready, report
picking up and delivering their orders, and may hand a delivery back before
picking it up. A listener keeps their offers and deliveries as dispatch decides
them, and how far restaurants are with the orders, and takes offline a driver
who lets offers in a row run out; triggers turn what drivers do into events for
dispatch, and announce a driver taken offline, to be told so.
"""

from __future__ import annotations

from delivery.driver_bff.api import driver_api
from delivery.driver_bff.listener import keep_driver_work
from delivery.driver_bff.records import DELIVERIES, DRIVERS, OFFERS
from delivery.driver_bff.triggers import (
    publish_answer,
    publish_driver,
    publish_progress,
    publish_taken_offline,
)
from delivery.events import (
    DELIVERY_ASSIGNED,
    DELIVERY_CANCELLED,
    DELIVERY_OFFERED,
    DRIVER_MISSED_OFFERS,
    OFFER_WITHDRAWN,
    ORDER_UPDATED,
)
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Endpoint, Role, Service, ServiceKind, Trigger

SERVICE = Service(
    "driver-bff",
    ServiceKind.BFF,
    (
        Endpoint("api", Role.API, app=driver_api),
        Consumer(
            "listener",
            Role.LISTENER,
            Channel(
                on_types(
                    DELIVERY_OFFERED,
                    OFFER_WITHDRAWN,
                    DELIVERY_ASSIGNED,
                    DELIVERY_CANCELLED,
                    ORDER_UPDATED,
                    DRIVER_MISSED_OFFERS,
                )
            ),
            handlers=(keep_driver_work,),
        ),
        Trigger(
            "drivers-trigger",
            Role.TRIGGER,
            collection=DRIVERS,
            handlers=(publish_driver, publish_taken_offline),
        ),
        Trigger(
            "offers-trigger",
            Role.TRIGGER,
            collection=OFFERS,
            handlers=(publish_answer,),
            correlate_by="orderId",
        ),
        Trigger(
            "deliveries-trigger",
            Role.TRIGGER,
            collection=DELIVERIES,
            handlers=(publish_progress,),
            correlate_by="orderId",
        ),
    ),
    description="The drivers' app: profile, availability, offers and deliveries.",
)
