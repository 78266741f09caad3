"""Listener: records every event about an order in the order's micro event store.

It also keeps each restaurant's way of taking orders, which it stamps on the order
as it records ``order-placed`` (:mod:`order.lifecycle_control.channel`), with the
time it took the order in (``receivedAt``): the restaurant's deadline runs from
there, so time the order spent reaching Order does not count against the restaurant.

The fold orders events by when they happened, so an answer that was on its way
still counts. A customer's cancellation is a request, not a fact: Order decides
it when the request arrives, so it is recorded at its time of arrival. A request
that reaches Order after the restaurant's answer changes nothing, however early
the customer sent it. So is a restaurant's rejection of an order it had already
accepted: it counts from its arrival, so a pickup Order heard of first stands
(the food went out) instead of being undone by a rejection sent a moment before.

Every other event keeps its producer's time, but never one later than when Order heard it
(:func:`_no_later_than`): another subsystem's clock running ahead cannot make an answer
given in time look late (past the restaurant's deadline), put it after a cancellation
that reached Order later, nor move the deadlines that run from it into Order's future;
nor can a restaurant's profile saved by such a clock outrank the saves after it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from order.events import (
    CANCEL_REQUESTED,
    DRIVER_ASSIGNED,
    DRIVER_RELEASED,
    ORDER_DELIVERED,
    ORDER_PICKED_UP,
    ORDER_PLACED,
    RESTAURANT_ACCEPTED,
    RESTAURANT_READY,
    RESTAURANT_REJECTED,
    RESTAURANT_UPDATED,
)
from order.lifecycle_control.channel import remember_ordering, with_ordering
from order.lifecycle_control.event_store import ORDERS, record
from shared.hub.routing import Rule

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore

COLLECTED = frozenset(
    {
        ORDER_PLACED,
        CANCEL_REQUESTED,
        RESTAURANT_ACCEPTED,
        RESTAURANT_REJECTED,
        RESTAURANT_READY,
        DRIVER_ASSIGNED,
        DRIVER_RELEASED,
        ORDER_PICKED_UP,
        ORDER_DELIVERED,
    }
)
PREFIXES = ("restaurant-", "driver-")
ROUTE = Rule(
    types=frozenset(t for t in COLLECTED if not t.startswith(PREFIXES)),
    type_prefixes=PREFIXES,
)
"""Listing every type makes a filter longer than Pub/Sub's 256 bytes; this one also lets
``restaurant-updated`` through, which :func:`collect` keeps apart from the orders' events."""


def collect(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Record ``event``; a redelivered one is already there and changes nothing."""
    store, now_ms = ctx.ports.store, ctx.clock.now_ms()
    if event.type == RESTAURANT_UPDATED:
        remember_ordering(store, _no_later_than(event, now_ms))
        return
    if event.type not in COLLECTED:
        return
    if event.type == ORDER_PLACED:
        event = _received(with_ordering(store, event), now_ms)
    elif event.type == CANCEL_REQUESTED or _rejected_after_accepting(store, event):
        event = dataclasses.replace(event, timestamp=now_ms)
    if not record(store, _no_later_than(event, now_ms), now_ms):
        ctx.log.debug("event %s was recorded before", event.id)


def _no_later_than(event: Envelope, now_ms: int) -> Envelope:
    """``event`` stamped no later than ``now_ms``, when Order heard it: nothing happened after
    Order heard of it, whatever the producer's clock says."""
    if event.timestamp <= now_ms:
        return event
    return dataclasses.replace(event, timestamp=now_ms)


def _received(placed: Envelope, now_ms: int) -> Envelope:
    """``order-placed`` with the time Order took it in (a redelivery is not recorded again)."""
    return dataclasses.replace(placed, body={**placed.body, "receivedAt": now_ms})


def _rejected_after_accepting(store: AbstractDocumentStore, event: Envelope) -> bool:
    """A restaurant's rejection of an order that is no longer ``placed`` here."""
    if event.type != RESTAURANT_REJECTED:
        return False
    order = store.get(ORDERS, event.partition_key)
    return order is not None and order["status"] != "placed"
