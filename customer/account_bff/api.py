"""The account BFF's HTTP API: the caller's own profile and saved card."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.account_bff.models import ACCOUNTS, Account, Card, PaymentMethod, Profile
from shared.api import HttpApi, HttpError
from shared.stores.revisions import counted

if TYPE_CHECKING:
    import flask

    from customer.ports import CustomerPorts
    from shared.auth import Principal
    from shared.stores import Doc


def http_app(ports: CustomerPorts) -> flask.Flask:
    """The Flask app serving ``/me``; the account is always the caller's (their subject)."""
    api = HttpApi("Customer account", ports.verifier, store=ports.store)
    store = ports.store

    @api.route(
        "GET", "/me", actors={"customer"}, response=Account, refusals={404: "no account yet"}
    )
    def get_account(caller: Principal) -> Account:
        """The caller's account."""
        doc = store.get(ACCOUNTS, caller.subject)
        if doc is None:
            raise HttpError(404, "no account yet: create it with PUT /me")
        return Account.model_validate(doc)

    @api.route("PUT", "/me", actors={"customer"}, body=Profile, response=Account)
    def put_account(caller: Principal, body: Profile) -> Account:
        """Create the caller's account or replace its profile (the saved card is kept)."""

        def write(current: Doc | None) -> Doc:
            card = (current or {}).get("paymentMethod")
            profile = body.model_dump(mode="json", by_alias=True)
            return {"id": caller.subject, **profile, "paymentMethod": card}

        return Account.model_validate(store.update(ACCOUNTS, caller.subject, counted(write)))

    @api.route(
        "PUT",
        "/me/payment-method",
        actors={"customer"},
        body=PaymentMethod,
        response=Card,
        refusals={409: "no account yet"},
    )
    def put_payment_method(caller: Principal, body: PaymentMethod) -> Card:
        """Save the caller's card (its processor token); the token is never shown again."""
        card = body.model_dump(mode="json", by_alias=True)
        saved = store.update(ACCOUNTS, caller.subject, counted(lambda doc: _with_card(doc, card)))
        if saved is None:
            raise HttpError(409, "no account yet: create it with PUT /me first")
        return Card(brand=body.brand, last4=body.last4)

    @api.route("DELETE", "/me/payment-method", actors={"customer"}, status=204)
    def delete_payment_method(caller: Principal) -> None:
        """Forget the caller's saved card."""
        store.update(ACCOUNTS, caller.subject, counted(lambda doc: _with_card(doc, None)))

    return api.flask_app()


def _with_card(account: Doc | None, card: Doc | None) -> Doc | None:
    """The account with ``card`` saved; ``None`` (no write) when there is no account."""
    return None if account is None else {**account, "paymentMethod": card}
