"""BFF API kit: an ``Idempotency-Key`` is reserved while its request runs, so it runs once."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from shared.api import HttpApi, HttpError
from shared.auth import LocalIssuer, Principal
from shared.idempotency_keys import (
    COLLECTION,
    EXPIRES,
    KEEP_ANSWER_S,
    RESERVATION_TIMEOUT_S,
    fingerprint,
)
from shared.stores import InMemoryDocumentStore

ISSUER = LocalIssuer()
HEADERS = {
    "Authorization": f"Bearer {ISSUER.mint(Principal('customer', 'alice'))}",
    "Idempotency-Key": "k-1",
}


class PlaceOrder(BaseModel):
    note: str | None = None


class Orders:
    """A keyed command whose handler can be held inside, or made to fail once."""

    def __init__(self) -> None:
        self.store = InMemoryDocumentStore()
        self.ran = 0
        self.inside, self.release = threading.Event(), threading.Event()
        self.hold = False
        self.fail_next = False
        api = HttpApi("Orders", ISSUER, store=self.store)

        @api.route(
            "POST", "/orders", actors={"customer"}, body=PlaceOrder, status=201, idempotent=True
        )
        def place(caller: Principal, body: PlaceOrder) -> dict[str, Any]:
            """Place an order."""
            self.ran += 1
            if self.hold:
                self.inside.set()
                assert self.release.wait(10)
            if self.fail_next:
                self.fail_next = False
                raise HttpError(503, "the kitchen is busy")
            return {"order": f"o-{self.ran}"}

        self.client = api.flask_app().test_client()

    def post(self, body: dict[str, Any] | None = None) -> Any:
        return self.client.post("/orders", json=body or {}, headers=HEADERS)


def test_a_retry_while_the_first_request_runs_is_refused_and_runs_nothing() -> None:
    orders = Orders()
    orders.hold = True
    first: list[Any] = []
    running = threading.Thread(target=lambda: first.append(orders.post()))
    running.start()
    assert orders.inside.wait(10)

    retry = orders.post()
    other = orders.post({"note": "another request"})

    orders.release.set()
    running.join(10)
    assert retry.status_code == 409 and "still running" in retry.get_json()["error"]
    assert retry.headers["Retry-After"] == "1"
    assert other.status_code == 422
    assert "Retry-After" not in other.headers
    assert first[0].status_code == 201 and first[0].get_json() == {"order": "o-1"}
    assert orders.ran == 1
    again = orders.post()
    assert (again.status_code, again.get_json()) == (201, {"order": "o-1"})
    assert orders.ran == 1


def test_a_request_that_failed_frees_its_key_for_the_retry() -> None:
    orders = Orders()
    orders.fail_next = True

    assert orders.post().status_code == 503
    retry = orders.post()

    assert (retry.status_code, retry.get_json()) == (201, {"order": "o-2"})
    assert orders.ran == 2


def test_a_reservation_abandoned_by_a_dead_request_is_taken_over() -> None:
    orders = Orders()
    doc_key = hashlib.sha256(json.dumps(["customer", "alice", "k-1"]).encode()).hexdigest()
    request = fingerprint("POST", "/orders", {}, {})
    dead_at = int(time.time() * 1000) - (RESERVATION_TIMEOUT_S + 1) * 1000
    orders.store.put(
        COLLECTION,
        doc_key,
        {"fingerprint": request, "status": None, "body": None, "reservedAt": dead_at},
    )

    retry = orders.post()

    assert (retry.status_code, retry.get_json()) == (201, {"order": "o-1"})
    assert orders.store.get(COLLECTION, doc_key)["status"] == 201  # type: ignore[index]


@pytest.mark.parametrize("age_s", [0, RESERVATION_TIMEOUT_S - 5])
def test_a_recent_reservation_is_not_taken_over(age_s: int) -> None:
    orders = Orders()
    doc_key = hashlib.sha256(json.dumps(["customer", "alice", "k-1"]).encode()).hexdigest()
    request = fingerprint("POST", "/orders", {}, {})
    reserved_at = int(time.time() * 1000) - age_s * 1000
    orders.store.put(
        COLLECTION,
        doc_key,
        {"fingerprint": request, "status": None, "body": None, "reservedAt": reserved_at},
    )

    assert orders.post().status_code == 409
    assert orders.ran == 0


def test_an_answer_is_kept_for_a_day_then_the_key_runs_again() -> None:
    orders = Orders()
    first = orders.post()
    doc_key = hashlib.sha256(json.dumps(["customer", "alice", "k-1"]).encode()).hexdigest()
    stored = orders.store.get(COLLECTION, doc_key)
    assert stored is not None
    kept_for = stored[EXPIRES] - datetime.now(UTC)
    assert timedelta(seconds=KEEP_ANSWER_S - 60) < kept_for <= timedelta(seconds=KEEP_ANSWER_S)

    # a day later Firestore may not have deleted it yet: it is used as if it were gone
    orders.store.put(COLLECTION, doc_key, {**stored, EXPIRES: datetime.now(UTC)})
    again = orders.post()

    assert first.get_json() == {"order": "o-1"}
    assert (again.status_code, again.get_json()) == (201, {"order": "o-2"})
