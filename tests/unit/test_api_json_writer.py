"""BFF API kit: an answer is JSON (RFC 8259) or no answer at all. A handler whose answer
holds ``NaN`` or an infinite number, which Python's JSON writer would send as they are,
fails: a 500 in the API's error shape, logged, and nothing kept for an ``Idempotency-Key``
to replay."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from shared.api import HttpApi, answer_errors_in_json, json_api_flask
from shared.api_models import ResponseView
from shared.auth import LocalIssuer, Principal
from shared.stores import InMemoryDocumentStore
from tests.problems import refusal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}
FAILED = {"error": "the service failed to answer; try again later"}


class Score(ResponseView):
    """A score."""

    value: float
    """Its value."""


def scores_api(value: float, runs: list[float]) -> HttpApi:
    api = HttpApi("Scores", ISSUER, store=InMemoryDocumentStore())

    @api.route("GET", "/scores/raw", actors={"customer"})
    def raw(caller: Principal) -> dict[str, Any]:
        """The raw score."""
        return {"value": value}

    @api.route("GET", "/scores/view", actors={"customer"}, response=Score)
    def view(caller: Principal) -> Score:
        """The score as a view."""
        return Score(value=value)

    @api.route("POST", "/scores", actors={"customer"}, response=Score, idempotent=True)
    def compute(caller: Principal) -> Score:
        """Compute the score."""
        runs.append(value)
        return Score(value=value)

    return api


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("path", ["/scores/raw", "/scores/view"])
def test_an_answer_json_cannot_hold_is_a_logged_500(
    caplog: pytest.LogCaptureFixture, value: float, path: str
) -> None:
    client = scores_api(value, []).flask_app().test_client()

    with caplog.at_level(logging.ERROR, logger="fooddelivery.api"):
        answer = client.get(path, headers=ALICE)

    assert answer.status_code == 500
    assert refusal(answer) == FAILED  # JSON: a reader that refuses NaN reads it
    assert f"GET {path} answered what JSON cannot hold" in caplog.text


def test_a_keyed_request_whose_answer_failed_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[float] = []
    client = scores_api(math.nan, runs).flask_app().test_client()
    keyed = ALICE | {"Idempotency-Key": "k-1"}

    with caplog.at_level(logging.ERROR, logger="fooddelivery.api"):
        first, again = (client.post("/scores", headers=keyed) for _ in range(2))

    assert (first.status_code, again.status_code) == (500, 500)
    assert refusal(again) == FAILED
    assert len(runs) == 2  # the failure was not kept as the answer to replay


def test_a_finite_answer_is_sent() -> None:
    client = scores_api(1.5, []).flask_app().test_client()

    assert client.get("/scores/view", headers=ALICE).get_json() == {"value": 1.5}


def test_a_kit_app_of_its_own_views_sends_no_nan_either() -> None:
    app = json_api_flask("Webhook")
    app.add_url_rule("/hook", "hook", lambda: {"value": math.nan})
    answer_errors_in_json(app)

    answer = app.test_client().get("/hook")

    assert answer.status_code == 500
    assert answer.get_json() == FAILED
    assert b"NaN" not in answer.data
