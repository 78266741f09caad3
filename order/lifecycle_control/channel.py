"""Which way an order goes to its restaurant, decided once: when the order is recorded.

A restaurant takes its orders in the kitchen app (``kitchen``) or in its own
point of sale (``pos``), and may switch. The collector keeps each restaurant's
latest choice from ``restaurant-updated`` (the later save: by time, then by the
``revision`` Restaurant counts, for two saves in one millisecond) and stamps it
on ``order-placed`` as it records it. Every status of the order then carries it
(``ordering``), so pos-esg and the Restaurant subsystem's kitchen act on the
same decision even while a switch is still on its way to one of them. A restaurant not heard of
yet gets the order in its kitchen app, which every restaurant has.

Before this decision moved here, pos-esg kept each restaurant's choice in
``pos-restaurants``: a restaurant not heard of since is read from there, so its
orders keep going where they went until it saves its profile again.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from shared.stores import apply_event

if TYPE_CHECKING:
    from shared.envelope import Envelope
    from shared.stores import AbstractDocumentStore

ORDERINGS = "restaurant-orderings"
"""``restaurant-orderings/{restaurantId}``: ``{ordering}``, each restaurant's latest choice."""
LEGACY_ORDERINGS = "pos-restaurants"
"""Where pos-esg kept the same before: read when a restaurant has no entry here yet."""
DEFAULT_ORDERING = "kitchen"


def remember_ordering(store: AbstractDocumentStore, event: Envelope) -> None:
    """Keep a restaurant's way of taking orders; a stale or repeated update changes nothing."""
    ordering, revision = event.body["ordering"], event.body.get("revision")
    apply_event(
        store,
        ORDERINGS,
        event.body["id"],
        event,
        lambda _: {"ordering": ordering},
        revision=revision,
    )


def with_ordering(store: AbstractDocumentStore, placed: Envelope) -> Envelope:
    """``order-placed`` with the way its restaurant takes orders now."""
    restaurant_id = placed.body["restaurant"]["id"]
    restaurant = store.get(ORDERINGS, restaurant_id) or store.get(LEGACY_ORDERINGS, restaurant_id)
    ordering = DEFAULT_ORDERING if restaurant is None else restaurant["ordering"]
    return dataclasses.replace(placed, body={**placed.body, "ordering": ordering})
