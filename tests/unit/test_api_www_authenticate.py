"""Every 401 carries a ``WWW-Authenticate: Bearer`` challenge (RFC 6750, RFC 7235)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from shared.api import HttpApi
from shared.auth import LOCAL_ISSUER, LocalIssuer, Principal

ISSUER = LocalIssuer()
ALICE = "Bearer " + ISSUER.mint(Principal("customer", "alice"))
QUOTED = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'
"""A quoted value RFC 6750 allows: printable ASCII but ``"`` and ``\\``."""
INVALID_TOKEN = re.compile(
    rf'Bearer realm={QUOTED}, error="invalid_token", error_description=({QUOTED})'
)


def notes_api(title: str = "Notes") -> HttpApi:
    api = HttpApi(title, ISSUER)

    @api.route("GET", "/notes", actors={"customer"}, refusals={401: "the note's owner signed out"})
    def read(caller: Principal) -> dict[str, Any]:
        """Read notes."""
        return {}

    return api


def answer(authorization: str | None, title: str = "Notes") -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return notes_api(title).flask_app().test_client().get("/notes", headers=headers)


def without_audience() -> str:
    """A token of the right issuer and key that names no audience."""
    now = int(time.time())
    claims = {"iss": LOCAL_ISSUER, "sub": "alice", "actor": "customer", "iat": now}
    return jwt.encode(claims | {"exp": now + 60}, ISSUER._key, algorithm="RS256")


@pytest.mark.parametrize("authorization", [None, "Basic YWxpY2U6cHc=", "Bearer  "])
def test_a_request_without_a_bearer_token_is_challenged_without_an_error(authorization) -> None:
    refused = answer(authorization)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="Notes"'


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (lambda: "not-a-jwt", "invalid token: Not enough segments"),
        (lambda: LocalIssuer().mint(Principal("customer", "eve")), "invalid token: Signature"),
        (
            lambda: ISSUER.mint(Principal("customer", "al"), ttl_s=-120),
            "invalid token: Signature has exp",
        ),
        (without_audience, "invalid token: Token is missing the 'aud' claim"),
    ],
    ids=["not-a-jwt", "another-issuer", "expired", "no-audience"],
)
def test_a_refused_token_is_challenged_with_invalid_token_and_why(
    token: Callable[[], str], why: str
) -> None:
    # Minted as the test runs: one minted at collection may expire before it runs.
    refused = answer(f"Bearer {token()}")
    assert refused.status_code == 401
    challenge = INVALID_TOKEN.fullmatch(refused.headers["WWW-Authenticate"])
    assert challenge, refused.headers["WWW-Authenticate"]
    assert challenge.group(1).strip('"').startswith(why)
    assert refused.get_json()["error"].replace('"', "'").startswith(why)


def test_a_title_outside_printable_ascii_still_makes_a_valid_challenge() -> None:
    refused = answer(None, title='Café "Süd"')
    assert refused.headers["WWW-Authenticate"] == "Bearer realm=\"Caf? 'S?d'\""


def test_answers_other_than_401_carry_no_challenge() -> None:
    assert "WWW-Authenticate" not in answer(ALICE).headers
    driver = "Bearer " + ISSUER.mint(Principal("driver", "dan"))
    assert answer(driver).status_code == 403
    assert "WWW-Authenticate" not in answer(driver).headers


def test_the_openapi_document_names_the_challenge_of_a_401() -> None:
    responses = notes_api().openapi()["paths"]["/notes"]["get"]["responses"]
    challenge = responses["401"]["headers"]["WWW-Authenticate"]
    assert challenge["schema"] == {"type": "string"}
    assert 'error="invalid_token"' in challenge["description"]
    # the route documents a 401 of its own: the kit's challenge header stays
    assert responses["401"]["description"].startswith("the note's owner signed out; or ")
