"""What makes a menu valid beyond the shape of its items."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restaurant.profile_bff.models import Menu


def menu_problems(menu: Menu) -> dict[str, str]:
    """Per-field problems: an item id used twice, or a currency other than the first item's."""
    problems: dict[str, str] = {}
    first_use: dict[str, int] = {}
    currency = menu.items[0].currency
    for index, item in enumerate(menu.items):
        earlier = first_use.setdefault(item.id, index)
        if earlier != index:
            problems[f"items.{index}.id"] = f"{item.id!r} is already the id of items.{earlier}"
        if item.currency != currency:
            problems[f"items.{index}.currency"] = (
                f"must be {currency} like items.0: a menu has one currency"
            )
    return problems
