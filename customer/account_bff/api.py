"""The account BFF's HTTP API: the caller's own profile and saved card."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.account_bff.models import (
    ACCOUNTS,
    Account,
    Card,
    PaymentMethod,
    Profile,
    account_tag,
    card_tag,
)
from shared.api import HttpApi, HttpError, IfMatch, entity_tag, if_match
from shared.stores.document_rules import same_value
from shared.stores.revisions import content_of, counted

if TYPE_CHECKING:
    import flask

    from customer.ports import CustomerPorts
    from shared.auth import Principal
    from shared.stores import Doc

CHANGED_SINCE = (
    "`If-Match` names no `ETag` of the account as it is now (it was saved since it was read, "
    "on another device say), or there is no account yet: nothing is saved"
)
"""The 412 refusal of ``PUT /me``, as the OpenAPI document lists it."""
CARD_CHANGED_SINCE = (
    "`If-Match` names no `ETag` of the saved card as it is now (it was replaced or removed "
    "since it was read, on another device say), or no card is saved: nothing is changed"
)
"""The 412 refusal of ``PUT`` and ``DELETE /me/payment-method``, as the OpenAPI document
lists it."""
NO_CARD = "no card saved: save one with PUT /me/payment-method"


def http_app(ports: CustomerPorts) -> flask.Flask:
    """The Flask app serving ``/me``; the account is always the caller's (their subject)."""
    api = HttpApi("Customer account", ports.verifier, store=ports.store)
    store = ports.store

    @api.route(
        "GET",
        "/me",
        actors={"customer"},
        response=Account,
        refusals={404: "no account yet"},
        etag=account_tag,
    )
    def get_account(caller: Principal) -> Account:
        """The caller's account."""
        doc = store.get(ACCOUNTS, caller.subject)
        if doc is None:
            raise HttpError(404, "no account yet: create it with PUT /me")
        return Account.model_validate(doc)

    @api.route(
        "PUT",
        "/me",
        actors={"customer"},
        body=Profile,
        response=Account,
        refusals={412: CHANGED_SINCE},
        etag=account_tag,
    )
    def put_account(caller: Principal, body: Profile) -> Account:
        """Create the caller's account or replace its profile (the saved card is kept); refused
        if the account changed since the ``ETag`` its ``If-Match`` names.

        A profile read on one device and saved from it after another device saved a change
        would undo that change (a new delivery address, say): sent with ``If-Match``, the
        ``ETag`` of the account as read, it is refused with 412 instead, and nothing is
        saved. The same save again (retried after its answer was lost) is answered as the
        first, whatever ``If-Match`` says.
        """
        condition = if_match()

        def write(current: Doc | None) -> Doc:
            card = (current or {}).get("paymentMethod")
            profile = body.model_dump(mode="json", by_alias=True)
            account = {"id": caller.subject, **profile, "paymentMethod": card}
            if current is None or not same_value(content_of(current), account):
                _require_match(current, condition)
            return account

        return Account.model_validate(store.update(ACCOUNTS, caller.subject, counted(write)))

    @api.route(
        "GET",
        "/me/payment-method",
        actors={"customer"},
        response=Card,
        refusals={404: "no card saved (or no account yet)"},
        etag=card_tag,
    )
    def get_payment_method(caller: Principal) -> Card:
        """The caller's saved card, its brand and last digits only, with its ``ETag``."""
        card = (store.get(ACCOUNTS, caller.subject) or {}).get("paymentMethod")
        if card is None:
            raise HttpError(404, NO_CARD)
        return Card.model_validate(card)

    @api.route(
        "PUT",
        "/me/payment-method",
        actors={"customer"},
        body=PaymentMethod,
        response=Card,
        refusals={409: "no account yet", 412: CARD_CHANGED_SINCE},
        etag=card_tag,
    )
    def put_payment_method(caller: Principal, body: PaymentMethod) -> Card:
        """Save the caller's card (its processor token); the token is never shown again.
        Refused if the saved card changed since the ``ETag`` its ``If-Match`` names.

        A card replaced on one device, and then on another that read the card before that
        replacement, would silently undo the first: sent with ``If-Match``, the ``ETag`` of
        the card as read (``GET /me/payment-method``), it is refused with 412 instead, and
        nothing is saved. The same card saved again (retried after its answer was lost) is
        answered as the first, whatever ``If-Match`` says.
        """
        condition = if_match()
        card = body.model_dump(mode="json", by_alias=True)

        def write(current: Doc | None) -> Doc | None:
            saved = (current or {}).get("paymentMethod")
            if current is not None and (saved is None or not same_value(saved, card)):
                _require_card_match(saved, condition)
            return _with_card(current, card)

        if store.update(ACCOUNTS, caller.subject, counted(write)) is None:
            raise HttpError(409, "no account yet: create it with PUT /me first")
        return Card(brand=body.brand, last4=body.last4)

    @api.route(
        "DELETE",
        "/me/payment-method",
        actors={"customer"},
        status=204,
        refusals={412: CARD_CHANGED_SINCE},
    )
    def delete_payment_method(caller: Principal) -> None:
        """Forget the caller's saved card; refused if it changed since the ``ETag`` its
        ``If-Match`` names (another device saved another card: it stays).

        With no card saved there is nothing to forget, whatever ``If-Match`` says: a removal
        retried after its answer was lost is answered as the first.
        """
        condition = if_match()

        def write(current: Doc | None) -> Doc | None:
            saved = (current or {}).get("paymentMethod")
            if saved is not None:
                _require_card_match(saved, condition)
            return _with_card(current, None)

        store.update(ACCOUNTS, caller.subject, counted(write))

    return api.flask_app()


def _with_card(account: Doc | None, card: Doc | None) -> Doc | None:
    """The account with ``card`` saved; ``None`` (no write) when there is no account."""
    return None if account is None else {**account, "paymentMethod": card}


def _require_match(current: Doc | None, condition: IfMatch | None) -> None:
    """412 when ``condition`` (the request's ``If-Match``) names no tag of the account
    ``current`` as it is answered (:func:`~customer.account_bff.models.account_tag`); an
    account not created yet matches none."""
    if condition is None:
        return
    if current is None:
        raise HttpError(412, "there is no account yet, so If-Match names none: nothing was saved")
    tag = account_tag(Account.model_validate(current).model_dump(mode="json", by_alias=True))
    if not condition.matches(tag):
        raise HttpError(
            412,
            f"the account changed since it was read (its ETag is now {entity_tag(tag)}): "
            "nothing was saved: read it again (GET /me) and make the change to it",
        )


def _require_card_match(saved: Doc | None, condition: IfMatch | None) -> None:
    """412 when ``condition`` (the request's ``If-Match``) names no tag of the card ``saved``
    as it is answered (:func:`~customer.account_bff.models.card_tag`); no card matches none."""
    if condition is None:
        return
    if saved is None:
        raise HttpError(
            412,
            "no card is saved (it was removed since it was read, say), so If-Match names "
            "none: nothing was changed",
        )
    tag = card_tag(Card.model_validate(saved).model_dump(mode="json", by_alias=True))
    if not condition.matches(tag):
        raise HttpError(
            412,
            f"the saved card changed since it was read (its ETag is now {entity_tag(tag)}): "
            "nothing was changed: read it again (GET /me/payment-method) and decide again",
        )
