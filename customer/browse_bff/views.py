"""Keep the catalog views up to date from the restaurant and menu events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.browse_bff.models import MENUS, RESTAURANTS
from shared.stores import apply_event

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

VIEW_OF = {"restaurant-updated": RESTAURANTS, "menu-updated": MENUS}
"""The view each event type refreshes; both events carry the whole entity."""


def refresh_catalog(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Replace the restaurant's (or its menu's) view with the event's state, unless stale."""
    apply_event(
        ctx.ports.store, VIEW_OF[event.type], event.partition_key, event, lambda _: dict(event.body)
    )
