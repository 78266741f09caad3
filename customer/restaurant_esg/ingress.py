"""Restaurant's catalog events, read with the customer's own readers and put on the bus.

Each keeps the ``revision`` Restaurant published it with (``null`` when it did not
say), which orders two saves of one millisecond (see :func:`shared.stores.apply_event`),
and a restaurant's cuisine comes in as the tag customers filter by (see :mod:`.cuisines`).
Restaurant's contract bounds no count, radius or price above; one past what the stores keep
comes in as :data:`MOST_KEPT` (see :data:`Kept`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field, field_validator

from customer import events
from customer.restaurant_esg.cuisines import cuisine_tag
from shared.contracts import Currency, Id, Reader, read

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

RESTAURANT_UPDATED = "restaurant.restaurant-updated"
MENU_UPDATED = "restaurant.menu-updated"
MOST_KEPT = 2**63 - 1
"""The largest integer the customer's stores keep (Firestore's, 64 bits)."""
Kept = Annotated[int, AfterValidator(lambda n: min(n, MOST_KEPT))]
"""An integer Restaurant's contract bounds not above, read so that the customer can keep it:
one past :data:`MOST_KEPT` is read as that, still the largest. A radius still reaches every
address, a revision is still the latest save, a price still comes to more than one order may
(checkout refuses a cart with the dish). Kept as it came, it faulted every view it reached."""


class AddressReader(Reader):
    """Where the restaurant is, within the bounds of Restaurant's contract, which are those
    ``customer.order-placed`` passes it on in: an address beyond them is a fault here, not
    an order whose payment is authorized and that can never be published."""

    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class RestaurantReader(Reader):
    """What customers see of a restaurant (its ordering channel is none of their business)."""

    id: Id
    name: str
    cuisine: str
    address: AddressReader
    open: bool
    delivery_radius_m: Kept | None = None
    revision: Kept | None = None

    @field_validator("cuisine")
    @classmethod
    def _as_tag(cls, cuisine: str) -> str:
        """A profile saved before Restaurant normalised cuisines may come as it was."""
        return cuisine_tag(cuisine)


class MenuItemReader(Reader):
    """One dish on the menu, within the bounds of Restaurant's contract, which
    ``customer.order-placed`` holds its lines to (a price below 0, a currency that is no
    ISO 4217 code): a dish beyond them is a fault here, not an order whose payment is
    authorized and that can never be published."""

    id: Id
    name: str
    description: str
    price: Kept = Field(ge=0)
    currency: Currency
    available: bool


class MenuReader(Reader):
    """A restaurant's whole menu; each dish's id once, as Restaurant's contract says: of a
    dish listed twice browse would show both, and checkout charge one's price."""

    restaurant_id: Id
    items: list[MenuItemReader]
    revision: Kept | None = None

    @field_validator("items")
    @classmethod
    def _each_dish_once(cls, items: list[MenuItemReader]) -> list[MenuItemReader]:
        counted = Counter(item.id for item in items)
        twice = sorted(dish for dish, count in counted.items() if count > 1)
        if twice:
            raise ValueError(f"dishes listed more than once: {', '.join(twice)}")
        return items


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
