"""A fake restaurant point of sale: the restaurant's own ordering system.

The platform sends orders and cancellations with the API key the point of sale
issued it (``Authorization: Bearer <api_key>``, else 401 and nothing changes) and an
``Idempotency-Key``, replayed as in :mod:`fakes.idempotency`: 409 while a request with
the key still runs; a key is kept ``key_retention_s`` after its first use, a day by
default. It holds the last ``max_orders`` orders (20 000 by default), an older one is
404 (see :mod:`fakes.retention`). The restaurant's staff read the orders and answer on
the shop's own terminal, without authentication (the platform never reads); each answer
is called back to the order's ``callbackUrl``, signed (see :mod:`fakes.point_of_sale.callbacks`).

Platform (with the API key):

* ``POST /orders`` ``{orderId, restaurantId, items: [{name, quantity}], callbackUrl}``
  -> 201 ``{posOrderId, orderId, status: "received"}``; 409 if the order id is known
* ``POST /orders/{orderId}/cancel`` -> 200 the order, cancelled (from any state); 404

Terminal (the answers: 200 with the order once the callback got a 2xx, else 502 and
nothing changes; 409 from the wrong state):

* ``GET /orders`` -> ``{orders: [...]}``; ``GET /orders/{orderId}`` -> the order

* ``POST /orders/{orderId}/accept`` ``{prepMinutes: 1..240}``, only from received
* ``POST /orders/{orderId}/reject`` ``{reason}``, only from received
* ``POST /orders/{orderId}/ready``, only from accepted

Tests: ``POST /_fake/fail-next`` (see :mod:`fakes.faults`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import flask
import requests
from flask.typing import ResponseReturnValue

from fakes import faults
from fakes.idempotency import DEFAULT_KEY_RETENTION_S, IdempotencyStore
from fakes.point_of_sale.auto_answer import AutoAnswerer
from fakes.point_of_sale.callbacks import SIGNATURE_HEADER, Callbacks, sign
from fakes.point_of_sale.models import AcceptRequest, OrderRequest, RejectRequest
from fakes.point_of_sale.orders import PointOfSale
from fakes.retention import MAX_RECORDS
from fakes.server import BACKGROUND
from fakes.web import create_base_app, idempotency_key, parse_body, require_bearer

DEFAULT_API_KEY = "pos_test_fooddelivery"
DEFAULT_WEBHOOK_SECRET = "pos-dev-secret"
DEFAULT_PORT = 8702
PLATFORM_ENDPOINTS = ("receive", "cancel")
"""The views the platform calls, which need the API key."""

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_PORT",
    "DEFAULT_WEBHOOK_SECRET",
    "SIGNATURE_HEADER",
    "create_app",
    "sign",
]


def create_app(
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
    api_key: str = DEFAULT_API_KEY,
    session: requests.Session | None = None,
    auto_answer_s: float | None = None,
    now_s: Callable[[], float] = time.time,
    key_retention_s: float | None = DEFAULT_KEY_RETENTION_S,
    max_orders: int = MAX_RECORDS,
) -> flask.Flask:
    """The point of sale as a Flask app with its own empty state, taking orders and
    cancellations only with ``Authorization: Bearer <api_key>``.

    Callbacks go out through ``session`` (a new one by default). With
    ``auto_answer_s`` a background thread plays the staff (see
    :mod:`fakes.point_of_sale.auto_answer`); it is listed in
    ``app.extensions[fakes.server.BACKGROUND]`` and must be stopped
    (:func:`fakes.server.stop_background`). Callbacks are stamped with ``now_s``
    (epoch seconds; wall time by default), by which idempotency keys are kept
    ``key_retention_s`` after their first use (``None``: for good). It holds the last
    ``max_orders`` orders.
    """
    app = create_base_app("fake-point-of-sale")
    faults.install(app)
    pos = PointOfSale(Callbacks(webhook_secret, session or requests.Session(), now_s), max_orders)
    replays = IdempotencyStore(retention_s=key_retention_s, now_s=now_s)
    if auto_answer_s is not None:
        app.extensions[BACKGROUND] = [AutoAnswerer(pos, auto_answer_s)]

    @app.post("/orders")
    def receive() -> ResponseReturnValue:
        key = idempotency_key()
        request = parse_body(OrderRequest)
        return replays.respond(key, lambda: (pos.receive(request).receipt(), 201))

    @app.post("/orders/<order_id>/cancel")
    def cancel(order_id: str) -> ResponseReturnValue:
        key = idempotency_key()
        return replays.respond(key, lambda: (pos.cancel(order_id).view(), 200))

    @app.get("/orders")
    def list_orders() -> ResponseReturnValue:
        return {"orders": [order.view() for order in pos.all()]}

    @app.get("/orders/<order_id>")
    def read(order_id: str) -> ResponseReturnValue:
        return pos.get(order_id).view()

    @app.post("/orders/<order_id>/accept")
    def accept(order_id: str) -> ResponseReturnValue:
        body = parse_body(AcceptRequest)
        return pos.accept(order_id, body.prep_minutes).view()

    @app.post("/orders/<order_id>/reject")
    def reject(order_id: str) -> ResponseReturnValue:
        body = parse_body(RejectRequest)
        return pos.reject(order_id, body.reason).view()

    @app.post("/orders/<order_id>/ready")
    def ready(order_id: str) -> ResponseReturnValue:
        return pos.ready(order_id).view()

    require_bearer(app, api_key, PLATFORM_ENDPOINTS)
    return app
