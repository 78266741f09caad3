"""BFF API kit: a JSON body sent under another content type is refused saying so."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import HttpApi
from shared.api_models import RequestBody
from shared.auth import LocalIssuer, Principal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class Note(RequestBody):
    text: str


@pytest.fixture
def client() -> Any:
    api = HttpApi("Notes", ISSUER)

    @api.route("POST", "/notes", actors={"customer"}, body=Note)
    def write(caller: Principal, body: Note) -> dict[str, Any]:
        """Write a note."""
        return {"text": body.text}

    return api.flask_app().test_client()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_a_json_object_sent_as_another_content_type_is_told_which_one_to_use(
    client: Any, content_type: str | None
) -> None:
    # what `curl -d '{"text": "hi"}'` sends: a JSON object, as a form
    answer = client.post("/notes", data=b'{"text": "hi"}', content_type=content_type, headers=ALICE)

    assert answer.status_code == 400
    assert "Content-Type: application/json" in answer.get_json()["error"]
