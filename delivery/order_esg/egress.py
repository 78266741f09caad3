"""Egress: the internal ``delivery-status-changed`` is published as the v1 contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.contracts import DeliveryStatusChanged
from shared.contracts import publish

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context


def publish_delivery_status(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Publish the delivery's state; a body that breaks the contract becomes a fault."""
    contract = DeliveryStatusChanged.model_validate(event.body)
    publish(ctx, contract)
