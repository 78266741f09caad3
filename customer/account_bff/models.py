"""The account API's bodies and views; an account document is a profile plus a card."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    ValidationError,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from customer.contracts import Address
from shared.api_models import STORED, RequestBody, ResponseView
from shared.text import text_problem

ACCOUNTS = "accounts"
"""Accounts, keyed by the customer's subject: the profile and ``paymentMethod`` (with its token)."""

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE = r"^\+?[0-9][0-9 ()-]{5,19}$"
TOKEN = r"^pm_[A-Za-z0-9_]{3,64}$"


COORDINATES = ("lat", "lng")


def _trimmed(given: object) -> object:
    """An address's lines without surrounding blanks, as a request body's own strings are;
    a coordinate that is ``NaN`` or infinite (JSON has neither, but the request's parser reads
    them) is refused as no finite number, rather than as out of range."""
    if not isinstance(given, dict):
        return given
    not_finite = [
        InitErrorDetails(type="finite_number", loc=(name,), input=given[name])
        for name in COORDINATES
        if isinstance(given.get(name), float) and not math.isfinite(given[name])
    ]
    if not_finite:
        raise ValidationError.from_exception_data(Address.__name__, not_finite)
    return {name: v.strip() if isinstance(v, str) else v for name, v in given.items()}


LINES = ("street", "city", "postcode")


def _fit_to_show(address: Address) -> Address:
    """``address``, refused when a line is unfit to show the driver who brings the order
    (:func:`~shared.text.text_problem`: a control character, a line separator, a
    bidirectional override left open, or nothing visible)."""
    unfit = [
        InitErrorDetails(
            type=PydanticCustomError("unfit_text", "{problem}", {"problem": problem}),
            loc=(name,),
            input=getattr(address, name),
        )
        for name in LINES
        if (problem := text_problem(getattr(address, name))) is not None
    ]
    if unfit:
        raise ValidationError.from_exception_data(Address.__name__, unfit)
    return address


GivenAddress = Annotated[Address, BeforeValidator(_trimmed), AfterValidator(_fit_to_show)]
"""An address as a customer gives it: :class:`~customer.contracts.Address` keeps what it is
given, so a line of blanks alone would pass as a street, city or postcode; trimmed, it is
refused as empty (400 naming it). A ``NaN`` or infinite coordinate is refused as no finite
number, and a line unfit to show the driver (a control character, a line separator, a
bidirectional override left open) as such (400 naming it)."""


def _line_fit_to_show(text: str) -> str:
    """``text``, refused when it is unfit to show as one line in the customer's app
    (:func:`~shared.text.text_problem`)."""
    problem = text_problem(text)
    if problem is not None:
        raise PydanticCustomError("unfit_text", "{problem}", {"problem": problem})
    return text


ShownLine = Annotated[str, AfterValidator(_line_fit_to_show)]
"""One line of text the customer's app shows as it was given: a control character, a line
separator, a bidirectional override left open, or nothing visible is refused (400 naming
it)."""


class Preferences(RequestBody):
    """What the customer likes to eat and whether they want notifications."""

    cuisines: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20
    )
    """Cuisines the customer likes (up to 20, e.g. ``pizza``, each one line with at least
    one visible character), kept as given; nothing filters or recommends by them yet. Left
    out: none."""
    notifications: StrictBool = True
    """Whether the customer wants push notifications about their orders: ``true`` or
    ``false`` (``"no"`` or ``0`` is refused, not guessed at; left out: ``true``); each order
    keeps the choice made at its checkout."""


def _cuisines_fit_to_show(preferences: Preferences) -> Preferences:
    """``preferences``, refused when a cuisine is unfit to show (see :data:`ShownLine`);
    checked here, not in :class:`Preferences`, so that a stored account still reads as
    saved (:class:`StoredPreferences`)."""
    unfit = [
        InitErrorDetails(
            type=PydanticCustomError("unfit_text", "{problem}", {"problem": problem}),
            loc=("cuisines", index),
            input=cuisine,
        )
        for index, cuisine in enumerate(preferences.cuisines)
        if (problem := text_problem(cuisine)) is not None
    ]
    if unfit:
        raise ValidationError.from_exception_data(Preferences.__name__, unfit)
    return preferences


GivenPreferences = Annotated[Preferences, AfterValidator(_cuisines_fit_to_show)]
"""Preferences as a customer gives them: a cuisine unfit to show is refused (400 naming it)."""


class SavedAddress(Address):
    """The saved address as an account holds it: a field a later version of the API stored,
    and this one does not know (after a rollback), is left out of the answer, not a 500."""

    model_config = STORED


class StoredPreferences(Preferences):
    """Preferences as an account holds them: a preference a later version of the API saved,
    and this one does not know (after a rollback), is left out of the answer, not a 500."""

    model_config = STORED


class Profile(RequestBody):
    """The profile as the customer writes it (``PUT /me`` replaces it whole)."""

    name: ShownLine = Field(min_length=1, max_length=100)
    """The customer's name, as they give it (1 to 100 characters, one line, at least one of
    them visible)."""
    email: ShownLine = Field(max_length=254, pattern=EMAIL)
    """The customer's email address; only its shape (``name@domain.tld``, no control
    character) is checked."""
    phone: str | None = Field(default=None, pattern=PHONE)
    """The customer's phone number: digits, optionally a leading ``+``, spaces, brackets and
    dashes. Left out or ``null``: none."""
    delivery_address: GivenAddress | None = None
    """Where orders go when checkout names no other address. Left out or ``null``: none saved,
    and each checkout must give one."""
    preferences: GivenPreferences = Field(default_factory=Preferences)
    """What the customer likes to eat and whether they want notifications; left out: no
    cuisines, notifications on."""


class PaymentMethod(RequestBody):
    """A card saved as the processor's token; only brand and last digits are ever shown."""

    token: str = Field(pattern=TOKEN)
    """The payment processor's token for the card (``pm_`` and 3 to 64 letters, digits or
    underscores); it pays for orders checked out without a card of their own, and is never
    shown again."""
    brand: ShownLine = Field(min_length=1, max_length=20)
    """The card's brand as the app shows it (e.g. ``visa``), 1 to 20 characters, one line,
    at least one of them visible."""
    last4: str = Field(pattern=r"^[0-9]{4}$")
    """The last four digits of the card number, as the app shows them."""


class Card(ResponseView):
    """The saved card as the customer sees it."""

    brand: str
    """The card's brand, as given when it was saved (e.g. ``visa``)."""
    last4: str
    """The last four digits of the card number."""


class Account(ResponseView):
    """The customer's account, without the payment token."""

    name: str
    """The customer's name, as they gave it."""
    email: str
    """The customer's email address."""
    phone: str | None
    """The customer's phone number; ``null``: none given."""
    delivery_address: SavedAddress | None
    """Where orders go when checkout names no other address; ``null``: none saved."""
    preferences: StoredPreferences
    """The cuisines the customer likes and whether they want notifications about orders."""
    payment_method: Card | None
    """The saved card, its brand and last digits only; ``null``: no card saved (each checkout
    must then name one)."""


def account_tag(answered: Mapping[str, Any]) -> str:
    """The opaque tag of an account as :class:`Account` answers it (its JSON), answered quoted
    as its ``ETag``: a digest of the answer, so that it changes with what the customer sees,
    card included, and with nothing else (the card's token and the revision are never
    shown)."""
    return _digest(answered)


def card_tag(answered: Mapping[str, Any]) -> str:
    """The opaque tag of the saved card as :class:`Card` answers it (``/me/payment-method``),
    answered quoted as its ``ETag``: a digest of the answer, as :func:`account_tag`, of the
    card alone (a profile saved meanwhile leaves it as it was)."""
    return _digest(answered)


def _digest(answered: Mapping[str, Any]) -> str:
    """A digest of an answer's JSON, the same whatever the order of its keys."""
    text = json.dumps(answered, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
