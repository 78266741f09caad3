"""The fake payment processor: authorizations, state rules, idempotency, auth, faults."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from fakes.payment_processor import DEFAULT_API_KEY, DEFAULT_KEY_RETENTION_S, create_app
from fakes.web import new_id

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
ORDER = {"amount": 2450, "currency": "EUR", "paymentMethod": "pm_card_visa", "reference": "o-1"}


@pytest.fixture
def client() -> FlaskClient:
    return create_app().test_client()


def authorize(client: FlaskClient, key: str = "o-1:authorize", **changes: Any) -> TestResponse:
    return client.post(
        "/v1/authorizations", json={**ORDER, **changes}, headers={**AUTH, "Idempotency-Key": key}
    )


def act(client: FlaskClient, auth_id: str, action: str, key: str | None = None) -> TestResponse:
    key = key or f"{auth_id}:{action}"
    return client.post(
        f"/v1/authorizations/{auth_id}/{action}", headers={**AUTH, "Idempotency-Key": key}
    )


def test_authorize_answers_201_with_the_authorization(client: FlaskClient) -> None:
    response = authorize(client)

    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("auth_")
    assert body == {
        "id": body["id"],
        "status": "authorized",
        "amount": 2450,
        "currency": "EUR",
        "reference": "o-1",
        "authorizedAt": body["authorizedAt"],
    }
    assert "Idempotent-Replayed" not in response.headers


def test_authorizations_are_stamped_by_the_given_clock_and_keep_their_time() -> None:
    now = [1_767_225_600.0]
    client = create_app(now_s=lambda: now[0]).test_client()
    first = authorize(client).get_json()
    now[0] += 60
    auth_id = first["id"]

    assert first["authorizedAt"] == "2026-01-01T00:00:00.000Z"
    assert authorize(client).get_json()["authorizedAt"] == "2026-01-01T00:00:00.000Z"
    captured = act(client, auth_id, "capture").get_json()
    assert captured["authorizedAt"] == "2026-01-01T00:00:00.000Z"
    operations = client.get(f"/v1/authorizations/{auth_id}", headers=AUTH).get_json()
    assert [op["at"] for op in operations["operations"]] == [
        "2026-01-01T00:00:00.000Z",
        "2026-01-01T00:01:00.000Z",
    ]


def test_a_retry_with_the_same_key_replays_and_authorizes_once(client: FlaskClient) -> None:
    first = authorize(client)
    second = authorize(client)

    assert second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/v1/authorizations?reference=o-1", headers=AUTH).get_json()
    assert [a["id"] for a in listed["authorizations"]] == [first.get_json()["id"]]


def test_the_same_key_with_a_different_body_is_422(client: FlaskClient) -> None:
    authorize(client)

    response = authorize(client, amount=9999)

    assert response.status_code == 422
    assert response.get_json() == {
        "error": "Idempotency-Key was already used with a different request",
        "code": "idempotency_key_reused",
    }


def test_concurrent_retries_authorize_once(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_new_id(prefix: str) -> str:
        time.sleep(0.05)
        return new_id(prefix)

    monkeypatch.setattr("fakes.payment_processor.ledger.new_id", slow_new_id)
    app = client.application
    answers: list[TestResponse] = []
    threads = [
        threading.Thread(target=lambda: answers.append(authorize(app.test_client())))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # a retry overlapping the first attempt is 409 (key in use), a later one its replay
    assert {a.status_code for a in answers} <= {201, 409}
    created = [a for a in answers if a.status_code == 201]
    assert sum("Idempotent-Replayed" not in a.headers for a in created) == 1
    [authorization_id] = {a.get_json()["id"] for a in created}
    again = authorize(client)
    assert (again.status_code, again.get_json()["id"]) == (201, authorization_id)
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/v1/authorizations", headers=AUTH).get_json()
    assert len(listed["authorizations"]) == 1


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer sk_wrong"}, {"Authorization": DEFAULT_API_KEY}]
)
def test_a_missing_or_wrong_key_is_401(client: FlaskClient, headers: dict[str, str]) -> None:
    posted = client.post(
        "/v1/authorizations", json=ORDER, headers={**headers, "Idempotency-Key": "k"}
    )
    read = client.get("/v1/authorizations", headers=headers)

    assert posted.status_code == read.status_code == 401
    assert posted.get_json() == {
        "error": "missing or invalid API key (Authorization: Bearer <key>)"
    }
    assert posted.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/v1/authorizations", headers=AUTH).get_json() == {
        "authorizations": [],
        "hasMore": False,
    }


def test_the_api_key_is_configurable() -> None:
    client = create_app(api_key="sk_other").test_client()

    assert client.get("/v1/authorizations", headers=AUTH).status_code == 401
    ok = client.get("/v1/authorizations", headers={"Authorization": "Bearer sk_other"})
    assert ok.status_code == 200


def test_mutations_without_an_idempotency_key_are_400(client: FlaskClient) -> None:
    auth_id = authorize(client).get_json()["id"]

    posted = client.post("/v1/authorizations", json=ORDER, headers=AUTH)
    captured = client.post(f"/v1/authorizations/{auth_id}/capture", headers=AUTH)

    assert posted.status_code == captured.status_code == 400
    assert posted.get_json() == {"error": "the Idempotency-Key header is required"}
    assert client.get(f"/v1/authorizations/{auth_id}", headers=AUTH).get_json()["status"] == (
        "authorized"
    )


def test_bad_bodies_are_400_with_a_message_per_field(client: FlaskClient) -> None:
    response = authorize(client, amount=0, currency="eur", reference="", extra=1)

    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert set(fields) == {"amount", "currency", "reference", "extra"}
    assert fields["amount"] == "Input should be greater than 0"
    assert response.get_json()["error"].startswith("invalid request: amount: ")
    # a refused body does not use up the key
    assert authorize(client).status_code == 201


def test_amounts_must_be_json_integers(client: FlaskClient) -> None:
    assert authorize(client, amount="2450").status_code == 400
    assert authorize(client, amount=24.5).status_code == 400
    assert authorize(client, amount=True).status_code == 400


@pytest.mark.parametrize(
    ("amount", "currency", "code", "error"),
    [
        (100_000_000, "EUR", "amount_too_large", "amount must be at most 99999999 EUR minor units"),
        (49, "EUR", "amount_too_small", "amount must be at least 50 EUR minor units"),
        (49, "USD", "amount_too_small", "amount must be at least 50 USD minor units"),
        (29, "GBP", "amount_too_small", "amount must be at least 30 GBP minor units"),
    ],
)
def test_an_amount_the_processor_cannot_charge_is_400_with_a_code(
    client: FlaskClient, amount: int, currency: str, code: str, error: str
) -> None:
    # as Stripe: at most 8 digits in the smallest unit, at least its minimum charge (50 cents)
    response = authorize(client, amount=amount, currency=currency)

    assert response.status_code == 400
    assert response.get_json() == {"error": error, "code": code}
    assert client.get("/v1/authorizations?reference=o-1", headers=AUTH).get_json() == {
        "authorizations": [],
        "hasMore": False,
    }
    # a refused amount does not use up the key
    assert authorize(client).status_code == 201


@pytest.mark.parametrize(("amount", "currency"), [(99_999_999, "EUR"), (50, "EUR"), (30, "GBP")])
def test_the_amounts_at_the_limits_are_authorized(
    client: FlaskClient, amount: int, currency: str
) -> None:
    assert authorize(client, amount=amount, currency=currency).status_code == 201


def test_a_body_that_is_not_a_json_object_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/v1/authorizations", data="amount=1", headers={**AUTH, "Idempotency-Key": "k"}
    )

    assert response.status_code == 400
    assert response.get_json()["error"].startswith("the body must be a JSON object")


def test_the_declined_card_is_402_and_replayed(client: FlaskClient) -> None:
    first = authorize(client, paymentMethod="pm_card_declined")
    second = authorize(client, paymentMethod="pm_card_declined")

    assert first.status_code == second.status_code == 402
    assert first.get_json() == {"error": "the card was declined", "code": "card_declined"}
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert client.get("/v1/authorizations", headers=AUTH).get_json() == {
        "authorizations": [],
        "hasMore": False,
    }


@pytest.mark.parametrize(
    ("steps", "status"),
    [(["capture"], "captured"), (["void"], "voided"), (["capture", "refund"], "refunded")],
)
def test_allowed_transitions(client: FlaskClient, steps: list[str], status: str) -> None:
    authorized = authorize(client).get_json()
    auth_id = authorized["id"]

    for step in steps:
        response = act(client, auth_id, step)

    assert response.status_code == 200
    assert response.get_json() == {
        "id": auth_id,
        "status": status,
        "amount": 2450,
        "currency": "EUR",
        "reference": "o-1",
        "authorizedAt": authorized["authorizedAt"],
    }


@pytest.mark.parametrize(
    ("steps", "refused", "message"),
    [
        (["void"], "capture", "cannot capture a voided authorization"),
        (["capture"], "void", "cannot void a captured authorization"),
        ([], "refund", "cannot refund an authorized authorization"),
        (["void"], "refund", "cannot refund a voided authorization"),
        (["capture", "refund"], "capture", "cannot capture a refunded authorization"),
        (["capture"], "capture", "cannot capture a captured authorization"),
    ],
)
def test_wrong_state_is_409_and_changes_nothing(
    client: FlaskClient, steps: list[str], refused: str, message: str
) -> None:
    auth_id = authorize(client).get_json()["id"]
    for step in steps:
        act(client, auth_id, step)
    before = client.get(f"/v1/authorizations/{auth_id}", headers=AUTH).get_json()

    response = act(client, auth_id, refused, key="another-key")

    assert response.status_code == 409
    assert response.get_json() == {"error": message, "code": "invalid_state"}
    assert client.get(f"/v1/authorizations/{auth_id}", headers=AUTH).get_json() == before


def test_unknown_authorizations_are_404(client: FlaskClient) -> None:
    assert act(client, "auth_nope", "capture").status_code == 404
    response = client.get("/v1/authorizations/auth_nope", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == {"error": "no authorization auth_nope"}


def test_operations_list_each_effective_operation_once(client: FlaskClient) -> None:
    auth_id = authorize(client).get_json()["id"]
    authorize(client)
    first = act(client, auth_id, "capture", key="o-1:capture")
    replay = act(client, auth_id, "capture", key="o-1:capture")
    act(client, auth_id, "refund", key="o-1:refund")

    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    body = client.get(f"/v1/authorizations/{auth_id}", headers=AUTH).get_json()
    assert body["status"] == "refunded"
    assert [(op["kind"], op["idempotencyKey"]) for op in body["operations"]] == [
        ("authorize", "o-1:authorize"),
        ("capture", "o-1:capture"),
        ("refund", "o-1:refund"),
    ]
    assert all(op["at"].endswith("Z") for op in body["operations"])


def test_a_replay_answers_as_the_first_time_even_after_later_changes(
    client: FlaskClient,
) -> None:
    auth_id = authorize(client).get_json()["id"]
    act(client, auth_id, "capture", key="cap")
    act(client, auth_id, "refund", key="ref")

    replay = act(client, auth_id, "capture", key="cap")

    assert replay.status_code == 200
    assert replay.get_json()["status"] == "captured"


def test_one_key_cannot_serve_two_operations(client: FlaskClient) -> None:
    auth_id = authorize(client).get_json()["id"]
    act(client, auth_id, "capture", key="shared-key")

    assert act(client, auth_id, "refund", key="shared-key").status_code == 422


def test_search_by_reference(client: FlaskClient) -> None:
    one = authorize(client, key="a", reference="o-1").get_json()["id"]
    authorize(client, key="b", reference="o-2")
    three = authorize(client, key="c", reference="o-1").get_json()["id"]

    found = client.get("/v1/authorizations?reference=o-1", headers=AUTH).get_json()
    everything = client.get("/v1/authorizations", headers=AUTH).get_json()

    assert [a["id"] for a in found["authorizations"]] == [one, three]
    assert found["authorizations"][0]["operations"][0]["kind"] == "authorize"
    assert len(everything["authorizations"]) == 3


def test_a_search_answers_page_by_page(client: FlaskClient) -> None:
    ids = [authorize(client, key=f"k-{n}", reference="o-1").get_json()["id"] for n in range(12)]

    def page(query: str) -> dict[str, Any]:
        response = client.get(f"/v1/authorizations?reference=o-1{query}", headers=AUTH)
        assert response.status_code == 200, response.get_json()
        found: dict[str, Any] = response.get_json()
        return found

    first = page("")  # ten, unless told
    assert ([a["id"] for a in first["authorizations"]], first["hasMore"]) == (ids[:10], True)
    rest = page(f"&startingAfter={ids[9]}")
    assert ([a["id"] for a in rest["authorizations"]], rest["hasMore"]) == (ids[10:], False)
    few = page(f"&limit=5&startingAfter={ids[4]}")
    assert ([a["id"] for a in few["authorizations"]], few["hasMore"]) == (ids[5:10], True)
    assert page("&limit=100")["authorizations"][-1]["id"] == ids[-1]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=ten", "startingAfter=auth-x"])
def test_a_page_asked_for_wrongly_is_400(client: FlaskClient, query: str) -> None:
    authorize(client)

    response = client.get(f"/v1/authorizations?reference=o-1&{query}", headers=AUTH)

    assert response.status_code == 400
    assert "error" in response.get_json()


@pytest.mark.parametrize("after", [False, True], ids=["before-its-work", "after-its-work"])
def test_a_failure_inside_is_kept_under_its_key_until_the_key_is_pruned(after: bool) -> None:
    now = [1_767_225_600.0]
    client = create_app(now_s=lambda: now[0]).test_client()
    armed = client.post("/_fake/fail-inside", json={"count": 1, "after": after})
    assert armed.get_json() == {"count": 1, "status": 500, "after": after}

    first, again = authorize(client), authorize(client)

    # a request that began to run keeps its 5xx, as Stripe's do: every retry gets it replayed
    assert first.status_code == again.status_code == 500
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    held = client.get("/v1/authorizations?reference=o-1", headers=AUTH).get_json()
    assert len(held["authorizations"]) == (1 if after else 0)
    assert authorize(client, key="another").status_code == 201  # the switch is spent
    # until the key is pruned: then the request runs anew
    now[0] += DEFAULT_KEY_RETENTION_S
    assert authorize(client).status_code == 201


def test_a_failure_before_an_authorization_runs_is_not_kept(client: FlaskClient) -> None:
    client.post("/_fake/fail-next", json={"count": 1, "status": 503})

    assert authorize(client).status_code == 503
    assert authorize(client).status_code == 201


def test_fail_next_fails_requests_before_they_change_anything(client: FlaskClient) -> None:
    armed = client.post("/_fake/fail-next", json={"count": 2, "status": 503})
    assert armed.status_code == 200
    assert armed.get_json() == {"count": 2, "status": 503}

    first = authorize(client)
    second = client.get("/v1/authorizations", headers=AUTH)
    third = authorize(client)

    assert first.status_code == second.status_code == 503
    assert first.get_json() == {"error": "injected failure: this request was failed with 503"}
    assert third.status_code == 201
    assert "Idempotent-Replayed" not in third.headers
    assert client.get("/healthz").status_code == 200


def test_fail_next_can_be_cleared_and_validates_its_body(client: FlaskClient) -> None:
    client.post("/_fake/fail-next", json={"count": 1, "status": 500})
    client.post("/_fake/fail-next", json={"count": 0, "status": 500})
    bad = client.post("/_fake/fail-next", json={"count": -1, "status": 200})

    assert authorize(client).status_code == 201
    assert bad.status_code == 400
    assert set(bad.get_json()["fields"]) == {"count", "status"}


def test_unknown_routes_answer_json(client: FlaskClient) -> None:
    response = client.get("/v2/nothing", headers=AUTH)

    assert response.status_code == 404
    assert response.get_json() == {"error": "no route for GET /v2/nothing"}
    assert client.delete("/v1/authorizations", headers=AUTH).status_code == 405


def test_a_crash_answers_500_in_json_and_does_not_use_up_the_key(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(prefix: str) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr("fakes.payment_processor.ledger.new_id", crash)
    crashed = authorize(client)
    monkeypatch.setattr("fakes.payment_processor.ledger.new_id", new_id)
    retried = authorize(client)

    assert crashed.status_code == 500
    assert crashed.get_json() == {"error": "the fake failed unexpectedly; see its log"}
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers


def test_a_key_is_kept_a_day_then_its_request_runs_again() -> None:
    now = [1_767_225_600.0]
    client = create_app(now_s=lambda: now[0]).test_client()
    first = authorize(client).get_json()

    now[0] += DEFAULT_KEY_RETENTION_S - 1
    replayed = authorize(client)
    now[0] += 1
    again = authorize(client)

    assert DEFAULT_KEY_RETENTION_S == 24 * 60 * 60
    assert replayed.get_json() == first
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] != first["id"]
    listed = client.get("/v1/authorizations?reference=o-1", headers=AUTH).get_json()
    assert [a["id"] for a in listed["authorizations"]] == [first["id"], again.get_json()["id"]]
    # the new first use is kept a day in turn
    assert authorize(client).get_json() == again.get_json()


def test_a_pruned_key_may_carry_another_request_and_a_settlement_runs_again() -> None:
    now = [1_767_225_600.0]
    client = create_app(now_s=lambda: now[0], key_retention_s=60).test_client()
    auth_id = authorize(client).get_json()["id"]
    assert act(client, auth_id, "void", key="k").status_code == 200
    assert authorize(client, paymentMethod="pm_card_amex").status_code == 422

    now[0] += 60

    assert authorize(client, paymentMethod="pm_card_amex").status_code == 201
    again = act(client, auth_id, "void", key="k")
    assert again.status_code == 409
    assert again.get_json()["code"] == "invalid_state"


def test_keys_kept_for_good_when_told() -> None:
    now = [1_767_225_600.0]
    client = create_app(now_s=lambda: now[0], key_retention_s=None).test_client()
    first = authorize(client).get_json()
    now[0] += 365 * DEFAULT_KEY_RETENTION_S

    assert authorize(client).get_json() == first


@pytest.mark.parametrize("retention", [0, -1.0])
def test_a_key_retention_must_be_positive(retention: float) -> None:
    with pytest.raises(ValueError, match="key retention must be positive"):
        create_app(key_retention_s=retention)


def test_the_command_line_sets_the_key_retention() -> None:
    from fakes.payment_processor.__main__ import parser

    assert parser.parse_args([]).key_retention_s == DEFAULT_KEY_RETENTION_S
    assert parser.parse_args(["--key-retention-s", "90"]).key_retention_s == 90.0
