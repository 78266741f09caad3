"""BFF API kit: a refusal repeats at most ``MAX_ECHO_CHARS`` characters of what the request
sent (a path, a method, a parameter's or a member's name, a header), saying how many more
there were: a 10 KB name is not sent back whole, twice."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import MAX_ECHO_CHARS, HttpApi, echoed, if_match
from shared.api_models import QueryString, RequestBody
from shared.auth import LocalIssuer, Principal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}
LONG = "n" * 10_000
CUT = f"{'n' * MAX_ECHO_CHARS}... ({10_000 - MAX_ECHO_CHARS} more characters)"


class Filter(QueryString):
    open: str | None = None


class Note(RequestBody):
    text: str


def notes_api() -> HttpApi:
    api = HttpApi("Notes", ISSUER)

    @api.route("GET", "/notes", actors={"customer"}, query=Filter)
    def search(caller: Principal, query: Filter) -> dict[str, Any]:
        """Search notes."""
        return {}

    @api.route("GET", "/notes/latest", actors={"customer"})
    def latest(caller: Principal) -> dict[str, Any]:
        """The latest note."""
        return {}

    @api.route("POST", "/notes", actors={"customer"}, body=Note, refusals={412: "changed"})
    def write(caller: Principal, body: Note) -> dict[str, Any]:
        """Write a note."""
        if_match()
        return {}

    return api


@pytest.fixture
def client() -> Any:
    return notes_api().flask_app().test_client()


def refusal(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert LONG not in answer.get_data(as_text=True)
    body: dict[str, Any] = answer.get_json()
    return body


def test_echoed_keeps_what_is_short_and_cuts_what_is_long() -> None:
    assert echoed("n" * MAX_ECHO_CHARS) == "n" * MAX_ECHO_CHARS
    assert echoed(LONG) == CUT
    # cut between characters, not inside one's encoding
    assert echoed("é" * 300) == f"{'é' * MAX_ECHO_CHARS}... (100 more characters)"


@pytest.mark.parametrize("path", ["/notes", "/notes/latest"])
def test_an_unknown_query_parameter_is_named_by_its_beginning(client: Any, path: str) -> None:
    body = refusal(client.get(f"{path}?{LONG}=1", headers=ALICE), 400)

    assert list(body["fields"]) == [CUT]
    assert body["error"].startswith(f"invalid query: {CUT}: ")


def test_a_query_parameter_given_twice_is_named_by_its_beginning(client: Any) -> None:
    body = refusal(client.get(f"/notes?{LONG}=1&{LONG}=2", headers=ALICE), 400)

    assert body["fields"] == {CUT: "given more than once"}


def test_an_unknown_member_is_named_by_its_beginning(client: Any) -> None:
    body = refusal(client.post("/notes", json={"text": "hi", LONG: 1}, headers=ALICE), 400)

    assert list(body["fields"]) == [CUT]


def test_an_unknown_path_is_named_by_its_beginning(client: Any) -> None:
    body = refusal(client.get(f"/{LONG}", headers=ALICE), 404)

    cut = f"/{'n' * (MAX_ECHO_CHARS - 1)}... ({10_001 - MAX_ECHO_CHARS} more characters)"
    assert body["error"] == f"no route for GET {cut}"


def test_an_unreadable_if_match_is_named_by_its_beginning(client: Any) -> None:
    body = refusal(
        client.post("/notes", json={"text": "hi"}, headers=ALICE | {"If-Match": LONG}), 400
    )

    assert body["error"].startswith(f"If-Match: {echoed(repr(LONG))} is neither")


def test_an_unread_content_type_is_named_by_its_beginning(client: Any) -> None:
    answer = client.post("/notes", data=b"{}", content_type=f"text/{LONG}", headers=ALICE)

    assert refusal(answer, 415)["error"].endswith(f"(not {echoed(f'text/{LONG}')})")
