"""Price a cart from checkout's copies of the restaurant and its menu."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from customer.checkout_bff.models import MENUS, RESTAURANTS

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Doc


class Unpriceable(Exception):
    """The cart cannot be ordered; ``fields`` names each problem (e.g. ``items.1.menuItemId``)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in fields.items()))
        self.fields = fields


@dataclass(frozen=True, slots=True)
class PricedCart:
    """An orderable cart: the restaurant's view and its ``{menuItemId, name, quantity, price}``."""

    restaurant: Doc
    lines: list[Doc]
    currency: str

    @property
    def total(self) -> int:
        """The sum of the lines, in the currency's minor unit."""
        return sum(line["price"] * line["quantity"] for line in self.lines)


def price(
    store: AbstractDocumentStore, restaurant_id: str, wanted: Sequence[tuple[str, int]]
) -> PricedCart:
    """Price ``(menuItemId, quantity)`` pairs at an open restaurant or raise ``Unpriceable``."""
    restaurant = store.get(RESTAURANTS, restaurant_id)
    if restaurant is None or not restaurant["open"]:
        state = "unknown" if restaurant is None else "closed"
        raise Unpriceable({"restaurantId": f"restaurant {restaurant_id} is {state}"})
    menu = store.get(MENUS, restaurant_id) or {"items": []}
    dishes = {dish["id"]: dish for dish in menu["items"]}
    currency = next((dishes[i]["currency"] for i, _ in wanted if i in dishes), "")
    problems: dict[str, str] = {}
    lines: list[Doc] = []
    for n, (item_id, quantity) in enumerate(wanted):
        problem = _problem(item_id, dishes.get(item_id), currency)
        if problem is None:
            lines.append(_line(dishes[item_id], quantity))
        else:
            problems[f"items.{n}.menuItemId"] = problem
    if problems:
        raise Unpriceable(problems)
    return PricedCart(restaurant, lines, currency)


def _line(dish: Doc, quantity: int) -> Doc:
    return {
        "menuItemId": dish["id"],
        "name": dish["name"],
        "quantity": quantity,
        "price": dish["price"],
    }


def _problem(item_id: str, dish: Doc | None, currency: str) -> str | None:
    if dish is None:
        return f"{item_id} is not on the menu"
    if not dish["available"]:
        return f"{dish['name']} is not available"
    if dish["currency"] != currency:
        return f"{dish['name']} is priced in {dish['currency']}, the cart in {currency}"
    return None
