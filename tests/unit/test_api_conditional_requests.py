"""BFF API kit: a route's ``ETag`` and the ``If-Match`` its handler reads (RFC 9110, sections
8.8.3 and 13.1.1): a command on a resource changed since it was read is refused with 412."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import HttpApi, HttpError, IfMatch, entity_tag, if_match
from shared.auth import LocalIssuer, Principal
from shared.stores import InMemoryDocumentStore
from tests.problems import refusal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class Counter:
    """A counter at a revision; ``bump`` adds one to it unless ``If-Match`` names another."""

    def __init__(self) -> None:
        self.store = InMemoryDocumentStore()
        self.revision = 1
        api = HttpApi("Counter", ISSUER, store=self.store)

        def tag(body: dict[str, Any]) -> str:
            return str(body["revision"])

        @api.route("GET", "/counter", actors={"customer"}, etag=tag)
        def read(caller: Principal) -> dict[str, Any]:
            """The counter."""
            return {"revision": self.revision}

        @api.route(
            "POST",
            "/counter/bump",
            actors={"customer"},
            idempotent=True,
            refusals={412: "bumped since"},
            etag=tag,
        )
        def bump(caller: Principal) -> dict[str, Any]:
            """Bump the counter."""
            expected = if_match()
            if expected is not None and not expected.matches(str(self.revision)):
                raise HttpError(412, f"the counter is at revision {self.revision}")
            self.revision += 1
            return {"revision": self.revision}

        @api.route("POST", "/counter/peek", actors={"customer"}, refusals={412: "x"})
        def peek(caller: Principal) -> dict[str, Any]:
            """What ``If-Match`` the handler read, as the kit parsed it."""
            expected = if_match()
            if expected is None:
                return {"ifMatch": None}
            return {"ifMatch": "*" if expected.any else sorted(expected.tags)}

        self.api = api
        self.client = api.flask_app().test_client()


def test_a_route_with_an_etag_answers_it_quoted() -> None:
    counter = Counter()
    response = counter.client.get("/counter", headers=ALICE)
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'


def test_a_matching_if_match_lets_the_command_run_and_a_stale_one_is_412() -> None:
    counter = Counter()
    bumped = counter.client.post("/counter/bump", headers={**ALICE, "If-Match": '"1"'})
    assert bumped.status_code == 200
    assert bumped.headers["ETag"] == '"2"'

    stale = counter.client.post("/counter/bump", headers={**ALICE, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert refusal(stale) == {"error": "the counter is at revision 2"}
    assert "ETag" not in stale.headers
    assert counter.revision == 2


def test_a_replayed_idempotent_answer_carries_its_etag() -> None:
    counter = Counter()
    headers = {**ALICE, "Idempotency-Key": "k-1", "If-Match": '"1"'}
    first = counter.client.post("/counter/bump", headers=headers)
    again = counter.client.post("/counter/bump", headers=headers)
    assert again.status_code == first.status_code == 200
    assert again.headers["ETag"] == first.headers["ETag"] == '"2"'
    assert counter.revision == 2


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ('"3"', ["3"]),
        ("*", "*"),
        (' "3" , W/"4", "a,b" ,, ', ["3", "a,b"]),  # a weak tag never matches strongly
        ('W/"3"', []),
        ('""', [""]),
    ],
)
def test_if_match_is_read_as_rfc_9110_writes_it(sent: str, read: str | list[str]) -> None:
    response = Counter().client.post("/counter/peek", headers={**ALICE, "If-Match": sent})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"ifMatch": read}


def test_without_if_match_the_handler_reads_none() -> None:
    response = Counter().client.post("/counter/peek", headers=ALICE)
    assert response.get_json() == {"ifMatch": None}


@pytest.mark.parametrize("sent", ["3", '"3', '"3" "4"', '*, "3"', 'w/"3"', '"a"b"'])
def test_an_if_match_that_is_no_list_of_entity_tags_is_400(sent: str) -> None:
    response = Counter().client.post("/counter/peek", headers={**ALICE, "If-Match": sent})
    assert response.status_code == 400
    assert "If-Match" in response.get_json()["error"]


def test_if_match_star_matches_any_tag_and_a_list_any_of_its_tags() -> None:
    assert IfMatch(frozenset(), any=True).matches("7")
    assert IfMatch(frozenset({"6", "7"})).matches("7")
    assert not IfMatch(frozenset({"6"})).matches("7")


@pytest.mark.parametrize("opaque", ['a"b', "a b", "\x7f"])
def test_an_opaque_tag_that_cannot_be_quoted_is_refused(opaque: str) -> None:
    with pytest.raises(ValueError, match="cannot be an entity tag"):
        entity_tag(opaque)


def test_the_openapi_document_names_the_etag_and_if_match() -> None:
    paths = Counter().api.openapi()["paths"]
    bump = paths["/counter/bump"]["post"]
    assert "ETag" in bump["responses"]["200"]["headers"]
    assert "ETag" in paths["/counter"]["get"]["responses"]["200"]["headers"]
    assert [p["name"] for p in bump["parameters"] if p["in"] == "header"] == [
        "Idempotency-Key",
        "If-Match",
    ]
    assert bump["responses"]["412"]["description"] == "bumped since"
    read = paths["/counter"]["get"]
    assert all(p["name"] != "If-Match" for p in read["parameters"])
    assert "412" not in read["responses"]
