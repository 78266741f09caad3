"""The sandbox point of sale's time settings (``fakes/main.py``), checked before any order."""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest

from fakes import main as sandbox
from fakes.server import stop_background
from shared.http import DEFAULT_TIMEOUT_S


@pytest.fixture(autouse=True)
def fresh_pos(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test builds the point of sale anew from its own environment, and stops its thread."""
    sandbox._point_of_sale.cache_clear()
    monkeypatch.setenv("POS_WEBHOOK_SECRET", "whsec-test")
    monkeypatch.setenv("POS_API_KEY", "pos-sandbox")
    monkeypatch.delenv("POS_AUTO_ANSWER_S", raising=False)
    monkeypatch.delenv("POS_HOLD_S", raising=False)
    monkeypatch.delenv("POS_CALLBACK_PREFIX", raising=False)
    yield
    if sandbox._point_of_sale.cache_info().currsize:
        stop_background(sandbox._point_of_sale())
    sandbox._point_of_sale.cache_clear()


def submit(order_id: str = "o-1") -> flask.Response:
    """A new order for the sandbox point of sale, as functions-framework hands it over."""
    body = {
        "orderId": order_id,
        "restaurantId": "r-1",
        "items": [{"name": "Margherita", "quantity": 1}],
        "callbackUrl": "http://127.0.0.1:9/pos/callbacks",
    }
    request = flask.Request.from_values(
        "/orders",
        method="POST",
        json=body,
        headers={"Authorization": "Bearer pos-sandbox", "Idempotency-Key": order_id},
    )
    return sandbox.point_of_sale(request)  # type: ignore[return-value]


def orders() -> list[str]:
    """The order ids the built point of sale holds."""
    listed = sandbox._point_of_sale().test_client().get("/orders").get_json()
    return [order["orderId"] for order in listed["orders"]]


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", "10", "30"])
def test_a_bad_hold_fails_naming_it_before_any_order_is_taken(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("POS_AUTO_ANSWER_S", "30")
    monkeypatch.setenv("POS_HOLD_S", value)

    with pytest.raises(RuntimeError) as failed:
        submit()

    message = str(failed.value)
    assert message == (
        f"the sandbox's POS_HOLD_S must be seconds, from 0 to under 10, not {value!r}"
    )
    assert "\n" not in message
    assert sandbox._point_of_sale.cache_info().currsize == 0  # nothing was built, no order taken


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", "2s"])
def test_a_bad_auto_answer_delay_fails_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("POS_AUTO_ANSWER_S", value)

    with pytest.raises(RuntimeError) as failed:
        submit()

    assert str(failed.value) == (
        f"the sandbox's POS_AUTO_ANSWER_S must be seconds, 0 or more, not {value!r}"
    )


def test_good_times_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POS_AUTO_ANSWER_S", " 30 ")
    monkeypatch.setenv("POS_HOLD_S", "0.1")

    assert submit().status_code == 201

    assert orders() == ["o-1"]
    assert sandbox._point_of_sale().extensions[sandbox._HOLD_S] == 0.1


def test_unset_or_empty_times_take_their_defaults() -> None:
    assert sandbox.seconds("POS_HOLD_S", 8.0, {}) == 8.0
    assert sandbox.seconds("POS_HOLD_S", 8.0, {"POS_HOLD_S": ""}) == 8.0
    assert sandbox.seconds("POS_HOLD_S", 8.0, {"POS_HOLD_S": "0"}) == 0.0


def test_the_hold_ends_before_the_platform_stops_waiting() -> None:
    assert sandbox.DEFAULT_HOLD_S < sandbox.PLATFORM_TIMEOUT_S == DEFAULT_TIMEOUT_S
