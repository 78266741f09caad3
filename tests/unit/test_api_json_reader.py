"""BFF API kit: a request body is read as JSON (RFC 8259) and nothing more: ``NaN``,
``Infinity`` and numbers no double holds, which Python would read, are refused with a 400
naming where they stand, as is a body in another encoding than UTF-8."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field

from shared.api import HttpApi, echoed
from shared.api_models import RequestBody
from shared.auth import LocalIssuer, Principal
from tests.problems import refusal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


class Spot(RequestBody):
    lat: float
    lng: float


class Route(RequestBody):
    name: str = ""
    stops: list[Spot] = Field(default_factory=list)


def routes_api(read: list[Route]) -> HttpApi:
    api = HttpApi("Routes", ISSUER)

    @api.route("POST", "/routes", actors={"customer"}, body=Route)
    def plan(caller: Principal, body: Route) -> dict[str, Any]:
        """Plan a route."""
        read.append(body)
        return {"stops": len(body.stops)}

    return api


@pytest.fixture
def read() -> list[Route]:
    return []


@pytest.fixture
def client(read: list[Route]) -> Any:
    return routes_api(read).flask_app().test_client()


def post(client: Any, body: bytes) -> Any:
    return client.post("/routes", data=body, content_type="application/json", headers=ALICE)


@pytest.mark.parametrize(
    ("body", "literal", "path"),
    [
        (b'{"stops": [{"lat": NaN, "lng": 0}]}', "NaN", "stops.0.lat"),
        (b'{"stops": [{"lat": 1, "lng": Infinity}]}', "Infinity", "stops.0.lng"),
        (b'{"stops": [{"lat": -Infinity, "lng": 1}]}', "-Infinity", "stops.0.lat"),
        (b'{"stops": [NaN]}', "NaN", "stops.0"),
        (b"NaN", "NaN", "$"),
        # the first in the text is named, wherever the others stand
        (b'{"stops": [{"lng": 1, "lat": 2}, {"lng": NaN, "lat": Infinity}]}', "NaN", "stops.1.lng"),
    ],
)
def test_nan_and_infinity_are_no_json_and_a_400_naming_where_they_stand(
    client: Any, read: list[Route], body: bytes, literal: str, path: str
) -> None:
    answer = post(client, body)

    assert answer.status_code == 400
    assert refusal(answer) == {
        "error": f"the request body is not valid JSON: {literal} (at {path}) is no JSON value "
        "(RFC 8259)",
        "fields": {path: "Input should be a finite number"},
    }
    assert read == []


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1.5e309"])
def test_a_number_beyond_a_double_is_a_400_not_an_infinity(
    client: Any, read: list[Route], number: str
) -> None:
    answer = post(client, f'{{"stops": [{{"lat": {number}, "lng": 0}}]}}'.encode())

    assert answer.status_code == 400
    assert refusal(answer) == {
        "error": f"the request body is not valid JSON: {number} (at stops.0.lat) is beyond the "
        "numbers a double holds",
        "fields": {"stops.0.lat": "Input should be a finite number"},
    }
    assert read == []


def test_where_a_nan_stands_is_cut_when_long(client: Any, read: list[Route]) -> None:
    answer = post(client, f'{{"{"n" * 1000}": NaN}}'.encode())

    assert answer.status_code == 400
    assert list(answer.get_json()["fields"]) == [echoed("n" * 1000)]
    assert "n" * 1000 not in answer.get_data(as_text=True)


def test_numbers_a_double_holds_are_read(client: Any, read: list[Route]) -> None:
    answer = post(client, b'{"stops": [{"lat": 1.7976931348623157e308, "lng": -1e-400}]}')

    assert answer.status_code == 200
    assert read[0].stops[0].lat == 1.7976931348623157e308
    assert read[0].stops[0].lng == 0.0


def test_nan_in_a_string_is_text(client: Any, read: list[Route]) -> None:
    answer = post(client, b'{"name": "NaN Infinity 1e400"}')

    assert answer.status_code == 200
    assert read[0].name == "NaN Infinity 1e400"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_body_in_another_encoding_than_utf_8_is_a_400(
    client: Any, read: list[Route], encoding: str
) -> None:
    answer = post(client, '{"name": "crème"}'.encode(encoding))

    assert answer.status_code == 400
    assert answer.get_json()["error"].startswith(
        "the request body is not valid JSON: 'utf-8' codec can't decode byte"
    )
    assert read == []


def test_a_utf_8_body_with_a_byte_order_mark_is_read(client: Any, read: list[Route]) -> None:
    answer = post(client, '{"name": "crème"}'.encode("utf-8-sig"))

    assert answer.status_code == 200
    assert read[0].name == "crème"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b'{"name": "\\ud800"}', "name"),
        (b'{"name": "a\\uDFFFb"}', "name"),
        (b'{"name": "\\ude00\\ud83d"}', "name"),  # a pair in the wrong order is two lone ones
        (b'{"stops": [{"lat": 1, "lng": 2}], "name": "\\ud83d"}', "name"),
        (b'{"stops": [{"lat": 1, "lng": 2, "x": ["ok", "\\udbff"]}]}', "stops.0.x.1"),
        (b'{"\\ud800": 1}', "\\ud800"),  # a member's name, shown as its escape
        (b'"\\ud800"', "$"),
    ],
)
def test_a_lone_surrogate_is_no_text_and_a_400_naming_where_it_stands(
    client: Any, read: list[Route], body: bytes, path: str
) -> None:
    answer = post(client, body)

    assert answer.status_code == 400
    assert refusal(answer) == {
        "error": f"the request body is not valid JSON: the string at {path} holds a lone "
        "surrogate (an escaped \\ud800 to \\udfff not in a pair), which is no character "
        "(RFC 7493, section 2.1)",
        "fields": {path: "Input should be text: a lone surrogate is no character (RFC 7493)"},
    }
    assert read == []


def test_a_surrogate_pair_is_one_character(client: Any, read: list[Route]) -> None:
    answer = post(client, b'{"name": "\\ud83d\\ude00 \\\\ud800"}')  # an emoji; a backslash

    assert answer.status_code == 200
    assert read[0].name == "\U0001f600 \\ud800"
