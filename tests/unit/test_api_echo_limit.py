"""BFF API kit: a refusal repeats at most ``MAX_ECHO_CHARS`` characters of what the request
sent (a path, a method, a parameter's or a member's name, a header), saying how many more
there were: a 10 KB name is not sent back whole, twice."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import MAX_ECHO_CHARS, MAX_LISTED_FIELDS, HttpApi, echoed, if_match
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


def test_a_refusal_lists_at_most_so_many_fields_and_counts_the_rest(client: Any) -> None:
    names = [f"q{i}" for i in range(MAX_LISTED_FIELDS + 480)]

    body = refusal(client.get("/notes?" + "&".join(f"{n}=1" for n in names), headers=ALICE), 400)

    listed = names[:MAX_LISTED_FIELDS]
    assert list(body["fields"]) == listed
    assert body["error"] == (
        "invalid query: "
        + "; ".join(f"{n}: {body['fields'][n]}" for n in listed)
        + "; and 480 more fields"
    )


@pytest.mark.parametrize(("extra", "said"), [(0, ""), (1, "; and 1 more field")])
def test_a_refusal_lists_every_field_up_to_the_most(client: Any, extra: int, said: str) -> None:
    names = [f"q{i}" for i in range(MAX_LISTED_FIELDS + extra)]

    body = refusal(
        client.get("/notes/latest?" + "&".join(f"{n}=1" for n in names), headers=ALICE), 400
    )

    assert list(body["fields"]) == names[:MAX_LISTED_FIELDS]
    assert body["error"].endswith(f"q{MAX_LISTED_FIELDS - 1}: this endpoint takes none{said}")


def test_unknown_members_are_listed_up_to_the_most_too(client: Any) -> None:
    note = {"text": "hi"} | {f"m{i}": 1 for i in range(100)}

    body = refusal(client.post("/notes", json=note, headers=ALICE), 400)

    assert list(body["fields"]) == [f"m{i}" for i in range(MAX_LISTED_FIELDS)]
    assert body["error"].endswith("; and 80 more fields")
