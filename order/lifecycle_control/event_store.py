"""The service's documents: each order's micro event store and the folded orders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from order.lifecycle_control.transitions import Recorded
from order.retention import EXPIRES, expire_at
from shared.stores import Where

if TYPE_CHECKING:
    from shared.envelope import Envelope
    from shared.stores import AbstractDocumentStore, Doc

EVENTS = "order-events"
"""Every event about an order, keyed by event id, indexed by ``orderId``; each expires
(:mod:`order.retention`) a month after it happened."""
ORDERS = "orders"
"""The state folded from each order's events, keyed by order id."""


def record(store: AbstractDocumentStore, event: Envelope) -> bool:
    """Append an order's event (keyed by the order id); ``False`` if it was recorded before."""
    doc = {**event.to_json(), "orderId": event.partition_key, EXPIRES: expire_at(event.timestamp)}
    return store.create(EVENTS, event.id, doc)


def history(store: AbstractDocumentStore, order_id: str) -> list[Recorded]:
    """Every recorded event of one order, in no particular order."""
    return [_recorded(doc.data) for doc in store.query(EVENTS, [Where("orderId", "==", order_id)])]


def _recorded(doc: Doc) -> Recorded:
    # Every event of an order carries its payload under the entity name "order".
    return Recorded(id=doc["id"], type=doc["type"], timestamp=doc["timestamp"], body=doc["order"])
