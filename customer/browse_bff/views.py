"""Keep the catalog views up to date from the restaurant and menu events.

Of a restaurant's events the view keeps the latest save's: the later in time, and of two
saves in one millisecond the one with the higher ``revision`` (see
:func:`shared.stores.apply_event`); a restaurant's cuisine is stored as the tag
``?cuisine=`` matches, also from an event emitted before the ingress spelt it so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.browse_bff.models import MENUS, RESTAURANTS
from customer.events import MENU_UPDATED, RESTAURANT_UPDATED
from customer.restaurant_esg.cuisines import cuisine_tag
from shared.stores import apply_event

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

VIEW_OF = {RESTAURANT_UPDATED: RESTAURANTS, MENU_UPDATED: MENUS}
"""The view each event type refreshes; both events carry the whole entity."""


def refresh_catalog(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Replace the restaurant's (or its menu's) view with the event's state, unless stale."""
    state = dict(event.body)
    if "cuisine" in state:
        state["cuisine"] = cuisine_tag(state["cuisine"])
    apply_event(
        ctx.ports.store,
        VIEW_OF[event.type],
        event.partition_key,
        event,
        lambda _: state,
        revision=event.body.get("revision"),
    )
