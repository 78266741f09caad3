"""The Order subsystem's services and how they are run."""

from __future__ import annotations

from order import intake_esg, lifecycle_control, pos_esg, status_esg
from order.contracts import PUBLISHED
from order.lifecycle_control.event_store import EVENTS
from order.migrations import MIGRATIONS
from order.ports import bootstrap
from order.pos_esg.webhook import INBOX
from shared.runtime.app import SubsystemApp
from shared.topology import Index, Subsystem

TOPOLOGY = Subsystem(
    name="order",
    services=(intake_esg.SERVICE, lifecycle_control.SERVICE, pos_esg.SERVICE, status_esg.SERVICE),
    description=(
        "Takes placed orders through their lifecycle: restaurant answers (kitchen or "
        "point of sale), driver assignment, pickup and delivery, with timeouts."
    ),
    indexes=(
        Index("orders", ("status", "driverAssigned", "acceptedAt")),
        Index("orders", ("status", "driverAssigned", "assignedAt")),
        Index("orders", ("status", "changedAt")),
    ),
    # Records needed only while an order runs (order.retention).
    ttl_collections=(EVENTS, INBOX),
)

APP = SubsystemApp(TOPOLOGY, bootstrap, contracts=PUBLISHED, migrations=MIGRATIONS)
