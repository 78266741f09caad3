"""Price a cart from checkout's copies of the restaurant and its menu."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from customer.checkout_bff.models import MAX_QUANTITY, MAX_TOTAL, MENUS, RESTAURANTS

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
    """Price ``(menuItemId, quantity)`` pairs at an open restaurant or raise ``Unpriceable``.

    Lines of the same dish become one, where the dish first came, with their
    quantities added up: at most :data:`MAX_QUANTITY` of a dish in all, as on one line.
    The cart comes to at most :data:`MAX_TOTAL`.
    """
    restaurant = store.get(RESTAURANTS, restaurant_id)
    if restaurant is None or not restaurant["open"]:
        state = "unknown" if restaurant is None else "closed"
        raise Unpriceable({"restaurantId": f"restaurant {restaurant_id} is {state}"})
    menu = store.get(MENUS, restaurant_id) or {"items": []}
    dishes = {dish["id"]: dish for dish in menu["items"]}
    currency = next((dishes[i]["currency"] for i, _ in wanted if i in dishes), "")
    problems: dict[str, str] = {}
    on_lines: dict[str, list[int]] = {}  # each orderable dish: the lines it is on
    for n, (item_id, _) in enumerate(wanted):
        problem = _problem(item_id, dishes.get(item_id), currency)
        if problem is None:
            on_lines.setdefault(item_id, []).append(n)
        else:
            problems[f"items.{n}.menuItemId"] = problem
    lines: list[Doc] = []
    for item_id, on in on_lines.items():
        quantities = [wanted[n][1] for n in on]
        lines.append(_line(dishes[item_id], sum(quantities)))
        if sum(quantities) > MAX_QUANTITY:
            problems.update(_too_many(dishes[item_id]["name"], on, quantities))
    priced = PricedCart(restaurant, lines, currency)
    if not problems and priced.total > MAX_TOTAL:
        problems["items"] = (
            f"the total would be {priced.total}, more than one order may come to ({MAX_TOTAL})"
        )
    if problems:
        raise Unpriceable(problems)
    return priced


def _too_many(name: str, on: list[int], quantities: list[int]) -> dict[str, str]:
    """The problem of a dish wanted more than :data:`MAX_QUANTITY` times over the lines
    ``on``, named on the line that took it past (the message names all of them: only
    their sum is wrong, not any one line)."""
    running = itertools.accumulate(quantities)
    past = next(n for n, total in zip(on, running, strict=True) if total > MAX_QUANTITY)
    named = [f"items.{n}" for n in on]
    where = named[0] if len(named) == 1 else ", ".join(named[:-1]) + f" and {named[-1]}"
    problem = f"{name} is on {where}: {sum(quantities)} in all, at most {MAX_QUANTITY} of one dish"
    return {f"items.{past}.quantity": problem}


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
