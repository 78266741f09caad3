"""The Delivery subsystem's declaration: its four services and how they are wired."""

from __future__ import annotations

from delivery import dispatch_control, driver_bff, notification_esg, order_esg
from delivery.contracts import PUBLISHED
from delivery.ports import bootstrap
from shared.runtime.app import SubsystemApp
from shared.topology import Index, Subsystem

TOPOLOGY = Subsystem(
    name="delivery",
    services=(
        order_esg.SERVICE,
        driver_bff.SERVICE,
        dispatch_control.SERVICE,
        notification_esg.SERVICE,
    ),
    description="Drivers, dispatch and notifications: gets every accepted order to its customer.",
    indexes=(
        Index("deliveries", ("status", "offer.expiresAt")),
        Index("deliveries", ("status", "searchFrom")),
        Index("deliveries", ("status", "pickupBlock")),
        Index("dispatch-drivers", ("online", "deliveryId", "cell")),
        Index("driver-deliveries", ("driverId", "assignedAt desc")),
    ),
)

APP = SubsystemApp(TOPOLOGY, bootstrap, contracts=PUBLISHED)
