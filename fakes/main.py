"""The fakes as functions-framework targets: the dev sandbox's third parties on GCP.

``terraform/modules/sandbox`` deploys each target as a Cloud Functions (2nd gen)
HTTP function, built from the ``fakes`` source archive (``fooddelivery deploy``
re-exports these targets in its ``main.py``):

* :func:`payment_processor` reads its API key from ``PAYMENT_PROCESSOR_KEY``;
* :func:`push_provider` reads its API key from ``PUSH_PROVIDER_KEY``;
* :func:`point_of_sale` reads the API key the platform's calls need from
  ``POS_API_KEY``, signs its callbacks with ``POS_WEBHOOK_SECRET`` and plays
  the staff: every order is accepted ``POS_AUTO_ANSWER_S`` seconds (default
  :data:`DEFAULT_AUTO_ANSWER_S`) after it arrives, and marked ready as long after.

The secrets come from Secret Manager as environment variables. Each app is built
on its first request, never at import, so loading the module needs no settings;
building it checks them all, before it takes any request: a missing secret, or a
``POS_*`` time that is not seconds in its range, fails it with an error naming it.

State stays in memory, as in the local fakes: the sandbox runs at most one
instance of each function, and an instance that is recycled (idle, redeployed)
forgets what it held. Cloud Functions give an instance CPU only while it serves
a request, so the point of sale keeps the request that submits an order open
until its auto-answers are called back (at most :data:`DEFAULT_HOLD_S`
seconds, ``POS_HOLD_S``, under the platform's timeout): the answers never wait for
CPU between requests.
With ``POS_CALLBACK_PREFIX`` set, the point of sale calls back only URLs under
that prefix (the platform's webhook): a public fake must not post to anyone.
The test-only ``/_fake/`` routes (fault injection) are closed.
"""

from __future__ import annotations

import functools
import io
import math
import os
import time
from collections.abc import Callable, Mapping
from urllib.parse import quote, unquote, urlsplit

import flask
from flask.typing import ResponseReturnValue

from fakes import payment_processor as payment_processor_app
from fakes import point_of_sale as point_of_sale_app
from fakes import push_provider as push_provider_app
from fakes.web import FakeError, request_json

DEFAULT_AUTO_ANSWER_S = 2.0
"""Seconds from an order's arrival to its acceptance, and from acceptance to ready."""
DEFAULT_HOLD_S = 8.0
"""How long the submitting request may wait for the answers: below the platform's 10 s timeout."""
PLATFORM_TIMEOUT_S = 10.0
"""How long the platform waits for the point of sale's answer: a hold must end before."""
_HOLD_S = "fakes.pos_hold_s"
"""The ``app.extensions`` key of the point of sale's hold, in seconds."""
UNANSWERED = frozenset({"received", "accepted"})
"""Point-of-sale statuses the auto-answerer still has to move on."""
POLL_S = 0.1

__all__ = ["payment_processor", "point_of_sale", "push_provider"]


def setting(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A required setting of the sandbox; an error naming it when it is missing."""
    value = (os.environ if environ is None else environ).get(name, "")
    if not value:
        raise RuntimeError(f"the sandbox needs the environment variable {name}")
    return value


def seconds(
    name: str,
    default: float,
    environ: Mapping[str, str] | None = None,
    *,
    below: float | None = None,
) -> float:
    """An optional setting of the sandbox in seconds, 0 or more (and under ``below``);
    ``default`` when it is unset or empty, an error naming it when it is not such a number."""
    text = (os.environ if environ is None else environ).get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and value >= 0 and (below is None or value < below):
        return value
    bounds = "0 or more" if below is None else f"from 0 to under {below:g}"
    raise RuntimeError(f"the sandbox's {name} must be seconds, {bounds}, not {text!r}")


def close_test_routes(app: flask.Flask) -> flask.Flask:
    """Answer 404 to the test-only ``/_fake/`` routes: nobody injects faults in a deployment."""

    @app.before_request
    def closed() -> None:
        if flask.request.path.startswith("/_fake/"):
            raise FakeError(404, f"no route for {flask.request.method} {flask.request.path}")

    return app


def restrict_callbacks(app: flask.Flask, prefix: str) -> flask.Flask:
    """Refuse (403) an order whose ``callbackUrl`` is not under ``prefix``."""

    @app.before_request
    def allowed() -> None:
        request = flask.request
        if request.method != "POST" or request.path != "/orders":
            return
        body = request_json()
        url = body.get("callbackUrl") if isinstance(body, dict) else None
        if isinstance(url, str) and not is_under(url, prefix):
            raise FakeError(403, f"this point of sale calls back only under {prefix}")

    return app


def is_under(url: str, prefix: str) -> bool:
    """Whether ``url`` is ``prefix`` or below it: the same origin, and a path that is the
    prefix's or continues it past a ``/``, with no ``.`` or ``..`` segment to climb out by
    (``https://h/hook`` holds ``https://h/hook/pos``, not ``https://h/hook-2`` nor
    ``https://h/hook/../admin``)."""
    given, allowed = urlsplit(url), urlsplit(prefix)
    if (given.scheme, given.netloc) != (allowed.scheme, allowed.netloc):
        return False
    segments = unquote(given.path).split("/")
    if "." in segments or ".." in segments:
        return False
    base = allowed.path.rstrip("/")
    return given.path == allowed.path or given.path.startswith(base + "/")


def await_answers(app: flask.Flask, order_id: str, hold_s: float) -> None:
    """Wait until the auto-answerer has answered ``order_id``, or ``hold_s`` passed."""
    client = app.test_client()
    deadline = time.monotonic() + hold_s
    while time.monotonic() < deadline:
        answer = client.get(f"/orders/{quote(order_id, safe='')}")
        if answer.status_code != 200 or answer.get_json()["status"] not in UNANSWERED:
            return
        time.sleep(POLL_S)


def serve(app: flask.Flask, request: flask.Request) -> flask.Response:
    """Handle the functions-framework ``request`` with ``app``, its routes and error handlers.

    The body is read once, through ``request`` (which keeps it for functions-framework),
    and handed to ``app`` as a stream of its own.
    """
    body = request.get_data()
    environ = {**request.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    with app.request_context(environ):
        return app.full_dispatch_request()


@functools.cache
def _payment_processor() -> flask.Flask:
    return close_test_routes(payment_processor_app.create_app(setting("PAYMENT_PROCESSOR_KEY")))


@functools.cache
def _push_provider() -> flask.Flask:
    return close_test_routes(push_provider_app.create_app(setting("PUSH_PROVIDER_KEY")))


@functools.cache
def _point_of_sale() -> flask.Flask:
    auto_answer_s = seconds("POS_AUTO_ANSWER_S", DEFAULT_AUTO_ANSWER_S)
    hold_s = seconds("POS_HOLD_S", DEFAULT_HOLD_S, below=PLATFORM_TIMEOUT_S)
    app = point_of_sale_app.create_app(
        webhook_secret=setting("POS_WEBHOOK_SECRET"),
        api_key=setting("POS_API_KEY"),
        auto_answer_s=auto_answer_s,
    )
    app.extensions[_HOLD_S] = hold_s
    prefix = os.environ.get("POS_CALLBACK_PREFIX", "")
    return close_test_routes(restrict_callbacks(app, prefix) if prefix else app)


def payment_processor(request: flask.Request) -> ResponseReturnValue:
    """The fake payment processor (see :mod:`fakes.payment_processor`)."""
    return serve(_payment_processor(), request)


def push_provider(request: flask.Request) -> ResponseReturnValue:
    """The fake push-notification provider (see :mod:`fakes.push_provider`)."""
    return serve(_push_provider(), request)


def point_of_sale(request: flask.Request) -> ResponseReturnValue:
    """The fake point of sale with its staff on autopilot (see :mod:`fakes.point_of_sale`).

    A new order's request returns once the order is answered (accepted, then
    ready, each called back) or after ``POS_HOLD_S`` seconds.
    """
    app = _point_of_sale()
    response = serve(app, request)
    if request.method == "POST" and request.path == "/orders" and response.status_code == 201:
        order_id = (response.get_json(silent=True) or {}).get("orderId")
        if isinstance(order_id, str):
            await_answers(app, order_id, app.extensions[_HOLD_S])
    return response


TARGETS: Mapping[str, Callable[[flask.Request], ResponseReturnValue]] = {
    "payment_processor": payment_processor,
    "point_of_sale": point_of_sale,
    "push_provider": push_provider,
}
"""Every functions-framework target of the sandbox, by entry point."""
