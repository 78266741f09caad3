"""A BFF that fails answers in the API's JSON error shape, and the failure is logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from shared.api import HttpApi
from shared.auth import LocalIssuer, Principal
from tests.problems import refusal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


def test_an_unexpected_failure_is_a_json_500_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = HttpApi("Notes", ISSUER)

    @api.route("GET", "/notes", actors={"customer"})
    def read(caller: Principal) -> dict[str, Any]:
        """Read notes."""
        raise RuntimeError("the disk is on fire")

    with caplog.at_level(logging.ERROR):
        answer = api.flask_app().test_client().get("/notes", headers=ALICE)

    assert answer.status_code == 500
    assert answer.is_json
    assert refusal(answer) == {"error": "the service failed to answer; try again later"}
    assert "the disk is on fire" in caplog.text
