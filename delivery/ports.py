"""What the Delivery subsystem's functions need from the outside world, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from delivery.notification_esg.provider import HttpPushProvider, PushProvider
from shared.auth import TokenVerifier, verifier_from

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.runtime.app import Infrastructure
    from shared.stores import AbstractDocumentStore


@dataclass(frozen=True, slots=True)
class DeliveryPorts:
    """The store, the clock, the drivers' token verifier and the push provider."""

    store: AbstractDocumentStore
    clock: Clock
    verifier: TokenVerifier
    push: PushProvider


def bootstrap(infra: Infrastructure) -> DeliveryPorts:
    """Wire the ports; reads ``PUSH_PROVIDER_URL`` (``PUSH_PROVIDER_KEY`` on first use)."""
    return DeliveryPorts(
        store=infra.store,
        clock=infra.clock,
        verifier=verifier_from(infra.settings),
        push=HttpPushProvider(
            infra.http_session(),
            infra.setting("PUSH_PROVIDER_URL"),
            infra.secret("PUSH_PROVIDER_KEY"),
        ),
    )
