"""BFF API kit: what a route would otherwise ignore is refused, saying so: an
``Idempotency-Key`` where none is taken, and a JSON object naming one member twice."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import HttpApi
from shared.api_models import RequestBody, ResponseView
from shared.auth import LocalIssuer, Principal
from shared.stores import InMemoryDocumentStore
from tests.problems import refusal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class Line(RequestBody):
    sku: str


class Basket(RequestBody):
    lines: list[Line]


class Receipt(ResponseView):
    """What was ordered."""

    skus: list[str]
    """The lines' skus."""


def basket_api(ran: list[str], *, keyed: bool = True) -> HttpApi:
    api = HttpApi("Baskets", ISSUER, store=InMemoryDocumentStore())

    @api.route(
        "POST", "/baskets", actors={"customer"}, body=Basket, response=Receipt, idempotent=keyed
    )
    def order(caller: Principal, body: Basket) -> Receipt:
        """Order a basket."""
        ran.append("order")
        return Receipt(skus=[line.sku for line in body.lines])

    @api.route("POST", "/baskets/{basket_id}/cancel", actors={"customer"})
    def cancel(caller: Principal, basket_id: str) -> None:
        """Cancel a basket."""
        ran.append("cancel")

    @api.route("GET", "/baskets", actors={"customer"}, response=Receipt)
    def read(caller: Principal) -> Receipt:
        """The last basket."""
        ran.append("read")
        return Receipt(skus=[])

    return api


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/baskets/b-1/cancel"), ("GET", "/baskets"), ("HEAD", "/baskets")]
)
def test_a_key_sent_to_a_route_that_takes_none_is_a_400_naming_those_that_do(
    method: str, path: str
) -> None:
    ran: list[str] = []
    client = basket_api(ran).flask_app().test_client()

    answer = client.open(path, method=method, headers={**ALICE, "Idempotency-Key": "k-1"})

    assert answer.status_code == 400
    assert ran == []
    if method != "HEAD":
        rule = path.replace("b-1", "{basket_id}")
        assert refusal(answer) == {
            "error": f"{method} {rule} takes no Idempotency-Key, so a retry with one would run "
            "again: only POST /baskets of this API takes one"
        }


def test_a_key_sent_to_an_api_with_no_keyed_route_says_none_takes_one() -> None:
    ran: list[str] = []
    client = basket_api(ran, keyed=False).flask_app().test_client()

    answer = client.post(
        "/baskets", json={"lines": []}, headers={**ALICE, "Idempotency-Key": "k-1"}
    )

    assert answer.status_code == 400
    assert answer.get_json()["error"].endswith(": no endpoint of this API takes one")
    assert ran == []


def test_a_key_is_still_taken_where_the_route_takes_one_and_a_call_without_one_runs() -> None:
    ran: list[str] = []
    client = basket_api(ran).flask_app().test_client()
    keyed = {**ALICE, "Idempotency-Key": "k-1"}

    first = client.post("/baskets", json={"lines": [{"sku": "pizza"}]}, headers=keyed)
    again = client.post("/baskets", json={"lines": [{"sku": "pizza"}]}, headers=keyed)
    plain = client.post("/baskets/b-1/cancel", headers=ALICE)

    assert (first.status_code, again.status_code, plain.status_code) == (200, 200, 200)
    assert ran == ["order", "cancel"]


def test_an_unauthenticated_call_with_a_key_is_still_a_401() -> None:
    client = basket_api([]).flask_app().test_client()

    answer = client.get("/baskets", headers={"Idempotency-Key": "k-1"})

    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("body", "member"),
    [
        (b'{"lines": [], "lines": [{"sku": "pizza"}]}', "lines"),
        (b'{"lines": [{"sku": "pizza", "sku": "beer"}]}', "sku"),
    ],
)
def test_a_json_object_naming_a_member_twice_is_a_400_naming_it(body: bytes, member: str) -> None:
    ran: list[str] = []
    client = basket_api(ran).flask_app().test_client()

    answer = client.post("/baskets", data=body, content_type="application/json", headers=ALICE)

    assert answer.status_code == 400
    assert answer.get_json()["error"] == (
        f"the request body is not valid JSON: the member '{member}' is given more than once "
        "in one object"
    )
    assert ran == []


def test_members_of_one_name_in_different_objects_are_read() -> None:
    ran: list[str] = []
    client = basket_api(ran).flask_app().test_client()
    body = b'{"lines": [{"sku": "pizza"}, {"sku": "beer"}]}'

    answer = client.post("/baskets", data=body, content_type="application/json", headers=ALICE)

    assert answer.status_code == 200
    assert answer.get_json() == {"skus": ["pizza", "beer"]}


def test_the_document_says_requests_are_closed_and_answers_may_gain_fields() -> None:
    document: dict[str, Any] = basket_api([]).openapi()

    description = document["info"]["description"]
    assert "`Idempotency-Key` sent to an operation that takes none" in description
    assert "a client ignores any field it does not know" in description
    assert document["components"]["schemas"]["Basket"]["additionalProperties"] is False
    assert "additionalProperties" not in document["components"]["schemas"]["Receipt"]
