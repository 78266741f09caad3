"""account-bff: the customer's profile, preferences, delivery address and saved card.

Changes that checkout needs (the address, and whether a card is saved; never its token)
become ``account-updated`` events.
"""

from __future__ import annotations

from customer.account_bff.api import http_app
from customer.account_bff.models import ACCOUNTS
from customer.account_bff.trigger import announce_account
from shared.topology import Endpoint, Role, Service, ServiceKind, Trigger

SERVICE = Service(
    "account-bff",
    ServiceKind.BFF,
    (
        Endpoint("api", Role.API, app=http_app),
        Trigger(
            "trigger",
            Role.TRIGGER,
            collection=ACCOUNTS,
            handlers=(announce_account,),
            redact=("paymentMethod.token",),  # never kept in a fault
        ),
    ),
    description="Profile, preferences, delivery address and saved payment-method token.",
)
