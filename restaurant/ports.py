"""The restaurant subsystem's ports: what its functions work with, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.auth import verifier_from

if TYPE_CHECKING:
    from shared.auth import TokenVerifier
    from shared.clock import Clock
    from shared.runtime.app import Infrastructure
    from shared.stores import AbstractDocumentStore


@dataclass(frozen=True, slots=True)
class RestaurantPorts:
    """The document store, the clock and the verifier of the staff's bearer tokens."""

    store: AbstractDocumentStore
    clock: Clock
    verifier: TokenVerifier


def bootstrap(infra: Infrastructure) -> RestaurantPorts:
    """Wire the ports from the kit's infrastructure (the auth settings pick the verifier)."""
    return RestaurantPorts(
        store=infra.store, clock=infra.clock, verifier=verifier_from(infra.settings)
    )
