"""Which restaurants the list offers (those with a dish on their menu), and which of them
can be ordered from now.

A restaurant whose menu has not arrived yet (or lists no dish) has nothing to order,
so the list leaves it out. The restaurant's view says so itself (:data:`HAS_MENU`),
so that the store filters the list and its pages stay full and in order. A restaurant
whose dishes are all sold out is listed, as a closed one is, but not as ``orderable``
(:func:`orderable`; the view keeps :data:`DISH_AVAILABLE`): checkout refuses a cart
from either, and the app can show it greyed out until a dish is back. The profile
and the menu arrive as separate events, in either order and each possibly late or
twice, so the view also keeps which save of the menu its :data:`HAS_MENU` tells of
(:data:`MENU_SAVE`) and only a later save changes it.

Each event's handler writes its own document first and then copies the menu's state
as stored onto the restaurant's view (:func:`list_by_menu`): whichever of the two
writes comes second sees the other, so a menu that arrives before its restaurant
is not missed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.browse_bff.models import MENUS, RESTAURANTS
from shared.stores.idempotent import META, REVISION, later

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Doc

HAS_MENU = "hasMenu"
"""The restaurant view's field saying whether its menu lists a dish: only those are listed."""
DISH_AVAILABLE = "dishAvailable"
"""The restaurant view's field saying whether its menu lists a dish that can be ordered now
(one ``available``)."""
MENU_SAVE = "menuSave"
"""The restaurant view's field holding ``{timestamp, revision}`` of the menu save that
:data:`HAS_MENU` tells of."""


def carry_listing(current: Doc | None, profile: Doc) -> Doc:
    """The restaurant's view with ``profile`` and what the view knew of its menu (nothing yet:
    not listed)."""
    known = current or {}
    has_menu = known.get(HAS_MENU, False)
    available = known.get(DISH_AVAILABLE, has_menu)  # a view stored before it kept one
    listing = {HAS_MENU: has_menu, DISH_AVAILABLE: available, MENU_SAVE: known.get(MENU_SAVE)}
    return {**profile, **listing}


def orderable(view: Doc) -> bool:
    """Whether a cart from the restaurant can be checked out now: it is open and a dish on
    its menu is available (what checkout requires, besides delivering to the address)."""
    return bool(view["open"]) and bool(view.get(DISH_AVAILABLE, view.get(HAS_MENU, False)))


def list_by_menu(store: AbstractDocumentStore, restaurant_id: str) -> bool:
    """Copy onto the restaurant's view whether its menu, as stored, lists a dish, and one
    available (nothing to do before both are stored); whether the view changed."""
    menu = store.get(MENUS, restaurant_id)
    if menu is None:
        return False
    return store.update(RESTAURANTS, restaurant_id, lambda view: with_menu(view, menu)) is not None


def with_menu(view: Doc | None, menu: Doc) -> Doc | None:
    """``view`` telling whether ``menu`` lists a dish, and one available, unless it tells of a
    later save of the menu already; ``None`` when there is nothing to change. Of the save it
    tells of it is told again, so that a view stored before it kept :data:`DISH_AVAILABLE`
    learns it."""
    if view is None:
        return None
    applied = menu.get(META, {})
    save = {"timestamp": applied.get("timestamp", 0), REVISION: applied.get(REVISION)}
    told = view.get(MENU_SAVE)
    if told is not None and _saved(told) != _saved(save) and not later(_saved(save), _saved(told)):
        return None
    items = menu["items"]
    available = any(item["available"] for item in items)
    listed = {**view, HAS_MENU: bool(items), DISH_AVAILABLE: available, MENU_SAVE: save}
    return None if listed == view else listed


def _saved(save: Doc) -> tuple[int, int | None]:
    return save["timestamp"], save.get(REVISION)
