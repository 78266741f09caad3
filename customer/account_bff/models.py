"""The account API's bodies and views; an account document is a profile plus a card."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from customer.contracts import Address

ACCOUNTS = "accounts"
"""Accounts, keyed by the customer's subject: the profile and ``paymentMethod`` (with its token)."""

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE = r"^\+?[0-9][0-9 ()-]{5,19}$"
TOKEN = r"^pm_[A-Za-z0-9_]{3,64}$"


class Body(BaseModel):
    """A request body: camelCase on the wire, no unknown fields, surrounding blanks trimmed."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )


class View(BaseModel):
    """A response body: camelCase on the wire, built from a stored document."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Preferences(Body):
    """What the customer likes to eat and whether they want notifications."""

    cuisines: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20
    )
    notifications: bool = True


class Profile(Body):
    """The profile as the customer writes it (``PUT /me`` replaces it whole)."""

    name: str = Field(min_length=1, max_length=100)
    email: str = Field(max_length=254, pattern=EMAIL)
    phone: str | None = Field(default=None, pattern=PHONE)
    delivery_address: Address | None = None
    preferences: Preferences = Field(default_factory=Preferences)


class PaymentMethod(Body):
    """A card saved as the processor's token; only brand and last digits are ever shown."""

    token: str = Field(pattern=TOKEN)
    brand: str = Field(min_length=1, max_length=20)
    last4: str = Field(pattern=r"^[0-9]{4}$")


class Card(View):
    """The saved card as the customer sees it."""

    brand: str
    last4: str


class Account(View):
    """The customer's account, without the payment token."""

    name: str
    email: str
    phone: str | None
    delivery_address: Address | None
    preferences: Preferences
    payment_method: Card | None
