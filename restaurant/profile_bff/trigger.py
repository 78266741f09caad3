"""Database-first: a changed profile or menu becomes an internal event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.events import MENU_UPDATED, RESTAURANT_UPDATED

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange


def announce_profile(change: DocumentChange, ctx: Context[RestaurantPorts]) -> None:
    """Emit ``restaurant-updated`` (the whole profile and its ``revision``) when it changed."""
    if change.after is not None and change.after != change.before:
        ctx.emit(RESTAURANT_UPDATED, "restaurant", change.after, partition_key=change.key)


def announce_menu(change: DocumentChange, ctx: Context[RestaurantPorts]) -> None:
    """Emit ``menu-updated`` (``restaurantId``, ``items`` and ``revision``) when the menu
    changed."""
    if change.after is not None and change.after != change.before:
        ctx.emit(MENU_UPDATED, "menu", change.after, partition_key=change.key)
