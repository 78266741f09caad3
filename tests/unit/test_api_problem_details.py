"""BFF API kit: every refusal, whoever makes it (the auth check, the router, the body reader,
the idempotency keys, the store, a handler, werkzeug, a crash), is a problem details object
(RFC 9457) sent as ``application/problem+json``, keeping ``error`` and ``fields``, and the
OpenAPI document says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import flask
import pytest
from jsonschema import Draft202012Validator
from pydantic import Field
from werkzeug.exceptions import BadRequest
from werkzeug.test import Client, TestResponse

from shared.api import (
    MAX_BODY_BYTES,
    PROBLEM_JSON,
    HttpApi,
    HttpError,
    answer_errors_in_json,
    json_api_flask,
    status_title,
)
from shared.api_models import RequestBody, ResponseView
from shared.auth import LocalIssuer, Principal, VerifierUnavailable
from shared.exceptions import ConflictError, StoreError
from shared.stores import InMemoryDocumentStore

if TYPE_CHECKING:
    from shared.auth import TokenVerifier

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}
DAN = {"Authorization": "Bearer " + ISSUER.mint(Principal("driver", "dan"))}
SECRET = "the disk at /var/lib/x is on fire"
"""What a crash says, which no answer may repeat."""


class Note(RequestBody):
    text: str = Field(min_length=1)


class Saved(ResponseView):
    text: str


class Notes:
    """An API whose routes refuse in every way a BFF can."""

    def __init__(self) -> None:
        self.store = InMemoryDocumentStore()
        self.nested: list[TestResponse] = []
        self.api = api = HttpApi("Notes", ISSUER, store=self.store)

        @api.route(
            "POST", "/notes", actors={"customer"}, body=Note, response=Saved, idempotent=True
        )
        def save(caller: Principal, body: Note) -> Saved:
            """Save a note; a note saying ``again`` sends another with its key meanwhile."""
            if body.text == "again":  # while this request holds its key
                headers = dict(flask.request.headers)
                self.nested.append(
                    self.client.post("/notes", json=body.model_dump(), headers=headers)
                )
            return Saved(text=body.text)

        @api.route(
            "GET",
            "/notes/{note_id}",
            actors={"customer"},
            refusals={404: "no such note", 412: "changed"},
        )
        def read(caller: Principal, note_id: str) -> dict[str, Any]:
            """Read a note, refusing as its id says."""
            refusals: dict[str, Callable[[], Exception]] = {
                "gone": lambda: HttpError(404, "no note gone"),
                "stale": lambda: HttpError(412, "the note is at revision 2"),
                "crash": lambda: RuntimeError(SECRET),
                "werkzeug": lambda: BadRequest(),
                "down": lambda: StoreError(SECRET),
                "race": lambda: ConflictError(SECRET),
            }
            raise refusals[note_id]()

        self.client = api.flask_app().test_client()


def answer_to(kind: str) -> TestResponse:
    """One request the ``Notes`` API refuses as ``kind`` says."""
    notes = Notes()
    client = notes.client
    keyed = {**ALICE, "Idempotency-Key": "k-1"}
    if kind == "key in use":
        client.post("/notes", json={"text": "again"}, headers=keyed)
        return notes.nested[0]
    if kind == "key reused":
        client.post("/notes", json={"text": "one"}, headers=keyed)
        return client.post("/notes", json={"text": "two"}, headers=keyed)
    requests: dict[str, Callable[[], TestResponse]] = {
        "no token": lambda: client.get("/notes/gone"),
        "bad token": lambda: client.get("/notes/gone", headers={"Authorization": "Bearer x"}),
        "wrong actor": lambda: client.get("/notes/gone", headers=DAN),
        "no route": lambda: client.get("/nowhere"),
        "wrong method": lambda: client.delete("/notes/gone", headers=ALICE),
        "too large": lambda: client.post(
            "/notes", data=b" " * (MAX_BODY_BYTES + 1), content_type="application/json"
        ),
        "not json": lambda: client.post("/notes", data=b"text=hi", headers=ALICE),
        "invalid body": lambda: client.post("/notes", json={"text": ""}, headers=ALICE),
        "key not taken": lambda: client.get(
            "/notes/gone", headers={**ALICE, "Idempotency-Key": "k"}
        ),
        "bad key": lambda: client.post(
            "/notes", json={"text": "hi"}, headers={**ALICE, "Idempotency-Key": "k\u00e9"}
        ),
        "handler 404": lambda: client.get("/notes/gone", headers=ALICE),
        "handler 412": lambda: client.get("/notes/stale", headers=ALICE),
        "crash": lambda: client.get("/notes/crash", headers=ALICE),
        "werkzeug": lambda: client.get("/notes/werkzeug", headers=ALICE),
        "store down": lambda: client.get("/notes/down", headers=ALICE),
        "store race": lambda: client.get("/notes/race", headers=ALICE),
    }
    return requests[kind]()


KINDS = {
    "no token": (401, "Unauthorized"),
    "bad token": (401, "Unauthorized"),
    "wrong actor": (403, "Forbidden"),
    "no route": (404, "Not Found"),
    "wrong method": (405, "Method Not Allowed"),
    "too large": (413, "Content Too Large"),
    "not json": (415, "Unsupported Media Type"),
    "invalid body": (400, "Bad Request"),
    "key not taken": (400, "Bad Request"),
    "bad key": (400, "Bad Request"),
    "key reused": (422, "Unprocessable Content"),
    "key in use": (409, "Conflict"),
    "handler 404": (404, "Not Found"),
    "handler 412": (412, "Precondition Failed"),
    "crash": (500, "Internal Server Error"),
    "werkzeug": (400, "Bad Request"),
    "store down": (503, "Service Unavailable"),
    "store race": (409, "Conflict"),
}


def problem_schema() -> Draft202012Validator:
    document = Notes().api.openapi()
    schema = {"$ref": "#/components/schemas/Problem", "components": document["components"]}
    return Draft202012Validator(schema)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_refusal_is_problem_details_keeping_error(kind: str) -> None:
    status, title = KINDS[kind]

    answer = answer_to(kind)

    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.headers["Content-Type"] == PROBLEM_JSON
    problem = json.loads(answer.get_data())
    assert problem == {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": problem["error"],
        "error": problem["error"],
        **({"fields": problem["fields"]} if "fields" in problem else {}),
    }
    assert problem["error"]
    assert list(problem_schema().iter_errors(problem)) == []


def test_the_headers_of_a_refusal_are_kept() -> None:
    assert answer_to("no token").headers["WWW-Authenticate"] == 'Bearer realm="Notes"'
    assert "insufficient_scope" in answer_to("wrong actor").headers["WWW-Authenticate"]
    assert set(answer_to("wrong method").headers["Allow"].split(", ")) >= {"GET"}
    assert answer_to("not json").headers["Accept-Post"] == "application/json"
    assert answer_to("key in use").headers["Retry-After"] == "1"
    assert "Retry-After" in answer_to("store down").headers


def test_an_invalid_body_keeps_its_fields() -> None:
    problem = answer_to("invalid body").get_json()

    assert problem["fields"] == {"text": "String should have at least 1 character"}
    assert problem["detail"] == "invalid request: text: String should have at least 1 character"


@pytest.mark.parametrize("kind", ["crash", "store down", "store race"])
def test_a_failure_says_nothing_of_why(kind: str) -> None:
    assert SECRET not in answer_to(kind).get_data(as_text=True)


def test_a_refusal_werkzeug_raises_is_no_html_page() -> None:
    problem = answer_to("werkzeug").get_json()

    assert problem["detail"] == BadRequest.description


def test_a_verifier_that_cannot_check_tokens_is_a_problem_with_retry_after() -> None:
    class Down:
        def verify(self, token: str) -> Principal:
            raise VerifierUnavailable("the key set cannot be fetched", retry_after_s=7)

    api = HttpApi("Notes", cast("TokenVerifier", Down()))

    @api.route("GET", "/notes", actors={"customer"})
    def notes(caller: Principal) -> dict[str, Any]:
        """List notes."""
        return {}

    answer = api.flask_app().test_client().get("/notes", headers=ALICE)

    assert (answer.status_code, answer.headers["Content-Type"]) == (503, PROBLEM_JSON)
    assert answer.headers["Retry-After"] == "7"
    assert answer.get_json()["title"] == "Service Unavailable"


def test_an_app_that_asks_for_no_problem_details_keeps_the_json_shape() -> None:
    """The webhook of a point of sale and the development host answer as they always did."""
    app = json_api_flask("plain")
    answer_errors_in_json(app)

    answer = Client(app).get("/nowhere")

    assert (answer.status_code, answer.headers["Content-Type"]) == (404, "application/json")
    assert answer.get_json() == {"error": "no route for GET /nowhere"}


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (404, "Not Found"),
        (413, "Content Too Large"),
        (422, "Unprocessable Content"),
        (499, "Client Error"),
        (599, "Server Error"),
    ],
)
def test_a_title_is_the_status_phrase_of_rfc_9110(status: int, title: str) -> None:
    assert status_title(status) == title


def test_the_document_describes_every_refusal_as_problem_details() -> None:
    document = Notes().api.openapi()
    problem = document["components"]["schemas"]["Problem"]
    assert "Error" not in document["components"]["schemas"]
    assert problem["required"] == ["type", "title", "status", "detail", "error"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "error", "fields"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                where = f"{method} {path} {status}"
                if status.startswith(("4", "5")):
                    assert response["content"] == {
                        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }, where
                else:
                    assert set(response.get("content", {"application/json": 1})) == {
                        "application/json"
                    }, where
