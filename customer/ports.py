"""The customer subsystem's ports: what its functions work with, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from customer.payment_esg.processor import HttpPaymentProcessor, PaymentProcessor
from shared.auth import verifier_from

if TYPE_CHECKING:
    from shared.auth import TokenVerifier
    from shared.clock import Clock
    from shared.runtime.app import Infrastructure
    from shared.stores import AbstractDocumentStore


@dataclass(frozen=True, slots=True)
class CustomerPorts:
    """The document store, the clock, the customers' token verifier and the payment processor."""

    store: AbstractDocumentStore
    clock: Clock
    verifier: TokenVerifier
    payments: PaymentProcessor


def bootstrap(infra: Infrastructure) -> CustomerPorts:
    """Wire the ports from the kit's infrastructure.

    Reads ``PAYMENT_PROCESSOR_URL``, and the secret ``PAYMENT_PROCESSOR_KEY``
    when the processor is first called (only payment-esg may read it); the auth
    settings (``AUTH``, ``DEV_KEY``, ...) pick the verifier.
    """
    payments = HttpPaymentProcessor(
        infra.http_session(),
        infra.setting("PAYMENT_PROCESSOR_URL"),
        infra.secret("PAYMENT_PROCESSOR_KEY"),
    )
    return CustomerPorts(
        store=infra.store,
        clock=infra.clock,
        verifier=verifier_from(infra.settings),
        payments=payments,
    )
