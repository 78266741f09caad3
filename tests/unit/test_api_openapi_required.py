"""The OpenAPI document says which answer fields are always there: all of them."""

from __future__ import annotations

from typing import Any

from shared.api import HttpApi
from shared.api_models import RequestBody, ResponseView
from shared.auth import LocalIssuer, Principal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class NoteRequest(RequestBody):
    text: str
    tag: str | None = None


class NoteView(ResponseView):
    text: str
    tag: str | None = None
    stars: int = 0


def test_answer_fields_with_defaults_are_required_and_request_fields_with_defaults_are_not() -> (
    None
):
    api = HttpApi("Notes", ISSUER)

    @api.route("POST", "/notes", actors={"customer"}, body=NoteRequest, response=NoteView)
    def write(caller: Principal, body: NoteRequest) -> NoteView:
        """Write a note."""
        return NoteView(text=body.text)

    answer = api.flask_app().test_client().post("/notes", json={"text": "hi"}, headers=ALICE)
    schemas: dict[str, Any] = api.openapi()["components"]["schemas"]

    assert answer.get_json() == {"text": "hi", "tag": None, "stars": 0}  # every field
    assert sorted(schemas["NoteView"]["required"]) == ["stars", "tag", "text"]
    assert schemas["NoteRequest"]["required"] == ["text"]
