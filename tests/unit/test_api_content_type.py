"""BFF API kit: a body the route cannot read (another content type, a compressed one) is a
415 saying what it reads (RFC 9110, section 15.5.16), documented as such."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from shared.api import HttpApi
from shared.api_models import RequestBody
from shared.auth import LocalIssuer, Principal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class Note(RequestBody):
    text: str


def notes_api(written: list[str]) -> HttpApi:
    api = HttpApi("Notes", ISSUER)

    @api.route("POST", "/notes", actors={"customer"}, body=Note)
    def write(caller: Principal, body: Note) -> dict[str, Any]:
        """Write a note."""
        written.append(body.text)
        return {"text": body.text}

    @api.route("PATCH", "/notes/{note_id}", actors={"customer"}, body=Note)
    def edit(caller: Principal, body: Note, note_id: str) -> dict[str, Any]:
        """Edit a note."""
        written.append(body.text)
        return {"text": body.text}

    @api.route("PUT", "/notes/{note_id}", actors={"customer"}, body=Note)
    def replace(caller: Principal, body: Note, note_id: str) -> dict[str, Any]:
        """Replace a note."""
        written.append(body.text)
        return {"text": body.text}

    return api


@pytest.fixture
def written() -> list[str]:
    return []


@pytest.fixture
def client(written: list[str]) -> Any:
    return notes_api(written).flask_app().test_client()


@pytest.mark.parametrize(
    ("content_type", "said"),
    [
        ("application/x-www-form-urlencoded", "(not application/x-www-form-urlencoded)"),
        ("text/plain", "(not text/plain)"),
        (None, "(it came without one)"),
    ],
)
def test_a_json_object_sent_as_another_content_type_is_a_415_naming_the_one_to_use(
    client: Any, written: list[str], content_type: str | None, said: str
) -> None:
    # what `curl -d '{"text": "hi"}'` sends: a JSON object, as a form
    answer = client.post("/notes", data=b'{"text": "hi"}', content_type=content_type, headers=ALICE)

    assert answer.status_code == 415
    error = answer.get_json()["error"]
    assert "Content-Type: application/json" in error and error.endswith(said)
    assert answer.headers["Accept-Post"] == "application/json"
    assert answer.headers["Accept-Encoding"] == "identity"
    assert written == []


@pytest.mark.parametrize(
    ("method", "header", "other"),
    [("PATCH", "Accept-Patch", "Accept-Post"), ("PUT", None, "Accept-Patch")],
)
def test_the_415_names_the_type_in_the_header_of_its_method(
    client: Any, method: str, header: str | None, other: str
) -> None:
    answer = client.open(
        "/notes/n-1", method=method, data=b"text=hi", content_type="text/plain", headers=ALICE
    )

    assert answer.status_code == 415
    if header is not None:
        assert answer.headers[header] == "application/json"
    assert other not in answer.headers and "Accept-Post" not in answer.headers


def test_no_body_at_all_is_a_400_not_a_415(client: Any, written: list[str]) -> None:
    answer = client.post("/notes", headers=ALICE)

    assert answer.status_code == 400
    assert answer.get_json()["error"] == (
        "the request body must be a JSON object, sent as Content-Type: application/json"
    )
    assert written == []


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_a_compressed_body_is_a_415_saying_it_is_read_as_sent(
    client: Any, written: list[str], coding: str
) -> None:
    answer = client.post(
        "/notes",
        data=gzip.compress(b'{"text": "hi"}'),
        content_type="application/json",
        headers={**ALICE, "Content-Encoding": coding},
    )

    assert answer.status_code == 415
    assert answer.get_json()["error"] == (
        f"the request body must be sent as it is, not encoded (Content-Encoding: {coding})"
    )
    assert answer.headers["Accept-Encoding"] == "identity"
    assert written == []


def test_a_body_marked_identity_is_read(client: Any, written: list[str]) -> None:
    answer = client.post(
        "/notes", json={"text": "hi"}, headers={**ALICE, "Content-Encoding": "identity"}
    )

    assert answer.status_code == 200
    assert written == ["hi"]


def test_the_document_lists_the_415_with_the_headers_it_carries() -> None:
    paths = notes_api([]).openapi()["paths"]

    post = paths["/notes"]["post"]["responses"]["415"]
    patch = paths["/notes/{note_id}"]["patch"]["responses"]["415"]
    put = paths["/notes/{note_id}"]["put"]["responses"]["415"]

    assert {"Accept-Encoding", "Accept-Post"} <= set(post["headers"])
    assert {"Accept-Encoding", "Accept-Patch"} <= set(patch["headers"])
    assert "Accept-Post" not in put["headers"] and "Accept-Patch" not in put["headers"]
    assert post["headers"]["Accept-Post"]["schema"] == {
        "type": "string",
        "const": "application/json",
    }
    assert post["content"] == paths["/notes"]["post"]["responses"]["400"]["content"]


@pytest.mark.parametrize("charset", ["latin-1", "ISO-8859-1", "utf-16", '"windows-1252"', "x"])
def test_a_json_body_in_another_charset_than_utf_8_is_a_415_naming_utf_8(
    client: Any, written: list[str], charset: str
) -> None:
    content_type = f"application/json; charset={charset}"
    # ASCII: read as UTF-8 it would pass, but a name with an accent would not
    answer = client.post("/notes", data=b'{"text": "hi"}', content_type=content_type, headers=ALICE)

    assert answer.status_code == 415
    assert answer.get_json()["error"] == (
        "the request body must be JSON in UTF-8 (RFC 8259), sent as Content-Type: "
        "application/json or application/json; charset=utf-8 "
        f"(not charset={charset.strip(chr(34))})"
    )
    assert answer.headers["Accept-Post"] == "application/json"
    assert answer.headers["Accept-Encoding"] == "identity"
    assert written == []


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "utf8"])
def test_a_json_body_said_to_be_utf_8_is_read(
    client: Any, written: list[str], charset: str
) -> None:
    content_type = f"application/json; charset={charset}"
    body = '{"text": "crème brûlée"}'.encode()

    answer = client.post("/notes", data=body, content_type=content_type, headers=ALICE)

    assert answer.status_code == 200
    assert written == ["crème brûlée"]


def test_the_document_says_a_body_in_another_charset_is_a_415() -> None:
    post = notes_api([]).openapi()["paths"]["/notes"]["post"]["responses"]["415"]

    assert "a `charset` other than `utf-8`" in post["description"]
