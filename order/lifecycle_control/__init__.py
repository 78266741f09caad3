"""lifecycle-control: the order's micro event store and its state machine.

A listener records every event about an order; a schedule adds timeout events
when a deadline passes; a trigger folds each order's events into its state in
``orders``; another trigger announces every status the order reaches.
"""

from __future__ import annotations

from order.lifecycle_control.announcer import announce
from order.lifecycle_control.collector import ROUTE, collect
from order.lifecycle_control.event_store import EVENTS, ORDERS
from order.lifecycle_control.rules import apply_rules
from order.lifecycle_control.timeouts import check_deadlines
from shared.topology import Channel, Consumer, Role, Schedule, Service, ServiceKind, Trigger

SERVICE = Service(
    "lifecycle-control",
    ServiceKind.CONTROL,
    (
        Consumer("collector", Role.LISTENER, Channel(ROUTE), handlers=(collect,)),
        Schedule("timeouts", Role.TRIGGER, every_s=60, handlers=(check_deadlines,)),
        Trigger("rules", Role.TRIGGER, collection=EVENTS, handlers=(apply_rules,)),
        Trigger("announcer", Role.TRIGGER, collection=ORDERS, handlers=(announce,)),
    ),
    description="Micro event store per order; the lifecycle state machine with its timeouts.",
)
