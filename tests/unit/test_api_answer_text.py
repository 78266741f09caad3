"""BFF API kit: an answer is written as JSON once, and those very bytes are sent and, under an
``Idempotency-Key``, kept: a retry gets the first answer's text, whatever the document store
could or could not have held as a map (an array in an array, an integer beyond 64 bits)."""

from __future__ import annotations

from typing import Any

import pytest

from shared import api as kit
from shared.api import HttpApi
from shared.auth import LocalIssuer, Principal
from shared.idempotency_keys import COLLECTION
from shared.stores import InMemoryDocumentStore

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}
KEYED = ALICE | {"Idempotency-Key": "k-1"}


class Route:
    """A keyed command answering ``answer`` with an ``ETag`` of its ``revision``, and a query."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.store = InMemoryDocumentStore()
        self.runs = 0
        api = HttpApi("Answers", ISSUER, store=self.store)

        @api.route(
            "POST",
            "/things",
            actors={"customer"},
            idempotent=True,
            etag=lambda body: str(body["revision"]),
        )
        def make(caller: Principal) -> dict[str, Any]:
            """Make a thing."""
            self.runs += 1
            return answer | {"run": self.runs}

        @api.route("GET", "/things", actors={"customer"})
        def read(caller: Principal) -> dict[str, Any]:
            """Read the things."""
            return answer

        self.client = api.flask_app().test_client()

    def kept(self) -> dict[str, Any]:
        [document] = self.store.query(COLLECTION)
        return document.data


def count_writes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    written: list[Any] = []
    dumps = kit._StrictJson.dumps

    def counted(self: kit._StrictJson, obj: Any, **kwargs: Any) -> str:
        written.append(obj)
        return dumps(self, obj, **kwargs)

    monkeypatch.setattr(kit._StrictJson, "dumps", counted)
    return written


@pytest.mark.parametrize(("method", "headers"), [("GET", ALICE), ("POST", ALICE), ("POST", KEYED)])
def test_an_answer_is_written_once(
    monkeypatch: pytest.MonkeyPatch, method: str, headers: dict[str, str]
) -> None:
    route = Route({"revision": 1})
    written = count_writes(monkeypatch)

    answer = route.client.open("/things", method=method, headers=headers)

    assert answer.status_code == 200
    assert len(written) == 1


def test_a_keyed_answer_is_kept_as_sent_and_replayed_byte_for_byte() -> None:
    route = Route({"zeta": 1.0, "alpha": "é", "revision": 3})

    first = route.client.post("/things", headers=KEYED)
    retry = route.client.post("/things", headers=KEYED)

    assert route.kept()["body"] == first.get_data(as_text=True)
    assert (retry.status_code, retry.data, retry.headers["ETag"]) == (200, first.data, '"3"')
    assert retry.mimetype == "application/json"
    assert route.runs == 1


@pytest.mark.parametrize("odd", [{"lines": [[1, 2]]}, {"big": 2**64}])
def test_an_answer_no_document_holds_as_a_map_is_kept_all_the_same(odd: dict[str, Any]) -> None:
    """Kept as a map, an array in an array or an integer beyond 64 bits would be refused by
    the store: the key would stay reserved, a retry refused (409) until it is taken over."""
    route = Route(odd | {"revision": 1})

    first = route.client.post("/things", headers=KEYED)
    retry = route.client.post("/things", headers=KEYED)

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.data == first.data
    assert route.runs == 1


def test_an_answer_kept_as_a_map_before_is_still_replayed_with_its_etag() -> None:
    """Answers kept before they were kept as text (for a day) hold the payload itself."""
    route = Route({"revision": 7})
    first = route.client.post("/things", headers=KEYED)
    [document] = route.store.query(COLLECTION)
    route.store.put(COLLECTION, document.key, document.data | {"body": first.get_json()})

    retry = route.client.post("/things", headers=KEYED)

    assert (retry.status_code, retry.data, retry.headers["ETag"]) == (200, first.data, '"7"')
    assert route.runs == 1
