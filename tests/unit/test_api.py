"""BFF API kit: validation, authentication, authorization, idempotency, OpenAPI."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from shared.api import VERIFIER_RETRY_AFTER_S, HttpApi, HttpError
from shared.auth import LocalIssuer, Principal, VerifierUnavailable
from shared.stores import InMemoryDocumentStore
from tests.problems import refusal


class Item(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class PlaceOrder(BaseModel):
    items: list[Item] = Field(min_length=1)


class OrderView(BaseModel):
    id: str
    owner: str
    items: int


ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}
DAN = {"Authorization": "Bearer " + ISSUER.mint(Principal("driver", "dan"))}


@pytest.fixture
def setup():
    store = InMemoryDocumentStore()
    api = HttpApi("Orders", ISSUER, store=store)
    created: list[str] = []

    @api.route(
        "POST",
        "/orders/{order_id}",
        actors={"customer"},
        body=PlaceOrder,
        response=OrderView,
        status=201,
        idempotent=True,
    )
    def place(caller: Principal, body: PlaceOrder, order_id: str) -> OrderView:
        """Place an order."""
        created.append(order_id)
        return OrderView(id=order_id, owner=caller.subject, items=len(body.items))

    @api.route("GET", "/orders/{order_id}", actors={"customer"}, response=OrderView)
    def get(caller: Principal, order_id: str) -> OrderView:
        """Read an order."""
        raise HttpError(404, f"no order {order_id}")

    return api.flask_app().test_client(), created, api


def test_a_valid_command_runs_with_the_caller(setup):
    client, created, _ = setup
    response = client.post(
        "/orders/o1", json={"items": [{"sku": "pizza", "quantity": 2}]}, headers=ALICE
    )
    assert response.status_code == 201
    assert response.get_json() == {"id": "o1", "owner": "alice", "items": 1}
    assert created == ["o1"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"sku": "", "quantity": 1}]}, "items.0.sku"),
        ({"items": [{"sku": "x", "quantity": 0}]}, "items.0.quantity"),
        ({}, "items"),
    ],
)
def test_invalid_bodies_get_400_with_a_message_per_field(setup, body, field):
    client, created, _ = setup
    response = client.post("/orders/o1", json=body, headers=ALICE)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert created == []


def test_a_body_that_is_not_json_gets_415(setup):
    client, created, _ = setup
    response = client.post("/orders/o1", data="items=1", headers=ALICE)
    assert response.status_code == 415
    assert "JSON" in response.get_json()["error"]
    assert created == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ('{"items": [}', "the request body is not valid JSON: Expecting value: line 1 column 12"),
        (b"\xff{}", "the request body is not valid JSON: 'utf-8' codec can't decode byte 0xff"),
        ("null", "the request body must be a JSON object"),
    ],
)
def test_a_json_body_that_is_no_object_is_told_where_it_went_wrong(setup, body, error):
    client, created, _ = setup
    response = client.post("/orders/o1", data=body, content_type="application/json", headers=ALICE)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(error)
    assert created == []


def test_a_body_nested_too_deep_for_the_decoder_gets_400(setup):
    client, created, _ = setup
    deep = "[" * 5_000 + "]" * 5_000
    response = client.post("/orders/o1", data=deep, content_type="application/json", headers=ALICE)
    assert response.status_code == 400
    assert response.get_json()["error"] == "the request body's JSON is nested too deeply to read"
    assert created == []


def test_a_body_over_the_limit_gets_413(setup):
    client, created, _ = setup
    items = [{"sku": "x" * 60, "quantity": 1}] * 2000
    response = client.post("/orders/o1", json={"items": items}, headers=ALICE)
    assert response.status_code == 413
    assert "bytes" in response.get_json()["error"]
    assert created == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer not-a-jwt"}, 401),
        ({"Authorization": "Bearer " + LocalIssuer().mint(Principal("customer", "eve"))}, 401),
        ({"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "al"), ttl_s=-120)}, 401),
        (DAN, 403),
    ],
)
def test_unauthenticated_or_unauthorized_callers_change_nothing(setup, headers, status):
    client, created, _ = setup
    response = client.post(
        "/orders/o1", json={"items": [{"sku": "x", "quantity": 1}]}, headers=headers
    )
    assert response.status_code == status
    assert response.get_json()["error"]
    assert created == []


def test_idempotency_key_replays_the_first_response(setup):
    client, created, _ = setup
    headers = {**ALICE, "Idempotency-Key": "k-1"}
    body = {"items": [{"sku": "x", "quantity": 1}]}
    first = client.post("/orders/o1", json=body, headers=headers)
    second = client.post("/orders/o1", json=body, headers=headers)
    assert (first.status_code, first.get_json()) == (second.status_code, second.get_json())
    assert created == ["o1"]
    reused = client.post("/orders/o2", json=body, headers=headers)
    assert reused.status_code == 422
    assert created == ["o1"]


def test_handler_refusals_and_unknown_routes_are_json(setup):
    client, _, _ = setup
    assert refusal(client.get("/orders/x", headers=ALICE)) == {"error": "no order x"}
    assert client.get("/nope").status_code == 404
    assert client.delete("/orders/x", headers=ALICE).status_code == 405
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_openapi_document_describes_every_route(setup):
    client, _, api = setup
    doc = client.get("/openapi.json").get_json()
    assert doc == api.openapi()
    assert doc["openapi"] == "3.1.0"
    post = doc["paths"]["/orders/{order_id}"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PlaceOrder"
    }
    assert {"Item", "PlaceOrder", "OrderView", "Problem"} <= set(doc["components"]["schemas"])
    assert [p["name"] for p in post["parameters"]] == ["order_id", "Idempotency-Key"]
    assert set(post["responses"]) == {
        "201",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "415",
        "422",
        "500",
        "503",
    }
    assert post["responses"]["404"]["description"].startswith("no such order_id")
    assert "Retry-After" in post["responses"]["503"]["description"]


def test_declared_refusals_are_documented_with_the_error_schema():
    api = HttpApi("Refusals", ISSUER, store=InMemoryDocumentStore())

    @api.route(
        "POST",
        "/orders/{order_id}/cancel",
        actors={"customer"},
        idempotent=True,
        refusals={404: "no such order", 422: "the order cannot be cancelled any more"},
    )
    def cancel(caller: Principal, order_id: str) -> dict:
        """Cancel an order."""
        return {}

    responses = api.openapi()["paths"]["/orders/{order_id}/cancel"]["post"]["responses"]
    assert responses["404"]["description"] == "no such order"
    assert responses["422"]["description"] == (
        "the order cannot be cancelled any more; or key reused for another request"
    )
    assert responses["404"]["content"] == responses["400"]["content"]


def test_a_body_sent_to_a_route_that_takes_none_gets_400_and_changes_nothing():
    api = HttpApi("Kitchen", ISSUER, store=InMemoryDocumentStore())
    marked: list[str] = []

    @api.route("POST", "/orders/{order_id}/ready", actors={"customer"})
    def ready(caller: Principal, order_id: str) -> dict:
        """Mark an order ready."""
        marked.append(order_id)
        return {}

    client = api.flask_app().test_client()
    refused = client.post("/orders/o1/ready", json={"readyAt": 1}, headers=ALICE)
    assert refused.status_code == 400
    assert refused.get_json()["fields"] == {"readyAt": "this endpoint takes no request body"}
    not_json = client.post("/orders/o1/ready", data="soon", headers=ALICE)
    assert not_json.status_code == 400
    assert not_json.get_json()["error"] == "this endpoint takes no request body"
    assert marked == []
    for fine in ({"json": {}}, {"data": ""}, {}):
        assert client.post("/orders/o1/ready", headers=ALICE, **fine).status_code == 200
    assert marked == ["o1"] * 3


def test_a_query_string_on_a_route_that_takes_none_gets_400_and_changes_nothing(setup):
    client, created, _ = setup
    response = client.post(
        "/orders/o1?dryRun=true", json={"items": [{"sku": "pizza", "quantity": 1}]}, headers=ALICE
    )
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"dryRun": "this endpoint takes none"}
    assert created == []


class Page(BaseModel):
    status: str | None = None
    limit: int = Field(default=20, ge=1, le=100)


def test_query_parameters_are_typed_validated_and_documented():
    api = HttpApi("Search", ISSUER)
    seen: list[Page] = []

    @api.route("GET", "/orders", actors={"customer"}, query=Page)
    def search(caller: Principal, query: Page) -> dict:
        """Search orders."""
        seen.append(query)
        return {"limit": query.limit}

    client = api.flask_app().test_client()
    assert client.get("/orders?status=new&limit=5", headers=ALICE).get_json() == {"limit": 5}
    assert seen == [Page(status="new", limit=5)]
    refused = client.get("/orders?limit=500", headers=ALICE)
    assert refused.status_code == 400
    assert set(refused.get_json()["fields"]) == {"limit"}
    assert len(seen) == 1

    parameters = api.openapi()["paths"]["/orders"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [
        ("status", "query", False),
        ("limit", "query", False),
    ]
    assert parameters[1]["schema"]["maximum"] == 100


class VerifierDown:
    """A verifier whose signing keys cannot be fetched."""

    def verify(self, token: str) -> Principal:
        raise VerifierUnavailable("the signing keys cannot be fetched")


def test_a_verifier_that_cannot_check_tokens_is_a_json_503_with_retry_after():
    api = HttpApi("Down", VerifierDown(), store=InMemoryDocumentStore())

    @api.route("GET", "/things", actors={"customer"})
    def things(caller: Principal) -> dict:
        """Things."""
        return {}

    response = api.flask_app().test_client().get("/things", headers=ALICE)
    assert response.status_code == 503
    assert response.get_json()["error"] == "the signing keys cannot be fetched"
    assert response.headers["Retry-After"] == str(VERIFIER_RETRY_AFTER_S)
