"""The fake push provider: messages kept once per idempotency key, searchable."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from fakes.push_provider import DEFAULT_API_KEY, create_app
from fakes.push_provider.outbox import MAX_DATA_BYTES, MessageRequest, Outbox

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


@pytest.fixture
def client() -> FlaskClient:
    return create_app().test_client()


def message(kind: str = "customer", recipient: str = "c-ref-1", **changes: Any) -> dict[str, Any]:
    return {
        "to": {"kind": kind, "id": recipient},
        "title": "Your order is on its way",
        "body": "Dan picked it up.",
        "data": {"orderId": "o-1"},
        **changes,
    }


def send(client: FlaskClient, body: dict[str, Any], key: str = "o-1:picked-up") -> TestResponse:
    return client.post("/v1/messages", json=body, headers={**AUTH, "Idempotency-Key": key})


def messages(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/v1/messages{query}", headers=AUTH)
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.get_json()["messages"]
    return found


def test_a_message_is_accepted_and_kept(client: FlaskClient) -> None:
    response = send(client, message())

    assert response.status_code == 202
    message_id = response.get_json()["id"]
    assert message_id.startswith("msg_")
    assert response.get_json() == {"id": message_id}
    [kept] = messages(client)
    assert kept == {
        "id": message_id,
        "to": {"kind": "customer", "id": "c-ref-1"},
        "title": "Your order is on its way",
        "body": "Dan picked it up.",
        "data": {"orderId": "o-1"},
        "idempotencyKey": "o-1:picked-up",
        "at": kept["at"],
    }
    assert kept["at"].endswith("Z")


def test_data_is_optional(client: FlaskClient) -> None:
    body = message()
    del body["data"]

    assert send(client, body).status_code == 202
    assert messages(client)[0]["data"] == {}


def test_a_retry_gets_the_same_id_and_is_not_sent_twice(client: FlaskClient) -> None:
    first = send(client, message())
    again = send(client, message())

    assert again.status_code == 202
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(messages(client)) == 1


def test_the_same_key_with_another_message_is_422(client: FlaskClient) -> None:
    send(client, message())

    response = send(client, message(title="Something else"))

    assert response.status_code == 422
    assert len(messages(client)) == 1


def test_the_idempotency_key_is_required(client: FlaskClient) -> None:
    response = client.post("/v1/messages", json=message(), headers=AUTH)

    assert response.status_code == 400
    assert response.get_json() == {"error": "the Idempotency-Key header is required"}
    assert messages(client) == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk_test_fooddelivery"}])
def test_the_api_key_is_required(client: FlaskClient, headers: dict[str, str]) -> None:
    posted = client.post(
        "/v1/messages", json=message(), headers={**headers, "Idempotency-Key": "k"}
    )
    read = client.get("/v1/messages", headers=headers)

    assert posted.status_code == read.status_code == 401
    assert messages(client) == []


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"to": {"kind": "restaurant", "id": "r-1"}}, "to.kind"),
        ({"to": {"kind": "driver", "id": ""}}, "to.id"),
        ({"title": ""}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"body": "x" * 501}, "body"),
        ({"data": {"count": 3}}, "data.count"),
        ({"sound": "ding"}, "sound"),
    ],
)
def test_bad_messages_are_400_per_field(
    client: FlaskClient, changes: dict[str, Any], field_name: str
) -> None:
    response = send(client, message(**changes))

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [field_name]
    assert messages(client) == []


def test_limits_are_inclusive(client: FlaskClient) -> None:
    response = send(client, message(title="t" * 120, body="b" * 500))

    assert response.status_code == 202


def test_data_over_a_push_payload_is_400_as_push_services_refuse_it(
    client: FlaskClient,
) -> None:
    """A gateway whose data fits the fake must fit FCM's and APNs' 4 KiB too."""
    fits = {"orderId": "o-1", "note": "é" * ((MAX_DATA_BYTES - len("orderIdo-1note")) // 2)}
    too_much = {**fits, "x": "y"}

    refused = send(client, message(data=too_much), key="too-much")
    accepted = send(client, message(data=fits), key="fits")

    assert refused.status_code == 400
    assert list(refused.get_json()["fields"]) == ["data"]
    assert f"at most {MAX_DATA_BYTES} bytes" in refused.get_json()["fields"]["data"]
    assert accepted.status_code == 202
    assert [m["data"] for m in messages(client)] == [fits]


def test_messages_are_searchable_in_arrival_order(client: FlaskClient) -> None:
    send(client, message("customer", "c-1", title="one"), key="1")
    send(client, message("driver", "d-1", title="two"), key="2")
    send(client, message("customer", "c-2", title="three"), key="3")
    send(client, message("customer", "c-1", title="four"), key="4")

    def titles(query: str) -> list[str]:
        return [m["title"] for m in messages(client, query)]

    assert titles("") == ["one", "two", "three", "four"]
    assert titles("?kind=customer") == ["one", "three", "four"]
    assert titles("?kind=customer&id=c-1") == ["one", "four"]
    assert titles("?kind=driver") == ["two"]
    assert titles("?id=d-1") == ["two"]
    assert titles("?kind=driver&id=c-1") == []


def test_an_unknown_kind_filter_is_400(client: FlaskClient) -> None:
    response = client.get("/v1/messages?kind=robot", headers=AUTH)

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["kind"]


def test_fail_next(client: FlaskClient) -> None:
    client.post("/_fake/fail-next", json={"count": 1, "status": 500})

    failed = send(client, message())
    retried = send(client, message())

    assert failed.status_code == 500
    assert retried.status_code == 202
    assert "Idempotent-Replayed" not in retried.headers
    assert len(messages(client)) == 1


def test_a_recipient_with_no_device_is_404_with_a_code_and_nothing_kept(
    client: FlaskClient,
) -> None:
    gone = client.post("/_fake/unregistered", json={"kind": "driver", "id": "d-1"})

    refused = send(client, message("driver", "d-1"), key="1")
    again = send(client, message("driver", "d-1"), key="1")
    other = send(client, message("customer", "d-1"), key="2")

    assert gone.get_json() == {"kind": "driver", "id": "d-1"}
    assert (refused.status_code, refused.get_json()["code"]) == (404, "recipient_unregistered")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (404, "true")
    assert other.status_code == 202
    assert [m["to"] for m in messages(client)] == [{"kind": "customer", "id": "d-1"}]


def test_a_key_is_kept_a_day_then_its_message_is_sent_again() -> None:
    now = [1_767_225_600.0]
    client = create_app(now_s=lambda: now[0]).test_client()
    first = send(client, message()).get_json()["id"]

    now[0] += 24 * 60 * 60 - 1
    replayed = send(client, message())
    now[0] += 1
    again = send(client, message())

    assert replayed.get_json()["id"] == first
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert again.status_code == 202
    assert "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] != first
    assert [m["id"] for m in messages(client)] == [again.get_json()["id"]]  # the first's day is up


def test_keys_are_kept_for_good_when_told() -> None:
    now = [1_767_225_600.0]
    client = create_app(now_s=lambda: now[0], key_retention_s=None).test_client()
    first = send(client, message()).get_json()["id"]
    now[0] += 365 * 24 * 60 * 60

    assert send(client, message()).get_json()["id"] == first


def test_the_command_line_sets_the_key_retention() -> None:
    from fakes.push_provider.__main__ import parser

    assert parser.parse_args([]).key_retention_s == 24 * 60 * 60
    assert parser.parse_args(["--key-retention-s", "90"]).key_retention_s == 90.0


def test_a_message_is_listed_as_long_as_its_key_is_kept() -> None:
    now = [1_767_225_600.0]
    client = create_app(now_s=lambda: now[0], key_retention_s=60).test_client()
    for n in range(100):
        send(client, message(), key=f"k-{n}")
        now[0] += 1

    listed = messages(client)
    assert [m["idempotencyKey"] for m in listed] == [f"k-{n}" for n in range(41, 100)]
    now[0] += 60
    assert messages(client) == []


def test_the_outbox_drops_messages_past_their_time_as_messages_come() -> None:
    now = [1_767_225_600.0]
    outbox = Outbox(60, lambda: now[0])
    request = MessageRequest.model_validate(message())
    for n in range(100):
        outbox.add(request, f"k-{n}")
        now[0] += 1
    assert len(outbox) == 60

    now[0] += 60
    outbox.add(request, "late")

    assert len(outbox) == 1
    assert [m.idempotency_key for m in outbox.find()] == ["late"]
