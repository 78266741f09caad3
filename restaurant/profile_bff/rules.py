"""What makes a profile or menu valid beyond the shape of its fields: its text is fit to
show (:mod:`shared.text`; a name, id or address part is one line and shows something,
a description may break lines or be empty), its dish ids unique and its currency one,
a code of ISO 4217 (:mod:`restaurant.profile_bff.currencies`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.profile_bff.currencies import ISO_4217
from shared.text import text_problem

if TYPE_CHECKING:
    from restaurant.profile_bff.models import Menu, Profile


def profile_problems(profile: Profile) -> dict[str, str]:
    """Per-field problems of the profile's text: a control character, or nothing to show."""
    texts = {
        "name": profile.name,
        "cuisine": profile.cuisine,
        "address.street": profile.address.street,
        "address.city": profile.address.city,
        "address.postcode": profile.address.postcode,
    }
    return _problems_of_lines(texts)


def menu_problems(menu: Menu) -> dict[str, str]:
    """Per-field problems: an item id used twice, a currency ISO 4217 does not know or other
    than the first known one's (a typo on items.0 is named as such, never held up as the
    menu's currency), or text with a control character (or, but for a description, nothing
    to show)."""
    problems: dict[str, str] = {}
    first_use: dict[str, int] = {}
    priced_by = next((i for i, item in enumerate(menu.items) if item.currency in ISO_4217), 0)
    currency = menu.items[priced_by].currency
    for index, item in enumerate(menu.items):
        at = f"items.{index}"
        problems.update(_problems_of_lines({f"{at}.id": item.id, f"{at}.name": item.name}))
        described = text_problem(item.description, multiline=True, may_be_blank=True)
        if described is not None:
            problems[f"{at}.description"] = described
        earlier = first_use.setdefault(item.id, index)
        if earlier != index:
            problems.setdefault(f"{at}.id", f"{item.id!r} is already the id of items.{earlier}")
        if item.currency not in ISO_4217:
            problems[f"{at}.currency"] = f"{item.currency!r} is no ISO 4217 currency code"
        elif item.currency != currency:
            problems[f"{at}.currency"] = (
                f"must be {currency} like items.{priced_by}: a menu has one currency"
            )
    return problems


def _problems_of_lines(texts: dict[str, str]) -> dict[str, str]:
    found = {field: text_problem(text) for field, text in texts.items()}
    return {field: problem for field, problem in found.items() if problem is not None}
