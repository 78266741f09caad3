"""Restaurant's catalog events, read with the customer's own readers and put on the bus.

Each keeps the ``revision`` Restaurant published it with (``null`` when it did not
say), which orders two saves of one millisecond (see :func:`shared.stores.apply_event`),
and a restaurant's cuisine comes in as the tag customers filter by (see :mod:`.cuisines`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import field_validator

from customer import events
from customer.restaurant_esg.cuisines import cuisine_tag
from shared.contracts import Reader, read

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

RESTAURANT_UPDATED = "restaurant.restaurant-updated"
MENU_UPDATED = "restaurant.menu-updated"


class AddressReader(Reader):
    """Where the restaurant is."""

    street: str
    city: str
    postcode: str
    lat: float
    lng: float


class RestaurantReader(Reader):
    """What customers see of a restaurant (its ordering channel is none of their business)."""

    id: str
    name: str
    cuisine: str
    address: AddressReader
    open: bool
    delivery_radius_m: int | None = None
    revision: int | None = None

    @field_validator("cuisine")
    @classmethod
    def _as_tag(cls, cuisine: str) -> str:
        """A profile saved before Restaurant normalised cuisines may come as it was."""
        return cuisine_tag(cuisine)


class MenuItemReader(Reader):
    """One dish on the menu."""

    id: str
    name: str
    description: str
    price: int
    currency: str
    available: bool


class MenuReader(Reader):
    """A restaurant's whole menu."""

    restaurant_id: str
    items: list[MenuItemReader]
    revision: int | None = None


def receive(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Emit ``restaurant-updated`` or ``menu-updated``, keyed by the restaurant's id."""
    if event.type == RESTAURANT_UPDATED:
        restaurant = read(event, RestaurantReader)
        body = restaurant.model_dump(mode="json", by_alias=True)
        ctx.emit(events.RESTAURANT_UPDATED, "restaurant", body, partition_key=restaurant.id)
    elif event.type == MENU_UPDATED:
        menu = read(event, MenuReader)
        body = menu.model_dump(mode="json", by_alias=True)
        ctx.emit(events.MENU_UPDATED, "menu", body, partition_key=menu.restaurant_id)
