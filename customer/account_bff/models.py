"""The account API's bodies and views; an account document is a profile plus a card."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from customer.contracts import Address
from shared.api_models import RequestBody, ResponseView

ACCOUNTS = "accounts"
"""Accounts, keyed by the customer's subject: the profile and ``paymentMethod`` (with its token)."""

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE = r"^\+?[0-9][0-9 ()-]{5,19}$"
TOKEN = r"^pm_[A-Za-z0-9_]{3,64}$"


class Preferences(RequestBody):
    """What the customer likes to eat and whether they want notifications."""

    cuisines: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20
    )
    notifications: bool = True


class Profile(RequestBody):
    """The profile as the customer writes it (``PUT /me`` replaces it whole)."""

    name: str = Field(min_length=1, max_length=100)
    email: str = Field(max_length=254, pattern=EMAIL)
    phone: str | None = Field(default=None, pattern=PHONE)
    delivery_address: Address | None = None
    preferences: Preferences = Field(default_factory=Preferences)


class PaymentMethod(RequestBody):
    """A card saved as the processor's token; only brand and last digits are ever shown."""

    token: str = Field(pattern=TOKEN)
    brand: str = Field(min_length=1, max_length=20)
    last4: str = Field(pattern=r"^[0-9]{4}$")


class Card(ResponseView):
    """The saved card as the customer sees it."""

    brand: str
    last4: str


class Account(ResponseView):
    """The customer's account, without the payment token."""

    name: str
    email: str
    phone: str | None
    delivery_address: Address | None
    preferences: Preferences
    payment_method: Card | None
