"""On Google Cloud a BFF's function target dispatches a request into the kit's app with
``full_dispatch_request`` (:mod:`shared.runtime.functions`), past the ``wsgi_app`` where
Flask turns an exception into a 500: a handler's failure must still be the kit's JSON 500,
logged, with the headers of every answer, not the functions framework's HTML crash page."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from shared.api import ANSWER_HEADERS, HttpApi
from shared.auth import LocalIssuer, Principal
from tests.problems import refusal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


def failing_app() -> Any:
    api = HttpApi("Notes", ISSUER)

    @api.route("GET", "/notes", actors={"customer"})
    def read(caller: Principal) -> dict[str, Any]:
        """Read notes."""
        raise RuntimeError("the disk is on fire")

    return api.flask_app()


def dispatched_as_a_function_target(app: Any, path: str, headers: dict[str, str]) -> Any:
    """What ``shared.runtime.functions``'s HTTP target does with a request."""
    environ = EnvironBuilder(path=path, headers=headers).get_environ()
    environ["wsgi.input"] = io.BytesIO(b"")
    with app.request_context(environ):
        return app.full_dispatch_request()


def test_a_failure_is_the_kits_json_500_on_the_function_target_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = failing_app()

    with caplog.at_level(logging.ERROR):
        answer = dispatched_as_a_function_target(app, "/notes", ALICE)

    assert answer.status_code == 500
    assert answer.is_json
    assert refusal(answer) == {"error": "the service failed to answer; try again later"}
    assert all(answer.headers[name] == value for name, value in ANSWER_HEADERS.items())
    assert "the disk is on fire" in caplog.text
    assert "the disk is on fire" not in answer.get_data(as_text=True)


def test_refusals_on_the_function_target_are_unchanged() -> None:
    app = failing_app()

    assert dispatched_as_a_function_target(app, "/notes", {}).status_code == 401
    assert dispatched_as_a_function_target(app, "/nowhere", ALICE).status_code == 404
