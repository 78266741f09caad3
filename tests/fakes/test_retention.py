"""What the fakes remember, and for how long: uncaptured authorizations expire after 7 days by
the fake's clock (and the payment gateway takes the refusal for what it is); each fake holds
its last records only, the oldest forgotten first."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from customer.payment_esg.processor import HttpPaymentProcessor, InAnotherState
from fakes import payment_processor, point_of_sale, push_provider
from fakes.point_of_sale.callbacks import CallbackFailed, Callbacks
from fakes.point_of_sale.models import OrderRequest
from fakes.point_of_sale.orders import PointOfSale
from fakes.push_provider.outbox import MessageRequest, Outbox, Recipient
from fakes.retention import AUTHORIZATION_TTL_S, MAX_RECORDS
from shared.http import WsgiTransport, http_session
from shared.runtime.secrets import Secret

PAYMENTS = {"Authorization": f"Bearer {payment_processor.DEFAULT_API_KEY}"}
PUSH = {"Authorization": f"Bearer {push_provider.DEFAULT_API_KEY}"}
POS = {"Authorization": f"Bearer {point_of_sale.DEFAULT_API_KEY}"}
START_S = 1_767_225_600.0
WEEK_S = 7 * 24 * 60 * 60


class Clock:
    """A fake's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = START_S

    def __call__(self) -> float:
        return self.now


def authorize(client: FlaskClient, reference: str = "o-1") -> str:
    body = {"amount": 2450, "currency": "EUR", "paymentMethod": "pm_card_visa"}
    response = client.post(
        "/v1/authorizations",
        json={**body, "reference": reference},
        headers={**PAYMENTS, "Idempotency-Key": f"{reference}:authorize"},
    )
    assert response.status_code == 201
    authorization_id: str = response.get_json()["id"]
    return authorization_id


def act(client: FlaskClient, authorization_id: str, action: str) -> TestResponse:
    key = f"{authorization_id}:{action}"
    return client.post(
        f"/v1/authorizations/{authorization_id}/{action}",
        headers={**PAYMENTS, "Idempotency-Key": key},
    )


def test_authorizations_expire_after_7_days_as_stripe_lets_them_lapse() -> None:
    assert AUTHORIZATION_TTL_S == WEEK_S
    assert payment_processor.AUTHORIZATION_TTL_S == WEEK_S


@pytest.mark.parametrize("action", ["capture", "void"])
def test_an_expired_authorization_is_refused_409_invalid_state(action: str) -> None:
    clock = Clock()
    client = payment_processor.create_app(now_s=clock).test_client()
    authorization_id = authorize(client)

    clock.now += WEEK_S
    refused = act(client, authorization_id, action)

    assert refused.status_code == 409
    assert refused.get_json() == {
        "error": f"cannot {action} an expired authorization",
        "code": "invalid_state",
    }
    read = client.get(f"/v1/authorizations/{authorization_id}", headers=PAYMENTS).get_json()
    assert read["status"] == "expired"
    assert read["operations"][1:] == [
        {"kind": "expire", "at": "2026-01-08T00:00:00.000Z", "idempotencyKey": None}
    ]
    listed = client.get("/v1/authorizations?reference=o-1", headers=PAYMENTS).get_json()
    assert [a["status"] for a in listed["authorizations"]] == ["expired"]


def test_an_authorization_is_captured_until_its_last_moment() -> None:
    clock = Clock()
    client = payment_processor.create_app(now_s=clock).test_client()
    authorization_id = authorize(client)

    clock.now += WEEK_S - 0.001
    captured = act(client, authorization_id, "capture")
    clock.now += 30 * 24 * 60 * 60

    assert captured.status_code == 200
    read = client.get(f"/v1/authorizations/{authorization_id}", headers=PAYMENTS).get_json()
    assert read["status"] == "captured"  # settled: it expires no more
    assert act(client, authorization_id, "refund").status_code == 200


def test_authorizations_never_expire_when_told() -> None:
    clock = Clock()
    client = payment_processor.create_app(now_s=clock, authorization_ttl_s=None).test_client()
    authorization_id = authorize(client)

    clock.now += 365 * 24 * 60 * 60

    assert act(client, authorization_id, "capture").status_code == 200


def test_the_payment_gateway_takes_an_expired_authorization_for_a_refusal() -> None:
    clock = Clock()
    app = payment_processor.create_app(now_s=clock)
    url = "http://payments.test"
    session = http_session({url: WsgiTransport(app)})
    key = Secret.given("PAYMENT_PROCESSOR_KEY", payment_processor.DEFAULT_API_KEY)
    processor = HttpPaymentProcessor(session, url, key)
    authorization_id = authorize(app.test_client())
    clock.now += WEEK_S

    with pytest.raises(InAnotherState) as refused:
        processor.settle(authorization_id, "capture", idempotency_key="o-1:capture")

    assert refused.value.status == "expired"
    assert "409 cannot capture an expired authorization" in str(refused.value)


def test_the_processor_holds_its_last_authorizations() -> None:
    client = payment_processor.create_app(max_authorizations=2).test_client()
    first, second, third = (authorize(client, f"o-{n}") for n in (1, 2, 3))

    gone = client.get(f"/v1/authorizations/{first}", headers=PAYMENTS)
    listed = client.get("/v1/authorizations", headers=PAYMENTS).get_json()

    assert gone.status_code == 404
    assert gone.get_json() == {"error": f"no authorization {first}"}
    assert [a["id"] for a in listed["authorizations"]] == [second, third]
    assert act(client, second, "capture").status_code == 200


def test_the_processor_forgets_settled_authorizations_before_one_holding_money() -> None:
    # The oldest went whatever its status: payment-esg took the 404 of one it still held
    # for a wrong processor URL.
    client = payment_processor.create_app(max_authorizations=2).test_client()
    held, voided = authorize(client, "o-1"), authorize(client, "o-2")
    assert act(client, voided, "void").status_code == 200
    newest = authorize(client, "o-3")

    listed = client.get("/v1/authorizations", headers=PAYMENTS).get_json()
    assert [a["id"] for a in listed["authorizations"]] == [held, newest]
    assert act(client, held, "capture").status_code == 200
    captured_first = authorize(client, "o-4")  # then the oldest captured goes
    listed = client.get("/v1/authorizations", headers=PAYMENTS).get_json()
    assert [a["id"] for a in listed["authorizations"]] == [newest, captured_first]


def submit(client: FlaskClient, order_id: str) -> None:
    body = {
        "orderId": order_id,
        "restaurantId": "r-1",
        "items": [{"name": "Margherita", "quantity": 1}],
        "callbackUrl": "http://platform.test/pos",
    }
    response = client.post(
        "/orders", json=body, headers={**POS, "Idempotency-Key": f"{order_id}:submit"}
    )
    assert response.status_code == 201


def test_the_point_of_sale_holds_its_last_orders() -> None:
    client = point_of_sale.create_app(max_orders=2).test_client()
    for order_id in ("o-1", "o-2", "o-3"):
        submit(client, order_id)

    listed = client.get("/orders").get_json()["orders"]

    assert [o["orderId"] for o in listed] == ["o-2", "o-3"]
    assert client.get("/orders/o-1").get_json() == {"error": "no order o-1"}


class Crowding(requests.Session):
    """A webhook that fails, while the point of sale takes so many orders meanwhile that the
    one called back about is forgotten."""

    def __init__(self) -> None:
        super().__init__()
        self.pos: PointOfSale | None = None

    def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        assert self.pos is not None
        self.pos.receive(order_request("o-2"))
        self.pos.receive(order_request("o-3"))
        response = requests.Response()
        response.status_code = 503
        response._content = b"busy"
        return response


def order_request(order_id: str) -> OrderRequest:
    return OrderRequest.model_validate(
        {
            "orderId": order_id,
            "restaurantId": "r-1",
            "items": [{"name": "Margherita", "quantity": 1}],
            "callbackUrl": "http://platform.test/pos",
        }
    )


def test_a_failed_answer_to_an_order_forgotten_meanwhile_is_the_callbacks_failure() -> None:
    session = Crowding()
    pos = session.pos = PointOfSale(Callbacks("secret", session), most=2)
    pos.receive(order_request("o-1"))

    with pytest.raises(CallbackFailed, match="503"):
        pos.accept("o-1", 15)

    assert [order.order_id for order in pos.all()] == ["o-2", "o-3"]


def send(client: FlaskClient, n: int) -> None:
    body = {"to": {"kind": "customer", "id": "c-1"}, "title": f"news {n}", "body": "b"}
    response = client.post("/v1/messages", json=body, headers={**PUSH, "Idempotency-Key": f"{n}"})
    assert response.status_code == 202


def test_the_push_provider_lists_its_last_messages() -> None:
    client = push_provider.create_app(max_messages=2).test_client()
    for n in (1, 2, 3):
        send(client, n)

    listed = client.get("/v1/messages", headers=PUSH).get_json()["messages"]

    assert [m["title"] for m in listed] == ["news 2", "news 3"]


def test_each_fake_holds_20000_records_unless_told() -> None:
    assert MAX_RECORDS == 20_000
    outbox = Outbox()
    to = Recipient(kind="customer", id="c-1")
    for n in range(MAX_RECORDS + 1):
        outbox.add(MessageRequest(to=to, title=f"news {n}", body="b"), f"{n}")

    listed = outbox.find()

    assert len(listed) == MAX_RECORDS
    assert listed[0].request.title == "news 1"


@pytest.mark.parametrize(
    ("build", "option"),
    [
        (payment_processor.create_app, "max_authorizations"),
        (point_of_sale.create_app, "max_orders"),
        (push_provider.create_app, "max_messages"),
    ],
)
@pytest.mark.parametrize("most", [0, -1, 1.5, True])
def test_a_fake_holding_no_records_is_refused(build: Any, option: str, most: object) -> None:
    with pytest.raises(ValueError, match="the most records a fake holds must be 1 or more"):
        build(**{option: most})


@pytest.mark.parametrize("ttl", [0.0, -1.0, float("nan")])
def test_an_authorization_living_no_time_is_refused(ttl: float) -> None:
    with pytest.raises(ValueError, match="time to live must be positive"):
        payment_processor.create_app(authorization_ttl_s=ttl)
