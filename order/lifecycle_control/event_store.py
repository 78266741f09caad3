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
"""Every event about an order, keyed by event id, indexed by ``orderId``, with the time Order
recorded it (``recordedAt``); each expires (:mod:`order.retention`) a month after that."""
RECORDED_AT = "recordedAt"
ORDERS = "orders"
"""The state folded from each order's events, keyed by order id."""


def record(store: AbstractDocumentStore, event: Envelope, now_ms: int) -> bool:
    """Append an order's event (keyed by the order id) at ``now_ms``; ``False`` if it was
    recorded before.

    It expires a month after ``now_ms``, not after its own time: an event stamped long ago
    (a producer's clock set back) must not be deleted while its order still runs, which
    would fold the order back to an earlier status.
    """
    doc = {
        **event.to_json(),
        "orderId": event.partition_key,
        RECORDED_AT: now_ms,
        EXPIRES: expire_at(now_ms),
    }
    return store.create(EVENTS, event.id, doc)


def history(store: AbstractDocumentStore, order_id: str) -> list[Recorded]:
    """Every recorded event of one order, in no particular order."""
    return [_recorded(doc.data) for doc in store.query(EVENTS, [Where("orderId", "==", order_id)])]


def _recorded(doc: Doc) -> Recorded:
    # Every event of an order carries its payload under the entity name "order".
    return Recorded(
        id=doc["id"],
        type=doc["type"],
        timestamp=doc["timestamp"],
        body=doc["order"],
        heard_at=doc.get(RECORDED_AT),
    )
