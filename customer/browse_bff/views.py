"""Keep the catalog views up to date from the restaurant and menu events.

Of a restaurant's events the view keeps the latest save's: the later in time, and of two
saves in one millisecond the one with the higher ``revision`` (see
:func:`shared.stores.apply_event`); a restaurant's cuisine is stored as the tag
``?cuisine=`` matches, also from an event emitted before the ingress spelt it so,
and its name also as the list orders it (``sortName``). Documents stored before
either was written so are brought up to date by :mod:`customer.browse_bff.migrations`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.browse_bff.models import MENUS, RESTAURANTS
from customer.browse_bff.pages import SORT_FIELD, sort_name
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
    if event.type == RESTAURANT_UPDATED:
        state["cuisine"] = cuisine_tag(state["cuisine"])
        state[SORT_FIELD] = sort_name(state["name"])
    apply_event(
        ctx.ports.store,
        VIEW_OF[event.type],
        event.partition_key,
        event,
        lambda _: state,
        revision=event.body.get("revision"),
    )
