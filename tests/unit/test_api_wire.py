"""What a client developer meets on the wire: a 405 names the allowed methods, an
``Idempotency-Key`` is printable ASCII as documented, and no message names a Python class."""

from __future__ import annotations

import http.client
import json
import re

import pytest
from pydantic import Field

from fakes.server import serve
from shared.api import MAX_BODY_BYTES, HttpApi
from shared.api_models import RequestBody, ResponseView
from shared.auth import LocalIssuer, Principal
from shared.stores import InMemoryDocumentStore
from tests.problems import refusal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class Line(RequestBody):
    sku: str = Field(min_length=1)


class Basket(RequestBody):
    lines: list[Line]


class Receipt(ResponseView):
    lines: int


def basket_api() -> tuple[HttpApi, list[Basket]]:
    api = HttpApi("Baskets", ISSUER, store=InMemoryDocumentStore())
    ran: list[Basket] = []

    @api.route(
        "POST",
        "/baskets",
        actors={"customer"},
        body=Basket,
        response=Receipt,
        status=201,
        idempotent=True,
    )
    def order(caller: Principal, body: Basket) -> Receipt:
        """Order a basket."""
        ran.append(body)
        return Receipt(lines=len(body.lines))

    return api, ran


BASKET = {"lines": [{"sku": "pizza"}]}


def test_a_method_the_route_does_not_take_is_a_json_405_naming_the_allowed_ones() -> None:
    client = basket_api()[0].flask_app().test_client()

    response = client.put("/baskets", json=BASKET, headers=ALICE)

    assert response.status_code == 405
    assert refusal(response) == {"error": "PUT is not allowed here"}
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


@pytest.mark.parametrize("key", ["k\x01", "k\x7f", "caf\xe9", "tab\there"])
def test_an_idempotency_key_outside_printable_ascii_is_a_400_and_runs_nothing(key: str) -> None:
    api, ran = basket_api()

    response = (
        api.flask_app()
        .test_client()
        .post("/baskets", json=BASKET, headers={**ALICE, "Idempotency-Key": key})
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]
    assert ran == []


def test_the_documented_key_format_is_the_one_accepted() -> None:
    api, ran = basket_api()
    client = api.flask_app().test_client()
    [header] = [
        p for p in api.openapi()["paths"]["/baskets"]["post"]["parameters"] if p["in"] == "header"
    ]
    schema = header["schema"]
    longest = "k" * schema["maxLength"]
    printable = "".join(chr(c) for c in range(0x21, 0x7F))

    for key in (longest, printable, "7c9e6679-7425-40de-944b-e07fc1f77777"):
        assert re.fullmatch(schema["pattern"], key)
        answer = client.post("/baskets", json=BASKET, headers={**ALICE, "Idempotency-Key": key})
        assert answer.status_code == 201, key
    for key in (longest + "k", "caf\xe9"):
        assert len(key) > schema["maxLength"] or not re.fullmatch(schema["pattern"], key)
        answer = client.post("/baskets", json=BASKET, headers={**ALICE, "Idempotency-Key": key})
        assert answer.status_code == 400, key
    assert header["description"]
    assert len(ran) == 3


@pytest.mark.parametrize(("body", "field"), [([BASKET], "$"), ({"lines": ["pizza"]}, "lines.0")])
def test_a_value_that_should_be_an_object_is_told_so_without_naming_a_python_class(
    body: object, field: str
) -> None:
    response = basket_api()[0].flask_app().test_client().post("/baskets", json=body, headers=ALICE)

    assert response.status_code == 400
    assert response.get_json()["fields"] == {field: "Input should be a JSON object"}
    assert "Basket" not in response.get_json()["error"]
    assert "Line" not in response.get_json()["error"]


def test_a_route_without_a_body_documents_the_413_it_answers_to_a_huge_one() -> None:
    api = HttpApi("Baskets", ISSUER)

    @api.route("GET", "/baskets", actors={"customer"})
    def baskets(caller: Principal) -> dict[str, object]:
        """List the baskets."""
        return {}

    answer = api.flask_app().test_client().get("/baskets", json={"x": "y" * 70_000}, headers=ALICE)

    assert answer.status_code == 413
    assert "413" in api.openapi()["paths"]["/baskets"]["get"]["responses"]


def test_a_keyed_route_documents_the_409_of_a_key_still_in_use() -> None:
    conflict = basket_api()[0].openapi()["paths"]["/baskets"]["post"]["responses"]["409"]

    assert "Idempotency-Key is still running" in conflict["description"]


def chunked_post(url: str, body: bytes) -> tuple[int, object]:
    """POST ``body`` to ``url`` over real HTTP in chunks (no ``Content-Length``)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            "POST",
            "/baskets",
            body=(body[i : i + 8192] for i in range(0, len(body), 8192)),
            headers={**ALICE, "Content-Type": "application/json"},
            encode_chunked=True,
        )
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def test_a_chunked_body_over_the_limit_is_a_413_not_a_body_cut_short() -> None:
    api, ran = basket_api()
    server = serve(api.flask_app())
    try:
        small = chunked_post(server.url, json.dumps(BASKET).encode())
        padded = json.dumps({"lines": [{"sku": "x" * MAX_BODY_BYTES}]}).encode()
        huge = chunked_post(server.url, padded)
    finally:
        server.stop()

    assert small == (201, {"lines": 1})
    too_large = f"the request body is over {MAX_BODY_BYTES} bytes"
    assert huge == (
        413,
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": too_large,
            "error": too_large,
        },
    )
    assert len(ran) == 1


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_a_413() -> None:
    client = basket_api()[0].flask_app().test_client()
    body = json.dumps(BASKET).encode()
    exact = body + b" " * (MAX_BODY_BYTES - len(body))

    fits = client.post("/baskets", data=exact, content_type="application/json", headers=ALICE)
    over = client.post(
        "/baskets", data=exact + b" ", content_type="application/json", headers=ALICE
    )

    assert fits.status_code == 201
    assert over.status_code == 413
