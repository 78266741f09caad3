"""What the Order subsystem's handlers work with, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from order.pos_esg.client import HttpPointOfSale, PointOfSale
from shared.id_tokens import IdTokens

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.runtime.app import Infrastructure
    from shared.runtime.secrets import Secret
    from shared.stores import AbstractDocumentStore


@dataclass(frozen=True, slots=True)
class OrderPorts:
    """The store, the clock and the restaurants' point-of-sale service.

    ``pos_callback_url`` is the public base URL of the pos-esg webhook;
    ``pos_webhook_secret`` signs the point of sale's callbacks (read when one arrives).
    """

    store: AbstractDocumentStore
    clock: Clock
    pos: PointOfSale
    pos_callback_url: str
    pos_webhook_secret: Secret


def bootstrap(infra: Infrastructure) -> OrderPorts:
    """Build the ports; reads ``POS_URL`` and ``POS_CALLBACK_URL`` (the secrets later:
    ``POS_API_KEY``, the key the point of sale issued us, when it is called;
    ``POS_WEBHOOK_SECRET`` when a callback arrives).

    With ``POS_AUDIENCE`` set, calls to the point of sale also carry a Google ID
    token for that audience (a point of sale that is a private Google Cloud service).
    """
    audience = infra.settings.get("POS_AUDIENCE")
    return OrderPorts(
        store=infra.store,
        clock=infra.clock,
        pos=HttpPointOfSale(
            infra.http_session(),
            infra.setting("POS_URL"),
            infra.secret("POS_API_KEY"),
            IdTokens(audience) if audience else None,
        ),
        pos_callback_url=infra.setting("POS_CALLBACK_URL").rstrip("/"),
        pos_webhook_secret=infra.secret("POS_WEBHOOK_SECRET"),
    )
