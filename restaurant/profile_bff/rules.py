"""What makes a profile or menu valid beyond the shape of its fields.

Text customers read (and kitchens print) holds no control characters: a dish named
``"Pizza\\x1b[2J"`` or ``"Soup\\x00"`` would reach every customer's app, cart and order
ticket as it was typed. A name, id or address part is one line and shows at least one
character (``"\\u200b"``, a zero-width space, shows none); a description may break lines.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restaurant.profile_bff.models import Menu, Profile

_LINE_BREAKS = frozenset("\t\n\r")
"""The control characters a description may hold."""
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
"""Unicode categories that show nothing by themselves: controls, formats, separators."""


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
    """Per-field problems: an item id used twice, a currency other than the first item's,
    or text with a control character (or, but for a description, nothing to show)."""
    problems: dict[str, str] = {}
    first_use: dict[str, int] = {}
    currency = menu.items[0].currency
    for index, item in enumerate(menu.items):
        at = f"items.{index}"
        problems.update(_problems_of_lines({f"{at}.id": item.id, f"{at}.name": item.name}))
        described = _text_problem(item.description, multiline=True)
        if described is not None:
            problems[f"{at}.description"] = described
        earlier = first_use.setdefault(item.id, index)
        if earlier != index:
            problems.setdefault(f"{at}.id", f"{item.id!r} is already the id of items.{earlier}")
        if item.currency != currency:
            problems[f"{at}.currency"] = f"must be {currency} like items.0: a menu has one currency"
    return problems


def _problems_of_lines(texts: dict[str, str]) -> dict[str, str]:
    found = {field: _text_problem(text, multiline=False) for field, text in texts.items()}
    return {field: problem for field, problem in found.items() if problem is not None}


def _text_problem(text: str, *, multiline: bool) -> str | None:
    """Why ``text`` may not be shown to customers, or None."""
    allowed = _LINE_BREAKS if multiline else frozenset()
    control = next((c for c in text if unicodedata.category(c) == "Cc" and c not in allowed), None)
    if control is not None:
        breaks = " (tabs and line breaks may)" if multiline else ""
        return f"must not hold control characters such as {control!r}{breaks}"
    if not multiline and all(unicodedata.category(c) in _INVISIBLE for c in text):
        return "must hold a visible character"
    return None
