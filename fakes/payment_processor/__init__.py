"""A fake card payment processor: authorize, then capture, void or refund.

Every route needs ``Authorization: Bearer <api_key>``; mutating routes need an
``Idempotency-Key`` and replay their first outcome for it; a key reused with another
request is 422 ``code: "idempotency_key_reused"`` (see :mod:`fakes.idempotency`). As real
processors do, a key is kept ``key_retention_s`` after its first use (a day by default):
the same request later runs again (a second authorization). An authorization neither
captured nor voided within ``authorization_ttl_s`` (7 days by default, as Stripe lets an
uncaptured one lapse) is ``expired``: capturing or voiding it is 409 ``code:
"invalid_state"``. As Stripe, it authorizes at most 99,999,999 minor units and at least the
currency's minimum charge (50 cents, 30 pence for GBP): 400 ``code: "amount_too_large"``
or ``"amount_too_small"`` otherwise, an answer not kept under the key. The processor holds
the last ``max_authorizations`` (20 000 by default): an older one is 404 (see
:mod:`fakes.retention`). The payment method ``pm_card_declined`` is always declined with
402 ``{"error": ..., "code": "card_declined"}``.

* ``POST /v1/authorizations`` ``{amount, currency, paymentMethod, reference}``
  -> 201 ``{id, status: "authorized", amount, currency, reference, authorizedAt}``
  (``authorizedAt``: ISO 8601 UTC, e.g. ``2026-01-01T12:00:00.000Z``); 400 for an amount
  it cannot charge
* ``POST /v1/authorizations/{id}/capture`` (from authorized), ``/void`` (from authorized),
  ``/refund`` (from captured) -> 200 the authorization; 409 ``code: "invalid_state"``
  from another state, ``expired`` among them (``code: "idempotency_key_in_use"`` is a
  retry that overtook the first attempt); 404
* ``GET /v1/authorizations/{id}`` -> the authorization with its ``operations``
* ``GET /v1/authorizations?reference=<ref>&limit=<n>&startingAfter=<id>`` -> ``{authorizations:
  [...], hasMore}``: a page of at most ``limit`` (1 to 100, default 10) oldest first, after
  the authorization ``startingAfter`` (from the first without it); ``hasMore`` says whether
  another page follows, asked for with ``startingAfter`` the last id of this one
* ``POST /_fake/fail-next`` ``{count, status}`` (see :mod:`fakes.faults`)
* ``POST /_fake/fail-inside`` ``{count, status, after}``: the next ``count`` authorizations
  or settlements that run fail on the processor's own side, after doing their work if
  ``after``; as Stripe does with a request that began to run, their answer (``status``,
  500 unless told) is kept under the key and replayed to every retry until it is pruned
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

import flask
from flask.typing import ResponseReturnValue

from fakes import faults
from fakes.idempotency import DEFAULT_KEY_RETENTION_S, IdempotencyStore
from fakes.payment_processor.ledger import Action, AuthorizationRequest, Ledger
from fakes.retention import AUTHORIZATION_TTL_S, MAX_RECORDS
from fakes.web import FakeError, Reply, create_base_app, idempotency_key, parse_body, require_bearer

DEFAULT_API_KEY = "sk_test_fooddelivery"
DEFAULT_PORT = 8701
DEFAULT_PAGE_LIMIT = 10
"""How many authorizations a page of a search holds unless ``limit`` says (Stripe's default)."""
MAX_PAGE_LIMIT = 100
"""The largest ``limit`` a search takes (a larger one is 400)."""

__all__ = [
    "AUTHORIZATION_TTL_S",
    "DEFAULT_API_KEY",
    "DEFAULT_KEY_RETENTION_S",
    "DEFAULT_PAGE_LIMIT",
    "DEFAULT_PORT",
    "MAX_PAGE_LIMIT",
    "MAX_RECORDS",
    "create_app",
]


def create_app(
    api_key: str = DEFAULT_API_KEY,
    now_s: Callable[[], float] = time.time,
    key_retention_s: float | None = DEFAULT_KEY_RETENTION_S,
    authorization_ttl_s: float | None = AUTHORIZATION_TTL_S,
    max_authorizations: int = MAX_RECORDS,
) -> flask.Flask:
    """The payment processor as a Flask app with its own empty state; ``now_s`` (epoch
    seconds) stamps its operations, so a run on a simulated clock gets that clock's times,
    and ages its idempotency keys, pruned ``key_retention_s`` after their first use
    (``None``: kept for good), and its authorizations, expired ``authorization_ttl_s``
    after they were made unless captured or voided first (``None``: never), of which it
    holds the last ``max_authorizations``."""
    app = create_base_app("fake-payment-processor")
    faults.install(app)
    require_bearer(app, api_key)
    ledger = Ledger(now_s, authorization_ttl_s, max_authorizations)
    replays = IdempotencyStore(keep_server_errors=True, retention_s=key_retention_s, now_s=now_s)
    inside = faults.FailNext()

    def failing(operation: Callable[[], Reply]) -> Callable[[], Reply]:
        """``operation``, failed as ``/_fake/fail-inside`` asks, if it does."""

        def run() -> Reply:
            failure = inside.take()
            if failure is None:
                return operation()
            if failure.after:
                operation()
            return failure.answer()

        return run

    @app.post("/v1/authorizations")
    def authorize() -> ResponseReturnValue:
        key = idempotency_key()
        request = parse_body(AuthorizationRequest)
        request.check_amount()  # a request refused so, like a bad body, keeps no answer
        return replays.respond(
            key, failing(lambda: (ledger.authorize(request, key).summary(), 201))
        )

    @app.post("/v1/authorizations/<authorization_id>/<any(capture, void, refund):action>")
    def change(authorization_id: str, action: str) -> ResponseReturnValue:
        key = idempotency_key()
        verb = cast(Action, action)
        return replays.respond(
            key, failing(lambda: (ledger.apply(authorization_id, verb, key).summary(), 200))
        )

    @app.post("/_fake/fail-inside")
    def fail_inside() -> ResponseReturnValue:
        body = parse_body(faults.FailNextRequest)
        status = body.status if "status" in body.model_fields_set else 500
        inside.arm(body.count, faults.Failure(status, body.after, body.code))
        return {"count": body.count, "status": status, "after": body.after}

    @app.get("/v1/authorizations/<authorization_id>")
    def read(authorization_id: str) -> ResponseReturnValue:
        return ledger.get(authorization_id).detail()

    @app.get("/v1/authorizations")
    def search() -> ResponseReturnValue:
        args = flask.request.args
        limit = _page_limit(args.get("limit"))
        found, more = ledger.page(args.get("reference"), limit, args.get("startingAfter"))
        return {"authorizations": [a.detail() for a in found], "hasMore": more}

    return app


def _page_limit(asked: str | None) -> int:
    """The page size ``limit`` asks for; 400 unless it is a whole number from 1 to the most."""
    if asked is None:
        return DEFAULT_PAGE_LIMIT
    if not (asked.isascii() and asked.isdigit()) or not 1 <= int(asked) <= MAX_PAGE_LIMIT:
        raise FakeError(400, f"limit must be a whole number from 1 to {MAX_PAGE_LIMIT}")
    return int(asked)
