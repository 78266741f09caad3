"""The OpenAPI document lists every status a route answers."""

from __future__ import annotations

from typing import Any

from shared.api import MAX_BODY_BYTES, HttpApi
from shared.api_models import QueryString, RequestBody
from shared.auth import LocalIssuer, Principal, VerifierUnavailable
from tests.problems import refusal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class Note(RequestBody):
    text: str


def notes_api() -> HttpApi:
    api = HttpApi("Notes", ISSUER)

    @api.route("POST", "/notes", actors={"customer"}, body=Note)
    def write(caller: Principal, body: Note) -> dict[str, Any]:
        """Write a note."""
        return {"text": body.text}

    return api


def test_a_route_with_a_body_documents_the_413_it_answers_to_one_too_large() -> None:
    api = notes_api()
    client = api.flask_app().test_client()

    answer = client.post("/notes", json={"text": "x" * MAX_BODY_BYTES}, headers=ALICE)

    assert answer.status_code == 413
    responses = api.openapi()["paths"]["/notes"]["post"]["responses"]
    assert "413" in responses
    assert responses["413"]["content"] == responses["400"]["content"]
    assert str(MAX_BODY_BYTES) in responses["413"]["description"]


class Listing(QueryString):
    before: int | None = None
    tag: str | None = None
    limit: int = 20


def test_an_optional_query_parameter_is_documented_without_null_which_it_cannot_carry() -> None:
    api = HttpApi("Notes", ISSUER)

    @api.route("GET", "/notes", actors={"customer"}, query=Listing)
    def read(caller: Principal, query: Listing) -> dict[str, Any]:
        """Read notes."""
        return {}

    answer = api.flask_app().test_client().get("/notes?before=null", headers=ALICE)
    parameters = api.openapi()["paths"]["/notes"]["get"]["parameters"]
    schemas = {p["name"]: p["schema"] for p in parameters if p["in"] == "query"}

    assert answer.status_code == 400  # what the document no longer offers
    assert schemas["before"] == {"title": "Before", "type": "integer"}
    assert schemas["tag"] == {"title": "Tag", "type": "string"}
    assert schemas["limit"] == {"title": "Limit", "type": "integer", "default": 20}


class KeysDown:
    """A verifier whose signing keys cannot be fetched."""

    def verify(self, token: str) -> Principal:
        raise VerifierUnavailable("the signing keys cannot be fetched", retry_after_s=7.2)


def test_the_503_documents_its_retry_after_header_as_the_answer_carries_it() -> None:
    api = HttpApi("Notes", KeysDown())

    @api.route("GET", "/notes", actors={"customer"})
    def read(caller: Principal) -> dict[str, Any]:
        """Read notes."""
        return {}

    answer = api.flask_app().test_client().get("/notes", headers=ALICE)
    documented = api.openapi()["paths"]["/notes"]["get"]["responses"]["503"]

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "8"  # whole seconds, rounded up
    retry_after = documented["headers"]["Retry-After"]
    assert retry_after["schema"] == {"type": "integer", "minimum": 1}
    assert "seconds to wait" in retry_after["description"]


def test_the_500_a_failing_handler_answers_is_documented_with_the_error_schema() -> None:
    api = HttpApi("Notes", ISSUER)

    @api.route("GET", "/notes", actors={"customer"})
    def read(caller: Principal) -> dict[str, Any]:
        """Read notes."""
        raise RuntimeError("the disk is gone")

    answer = api.flask_app().test_client().get("/notes", headers=ALICE)
    responses = api.openapi()["paths"]["/notes"]["get"]["responses"]

    assert answer.status_code == 500
    assert refusal(answer) == {"error": "the service failed to answer; try again later"}
    assert responses["500"]["content"] == responses["400"]["content"]
