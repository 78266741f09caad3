"""A fake card payment processor: authorize, then capture, void or refund.

Every route needs ``Authorization: Bearer <api_key>``; mutating routes need an
``Idempotency-Key`` and replay their first outcome for it; a key reused with another
request is 422 ``code: "idempotency_key_reused"`` (see :mod:`fakes.idempotency`). As real
processors do, a key is kept ``key_retention_s`` after its first use (a day by default, see
:mod:`fakes.payment_processor.keys`): the same request later runs again. The
payment method ``pm_card_declined`` is always declined with 402
``{"error": ..., "code": "card_declined"}``.

* ``POST /v1/authorizations`` ``{amount, currency, paymentMethod, reference}``
  -> 201 ``{id, status: "authorized", amount, currency, reference, authorizedAt}``
  (``authorizedAt``: ISO 8601 UTC, e.g. ``2026-01-01T12:00:00.000Z``)
* ``POST /v1/authorizations/{id}/capture`` (from authorized), ``/void`` (from authorized),
  ``/refund`` (from captured) -> 200 the authorization; 409 ``code: "invalid_state"``
  from another state (``code: "idempotency_key_in_use"`` is a retry that overtook the
  first attempt); 404
* ``GET /v1/authorizations/{id}`` -> the authorization with its ``operations``
* ``GET /v1/authorizations?reference=<ref>`` -> ``{authorizations: [...]}``
* ``POST /_fake/fail-next`` ``{count, status}`` (see :mod:`fakes.faults`)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

import flask
from flask.typing import ResponseReturnValue

from fakes import faults
from fakes.idempotency import IdempotencyStore
from fakes.payment_processor.keys import DEFAULT_KEY_RETENTION_S, KeyRetention
from fakes.payment_processor.ledger import Action, AuthorizationRequest, Ledger
from fakes.web import create_base_app, idempotency_key, parse_body, require_bearer

DEFAULT_API_KEY = "sk_test_fooddelivery"
DEFAULT_PORT = 8701

__all__ = ["DEFAULT_API_KEY", "DEFAULT_KEY_RETENTION_S", "DEFAULT_PORT", "create_app"]


def create_app(
    api_key: str = DEFAULT_API_KEY,
    now_s: Callable[[], float] = time.time,
    key_retention_s: float | None = DEFAULT_KEY_RETENTION_S,
) -> flask.Flask:
    """The payment processor as a Flask app with its own empty state; ``now_s`` (epoch
    seconds) stamps its operations, so a run on a simulated clock gets that clock's times,
    and ages its idempotency keys, pruned ``key_retention_s`` after their first use
    (``None``: kept for good)."""
    app = create_base_app("fake-payment-processor")
    faults.install(app)
    require_bearer(app, api_key)
    ledger = Ledger(now_s)
    replays = IdempotencyStore()
    keys = KeyRetention(key_retention_s, now_s)

    @app.post("/v1/authorizations")
    def authorize() -> ResponseReturnValue:
        key = idempotency_key()
        request = parse_body(AuthorizationRequest)
        return replays.respond(
            keys.current(key), lambda: (ledger.authorize(request, key).summary(), 201)
        )

    @app.post("/v1/authorizations/<authorization_id>/<any(capture, void, refund):action>")
    def change(authorization_id: str, action: str) -> ResponseReturnValue:
        key = idempotency_key()
        verb = cast(Action, action)
        return replays.respond(
            keys.current(key), lambda: (ledger.apply(authorization_id, verb, key).summary(), 200)
        )

    @app.get("/v1/authorizations/<authorization_id>")
    def read(authorization_id: str) -> ResponseReturnValue:
        return ledger.get(authorization_id).detail()

    @app.get("/v1/authorizations")
    def search() -> ResponseReturnValue:
        found = ledger.find(flask.request.args.get("reference"))
        return {"authorizations": [a.detail() for a in found]}

    return app
