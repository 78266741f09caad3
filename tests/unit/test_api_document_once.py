"""``/openapi.json`` answers anyone, without a token: the kit builds the document once per
app, not once per request, so asking for it again and again costs no more than a 401."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import HttpApi
from shared.api_models import ResponseView
from shared.auth import LocalIssuer, Principal


class Pong(ResponseView):
    ok: bool


def test_the_document_is_built_once_and_served_as_built(monkeypatch: pytest.MonkeyPatch) -> None:
    api = HttpApi("Ping", LocalIssuer())

    @api.route("GET", "/ping", actors={"customer"}, response=Pong)
    def ping(caller: Principal) -> Pong:
        """Ping."""
        return Pong(ok=True)

    built: list[dict[str, Any]] = []
    build = api.openapi

    def counted() -> dict[str, Any]:
        built.append(build())
        return built[-1]

    monkeypatch.setattr(api, "openapi", counted)
    client = api.flask_app().test_client()

    answers = [client.get("/openapi.json") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len(built) == 1
    assert all(a.get_json() == build() for a in answers)
    assert list(answers[0].get_json()["paths"]) == ["/ping"]
