"""BFF API kit: what the document store raises out of a handler is answered in JSON.

An id Firestore refuses is a 404 in the path and a field message in the body or
query; a lost race is a 409; an unavailable store a 503 with ``Retry-After``.
A keyed command failing so frees its ``Idempotency-Key``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from shared.api import MAX_ECHO_CHARS, STORE_RETRY_AFTER_S, HttpApi, HttpError
from shared.auth import LocalIssuer, Principal
from shared.exceptions import ConflictError, InvalidDocument, InvalidQuery, StoreError
from shared.idempotency_keys import COLLECTION as KEYS
from shared.stores import InMemoryDocumentStore

if TYPE_CHECKING:
    from flask.testing import FlaskClient

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}
RESERVED = "__x__"


class Line(BaseModel):
    sku: str


class Basket(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    shop_id: str
    lines: list[Line] = []


class Search(BaseModel):
    shop: str


@dataclass
class App:
    """The test client of a tiny API over an in-memory store, and what its handlers did."""

    store: InMemoryDocumentStore
    client: FlaskClient = field(init=False)
    runs: list[str] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)


@pytest.fixture
def app() -> App:
    store = InMemoryDocumentStore()
    api = HttpApi("Shops", ISSUER, store=store)
    state = App(store)

    @api.route("GET", "/shops/{shop_id}", actors={"customer"})
    def get_shop(caller: Principal, shop_id: str) -> dict:
        """Read a shop."""
        shop = store.get("shops", shop_id)
        if shop is None:
            raise HttpError(404, f"no shop {shop_id}")
        return shop

    @api.route("PUT", "/basket", actors={"customer"}, body=Basket)
    def put_basket(caller: Principal, body: Basket) -> dict:
        """Fill the caller's basket from a shop's stock."""
        found = [store.get("stock", line.sku) for line in body.lines]
        return {"shop": store.get("shops", body.shop_id), "found": len(found)}

    @api.route("GET", "/search", actors={"customer"}, query=Search)
    def search(caller: Principal, query: Search) -> dict:
        """Find a shop by its id."""
        return {"shop": store.get("shops", query.shop)}

    @api.route("PUT", "/shops/{shop_id}/notes", actors={"customer"}, body=Line)
    def put_note(caller: Principal, body: Line, shop_id: str) -> dict:
        """Keep a note, under a key made of two ids."""
        store.put("notes", f"{shop_id}-{body.sku}/latest", {"sku": body.sku})
        return {}

    @api.route("POST", "/shops/{shop_id}/orders", actors={"customer"}, status=201, idempotent=True)
    def order(caller: Principal, shop_id: str) -> dict:
        """Order from a shop; fails with the next of ``failures`` while there are any."""
        state.runs.append(shop_id)
        store.get("shops", shop_id)
        if state.failures:
            raise state.failures.pop(0)
        return {"run": len(state.runs)}

    state.client = api.flask_app().test_client()
    return state


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"]
    return body


@pytest.mark.parametrize("shop_id", [RESERVED, "__.__"])
def test_an_invalid_path_id_is_a_json_404_naming_it(app, shop_id):
    body = assert_json_error(app.client.get(f"/shops/{shop_id}", headers=ALICE), 404)
    assert repr(shop_id) in body["error"]
    assert "shop_id" in body["error"]


def test_a_long_invalid_path_id_is_a_json_404_naming_its_beginning(app):
    quoted = repr("k" * 1501)

    body = assert_json_error(app.client.get(f"/shops/{'k' * 1501}", headers=ALICE), 404)

    cut = f"{quoted[:MAX_ECHO_CHARS]}... ({len(quoted) - MAX_ECHO_CHARS} more characters)"
    assert body["error"] == f"no such shop_id: {cut} cannot be an id: it is longer than 1500 bytes"


@pytest.mark.parametrize(
    ("basket", "field_name"),
    [
        ({"shopId": RESERVED}, "shopId"),
        ({"shopId": "a/b"}, "shopId"),
        ({"shopId": "."}, "shopId"),
        ({"shopId": "s-1", "lines": [{"sku": "ok"}, {"sku": ".."}]}, "lines.1.sku"),
    ],
)
def test_an_invalid_body_id_is_a_json_400_with_a_field_message(app, basket, field_name):
    body = assert_json_error(app.client.put("/basket", json=basket, headers=ALICE), 400)
    bad = basket["lines"][1]["sku"] if "lines" in basket else basket["shopId"]
    assert list(body["fields"]) == [field_name]
    assert repr(bad) in body["fields"][field_name]
    assert field_name in body["error"]


def test_an_invalid_query_id_is_a_json_400_naming_the_parameter(app):
    body = assert_json_error(app.client.get(f"/search?shop={RESERVED}", headers=ALICE), 400)
    assert list(body["fields"]) == ["shop"]
    assert repr(RESERVED) in body["fields"]["shop"]


def test_an_invalid_id_made_of_the_request_is_a_json_400_naming_it(app):
    response = app.client.put("/shops/s-1/notes", json={"sku": "x"}, headers=ALICE)
    body = assert_json_error(response, 400)
    assert repr("s-1-x/latest") in body["error"]
    assert app.store.query("notes") == []


def test_a_value_the_store_cannot_keep_is_a_json_400_naming_it(app):
    app.failures.append(InvalidDocument("total", "18446744073709551616 does not fit in 64 bits"))
    body = assert_json_error(app.client.post("/shops/s-1/orders", headers=ALICE), 400)
    assert "total: 18446744073709551616 does not fit in 64 bits" in body["error"]


def test_a_value_the_store_cannot_search_for_is_a_json_400_not_a_retry_later(app):
    app.failures.append(InvalidQuery("a condition on name: it takes 1601 bytes, more than 1500"))
    response = app.client.post("/shops/s-1/orders", headers=ALICE)
    body = assert_json_error(response, 400)
    assert "cannot search for a condition on name" in body["error"]
    assert "Retry-After" not in response.headers


def test_a_conflict_is_a_json_409(app):
    app.failures.append(ConflictError("update shops/s-1 kept aborting"))
    body = assert_json_error(app.client.post("/shops/s-1/orders", headers=ALICE), 409)
    assert "retry" in body["error"]


def test_an_unavailable_store_is_a_json_503_with_retry_after(app):
    app.failures.append(StoreError("firestore get failed: 503 the service is unavailable"))
    response = app.client.post("/shops/s-1/orders", headers=ALICE)
    assert_json_error(response, 503)
    assert response.headers["Retry-After"] == str(STORE_RETRY_AFTER_S)


def test_a_store_that_is_down_before_the_handler_runs_is_a_json_503(app, monkeypatch):
    def down(*_: object) -> bool:
        raise StoreError("firestore create failed: 503 the service is unavailable")

    monkeypatch.setattr(app.store, "create", down)
    headers = {**ALICE, "Idempotency-Key": "k-1"}
    response = app.client.post("/shops/s-1/orders", headers=headers)
    assert_json_error(response, 503)
    assert "Retry-After" in response.headers
    assert app.runs == []


@pytest.mark.parametrize(
    ("shop_id", "failure", "status"),
    [
        (RESERVED, None, 404),
        ("s-1", ConflictError("update shops/s-1 kept aborting"), 409),
        ("s-1", StoreError("firestore put failed: 503 the service is unavailable"), 503),
    ],
)
def test_a_keyed_command_failing_so_frees_its_key(app, shop_id, failure, status):
    headers = {**ALICE, "Idempotency-Key": "k-1"}
    if failure is not None:
        app.failures.append(failure)
    assert_json_error(app.client.post(f"/shops/{shop_id}/orders", headers=headers), status)
    assert app.store.query(KEYS) == []

    retried = app.client.post(f"/shops/{shop_id}/orders", headers=headers)

    assert app.runs == [shop_id, shop_id]  # the retry ran: it was not refused as running
    assert retried.status_code == (404 if failure is None else 201)
