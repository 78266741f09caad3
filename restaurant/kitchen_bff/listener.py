"""Keep the kitchen's queue: a ticket per new order, closed when it is cancelled or collected.

Events of one order share its partition key and arrive in order, so a withdrawal
or collection without a ticket is for an order the kitchen never queued.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from restaurant.kitchen_bff.models import FINAL_STATUSES, TICKETS
from shared.stores import apply_event

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import AbstractDocumentStore, Doc

KITCHEN_RESTAURANTS = "kitchen-restaurants"
"""How each restaurant takes orders (``kitchen`` or ``pos``), keyed by restaurant id."""


class RestaurantNotKnownYet(LookupError):
    """An order arrived before its restaurant's profile: retried until the profile is here."""


def keep_queue(event: Envelope, ctx: Context[RestaurantPorts]) -> None:
    """Apply one restaurant or order event to the queue; duplicates change nothing."""
    _APPLY[event.type](event, ctx.ports.store)


def _remember_ordering(event: Envelope, store: AbstractDocumentStore) -> None:
    restaurant_id, ordering = event.body["id"], event.body["ordering"]
    apply_event(
        store,
        KITCHEN_RESTAURANTS,
        restaurant_id,
        event,
        lambda _: {"id": restaurant_id, "ordering": ordering},
    )


def _queue(event: Envelope, store: AbstractDocumentStore) -> None:
    order = event.body
    restaurant = store.get(KITCHEN_RESTAURANTS, order["restaurantId"])
    if restaurant is None:
        raise RestaurantNotKnownYet(f"restaurant {order['restaurantId']} has no profile here yet")
    if restaurant["ordering"] == "pos":
        return  # the Order subsystem sends it to the restaurant's own point-of-sale
    ticket = {
        "id": order["id"],
        "restaurantId": order["restaurantId"],
        "items": order["items"],
        "total": order["total"],
        "currency": order["currency"],
        "status": "new",
        "receivedAt": event.timestamp,
    }
    store.create(TICKETS, order["id"], ticket)


def _close(status: str) -> Callable[[Envelope, AbstractDocumentStore], None]:
    """A step that moves a ticket that is not final yet to ``status``."""

    def close(event: Envelope, store: AbstractDocumentStore) -> None:
        def updater(ticket: Doc | None) -> Doc | None:
            if ticket is None or ticket["status"] in FINAL_STATUSES:
                return None
            return {**ticket, "status": status}

        store.update(TICKETS, event.body["id"], updater)

    return close


_APPLY: dict[str, Callable[[Envelope, AbstractDocumentStore], None]] = {
    "restaurant-updated": _remember_ordering,
    "order-received": _queue,
    "order-withdrawn": _close("cancelled"),
    "order-collected": _close("picked-up"),
}
