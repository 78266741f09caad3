"""BFF API kit: what makes two keyed requests the same request, and what a keyed command
answers once it ran."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import HttpApi
from shared.api_models import QueryString
from shared.auth import LocalIssuer, Principal
from shared.exceptions import InvalidDocument, StoreError
from shared.idempotency_keys import COLLECTION
from shared.stores import InMemoryDocumentStore

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class Size(QueryString):
    size: int = 1


class Kitchen:
    """Keyed commands with no body (``ready``) and with a query string (``portions``)."""

    def __init__(self) -> None:
        self.store = InMemoryDocumentStore()
        self.ran: list[str] = []
        api = HttpApi("Kitchen", ISSUER, store=self.store)

        @api.route("POST", "/orders/{order_id}/ready", actors={"customer"}, idempotent=True)
        def ready(caller: Principal, order_id: str) -> dict[str, Any]:
            """Mark an order ready."""
            self.ran.append(order_id)
            return {"ready": order_id, "run": len(self.ran)}

        @api.route(
            "POST", "/portions", actors={"customer"}, status=201, idempotent=True, query=Size
        )
        def portions(caller: Principal, query: Size) -> dict[str, Any]:
            """Cook ``?size=`` portions."""
            self.ran.append(f"size {query.size}")
            return {"size": query.size}

        self.client = api.flask_app().test_client()


def keyed(key: str = "k-1") -> dict[str, str]:
    return {**ALICE, "Idempotency-Key": key}


def test_a_body_too_deep_to_decode_sent_to_a_keyed_route_without_a_body_is_a_400() -> None:
    """A route that takes no body refuses one (its content would be ignored without a word),
    one too deep to decode too, and the refusal does not use up the key."""
    kitchen = Kitchen()
    deep = "[" * 5_000 + "]" * 5_000

    response = kitchen.client.post(
        "/orders/o-1/ready", data=deep, content_type="application/json", headers=keyed()
    )

    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.get_json()["error"] == "this endpoint takes no request body"
    assert kitchen.ran == []
    first = kitchen.client.post("/orders/o-1/ready", headers=keyed())
    retry = kitchen.client.post("/orders/o-1/ready", headers=keyed())
    assert (first.status_code, first.get_json()) == (200, {"ready": "o-1", "run": 1})
    assert (retry.status_code, retry.get_json()) == (200, {"ready": "o-1", "run": 1})
    assert kitchen.ran == ["o-1"]


def test_a_key_reused_with_another_query_string_is_another_request() -> None:
    kitchen = Kitchen()

    first = kitchen.client.post("/portions?size=1", headers=keyed())
    other = kitchen.client.post("/portions?size=2", headers=keyed())
    retry = kitchen.client.post("/portions?size=1", headers=keyed())

    assert (first.status_code, first.get_json()) == (201, {"size": 1})
    assert other.status_code == 422
    assert "different request" in other.get_json()["error"]
    assert (retry.status_code, retry.get_json()) == (201, {"size": 1})
    assert kitchen.ran == ["size 1"]


@pytest.mark.parametrize(
    "failure",
    [
        StoreError("firestore put failed: 503 the service is unavailable"),
        InvalidDocument("body.lines.0", "an array cannot hold an array"),
    ],
)
def test_a_command_that_ran_answers_even_when_its_answer_cannot_be_kept(
    monkeypatch: pytest.MonkeyPatch, failure: StoreError
) -> None:
    kitchen = Kitchen()
    put = kitchen.store.put

    def put_failing_for_answers(collection: str, key: str, data: dict[str, Any]) -> None:
        if collection == COLLECTION:
            raise failure
        put(collection, key, data)

    monkeypatch.setattr(kitchen.store, "put", put_failing_for_answers)

    response = kitchen.client.post("/orders/o-1/ready", headers=keyed())

    # the order is ready: a 503 ("retry") or 400 ("invalid request") would be untrue
    assert (response.status_code, response.get_json()) == (200, {"ready": "o-1", "run": 1})
    assert kitchen.ran == ["o-1"]
