"""Keep the catalog views up to date from the restaurant and menu events.

Of a restaurant's events the view keeps the latest save's: the later in time, and of two
saves in one millisecond the one with the higher ``revision`` (see
:func:`shared.stores.apply_event`); a restaurant's cuisine is stored as the tag
``?cuisine=`` matches, also from an event emitted before the ingress spelt it so,
and its name also as the list orders it (``sortName``); the view also says whether the
restaurant's menu lists a dish, as only those are listed (:mod:`.listing`). Documents
stored before any of these was written so are brought up to date by
:mod:`customer.browse_bff.migrations`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.browse_bff.listing import carry_listing, list_by_menu
from customer.browse_bff.models import MENUS, RESTAURANTS
from customer.browse_bff.pages import SORT_FIELD, sort_name
from customer.events import MENU_UPDATED, RESTAURANT_UPDATED
from customer.restaurant_esg.cuisines import cuisine_tag
from shared.stores import apply_event

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import Doc

VIEW_OF = {RESTAURANT_UPDATED: RESTAURANTS, MENU_UPDATED: MENUS}
"""The view each event type refreshes; both events carry the whole entity."""


def refresh_catalog(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Replace the restaurant's (or its menu's) view with the event's state, unless stale;
    then list the restaurant if its menu lists a dish (see :mod:`.listing`).

    The listing is copied even when the event changed nothing (a redelivery), in case
    the first delivery stopped between the two writes.
    """
    store = ctx.ports.store
    state = dict(event.body)
    if event.type == RESTAURANT_UPDATED:
        state["cuisine"] = cuisine_tag(state["cuisine"])
        state[SORT_FIELD] = sort_name(state["name"])

    def mutate(current: Doc | None) -> Doc:
        return carry_listing(current, state) if event.type == RESTAURANT_UPDATED else state

    revision = event.body.get("revision")
    apply_event(store, VIEW_OF[event.type], event.partition_key, event, mutate, revision=revision)
    list_by_menu(store, event.partition_key)
