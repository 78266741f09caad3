"""pos-esg's HTTP client against a real server: answers a point of sale integration must read.

A redirect is never followed: ``requests`` would turn the POST into a GET, whose 2xx (a login
page, the vendor's new API root) would pass for the order handed over or withdrawn while the
point of sale never saw it. It is our point-of-sale URL being wrong, a fault for a person.
"""

from __future__ import annotations

import flask
import pytest
from flask.typing import ResponseReturnValue

from fakes.server import serve
from order.pos_esg.client import HttpPointOfSale, PosLine, PosOrder
from shared.exceptions import BusinessRuleViolation
from shared.http import http_session
from tests.order.conftest import FAKE_KEY

ORDER = PosOrder("o-1", "r-1", (PosLine("Margherita", 2),), "http://order.test/pos/callbacks")


def moved_pos() -> flask.Flask:
    """A point of sale URL that redirects (say http:// to https://) to where a GET answers 200."""
    app = flask.Flask("redirecting-pos")

    @app.post("/orders")
    def orders() -> ResponseReturnValue:
        return flask.redirect("/moved/orders", 301)

    @app.post("/orders/<order_id>/cancel")
    def cancel(order_id: str) -> ResponseReturnValue:
        return flask.redirect(f"/moved/orders/{order_id}/cancel", 307)

    @app.get("/moved/<path:rest>")
    def moved(rest: str) -> ResponseReturnValue:
        return {"status": "ok"}

    @app.post("/moved/<path:rest>")
    def moved_post(rest: str) -> ResponseReturnValue:
        return {"status": "cancelled"}

    return app


def test_a_redirected_hand_over_is_a_fault_naming_where_not_an_order_handed_over() -> None:
    with serve(moved_pos()) as server:
        pos = HttpPointOfSale(http_session(), server.url, FAKE_KEY)
        with pytest.raises(BusinessRuleViolation, match="301 to /moved/orders"):
            pos.submit(ORDER)


def test_a_redirected_withdrawal_is_a_fault_not_a_withdrawal_done() -> None:
    with serve(moved_pos()) as server:
        pos = HttpPointOfSale(http_session(), server.url, FAKE_KEY)
        with pytest.raises(BusinessRuleViolation, match="307 to /moved/orders/o-1/cancel"):
            pos.cancel("o-1")


def gone_pos() -> flask.Flask:
    """A point of sale that no longer holds order o-1 (it archived it): 410 Gone."""
    app = flask.Flask("gone-pos")

    @app.post("/orders")
    def orders() -> ResponseReturnValue:
        return {"error": "this API version is gone"}, 410

    @app.post("/orders/<order_id>/cancel")
    def cancel(order_id: str) -> ResponseReturnValue:
        return {"error": f"order {order_id} is gone"}, 410

    return app


def test_a_withdrawal_of_an_order_the_pos_no_longer_holds_is_done_as_for_one_it_never_had() -> None:
    with serve(gone_pos()) as server:
        pos = HttpPointOfSale(http_session(), server.url, FAKE_KEY)
        pos.cancel("o-1")  # nothing to withdraw there: no fault, not retried
        with pytest.raises(BusinessRuleViolation, match="410"):
            pos.submit(ORDER)  # a hand-over refused is still a fault for a person
