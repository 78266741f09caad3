"""BFF API kit: an answer without content (a 204, ``OPTIONS``'s) says no ``Content-Type``
(RFC 9110, section 8.3): Flask's default, ``text/html``, would promise a page."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import HttpApi
from shared.api_models import ResponseView
from shared.auth import LocalIssuer, Principal
from shared.stores import InMemoryDocumentStore

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class Pin(ResponseView):
    """A pin."""

    label: str
    """Its label."""


def pins_api(removed: list[str]) -> HttpApi:
    api = HttpApi("Pins", ISSUER, store=InMemoryDocumentStore())

    @api.route("GET", "/pins/{pin_id}", actors={"customer"}, response=Pin)
    def read(caller: Principal, pin_id: str) -> Pin:
        """Read a pin."""
        return Pin(label=pin_id)

    @api.route("DELETE", "/pins/{pin_id}", actors={"customer"}, status=204, idempotent=True)
    def remove(caller: Principal, pin_id: str) -> None:
        """Remove a pin."""
        removed.append(pin_id)

    return api


@pytest.fixture
def removed() -> list[str]:
    return []


@pytest.fixture
def client(removed: list[str]) -> Any:
    return pins_api(removed).flask_app().test_client()


@pytest.mark.parametrize("key", [None, "k-1"])
def test_a_204_has_no_content_type(client: Any, removed: list[str], key: str | None) -> None:
    headers = ALICE | ({"Idempotency-Key": key} if key else {})

    first = client.delete("/pins/p-1", headers=headers)
    again = client.delete("/pins/p-1", headers=headers)  # a replay, when keyed

    for answer in (first, again):
        assert answer.status_code == 204
        assert answer.data == b""
        assert "Content-Type" not in answer.headers
        assert "Content-Length" not in answer.headers  # RFC 9110, section 8.6
        assert answer.headers["Cache-Control"] == "no-store"
    assert removed == (["p-1"] if key else ["p-1", "p-1"])


def test_options_names_the_methods_and_no_content_type(client: Any) -> None:
    answer = client.options("/pins/p-1")

    assert answer.status_code == 200
    assert answer.data == b""
    assert "Content-Type" not in answer.headers
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "DELETE", "OPTIONS"}
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_head_keeps_the_type_of_what_get_answers(client: Any) -> None:
    answer = client.head("/pins/p-1", headers=ALICE)

    assert answer.status_code == 200
    assert answer.data == b""
    assert answer.headers["Content-Type"] == "application/json"


def test_an_answer_with_content_keeps_its_type(client: Any) -> None:
    answer = client.get("/pins/p-1", headers=ALICE)

    assert answer.headers["Content-Type"] == "application/json"
    assert answer.get_json() == {"label": "p-1"}
