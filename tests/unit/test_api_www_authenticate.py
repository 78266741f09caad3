"""Every 401 and 403 carries a ``WWW-Authenticate: Bearer`` challenge (RFC 6750, RFC 7235)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from shared.api import HttpApi, HttpError
from shared.auth import LOCAL_ISSUER, LocalIssuer, Principal

ISSUER = LocalIssuer()
ALICE = "Bearer " + ISSUER.mint(Principal("customer", "alice"))
QUOTED = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'
"""A quoted value RFC 6750 allows: printable ASCII but ``"`` and ``\\``."""
INVALID_TOKEN = re.compile(
    rf'Bearer realm={QUOTED}, error="invalid_token", error_description=({QUOTED})'
)
INSUFFICIENT_SCOPE = re.compile(
    rf'Bearer realm={QUOTED}, error="insufficient_scope", error_description=({QUOTED})'
)


def notes_api(title: str = "Notes") -> HttpApi:
    api = HttpApi(title, ISSUER)

    @api.route("GET", "/notes", actors={"customer"}, refusals={401: "the note's owner signed out"})
    def read(caller: Principal) -> dict[str, Any]:
        """Read notes."""
        return {}

    @api.route("GET", "/notes/{note_id}", actors={"customer"}, refusals={403: "not your note"})
    def read_one(caller: Principal, note_id: str) -> dict[str, Any]:
        """Read a note."""
        if note_id != caller.subject:
            raise HttpError(403, f"note {note_id} is another customer's")
        if note_id == "gone":
            raise HttpError(404, "no such note")
        return {}

    return api


def answer(authorization: str | None, title: str = "Notes") -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return notes_api(title).flask_app().test_client().get("/notes", headers=headers)


def forged_with_our_key_id() -> str:
    """A token naming the issuer's key (``kid``) but signed with another."""
    stranger = LocalIssuer()
    token = stranger.mint(Principal("customer", "eve"))
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, stranger._key, algorithm="RS256", headers={"kid": ISSUER.key_id})


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
        (
            lambda: LocalIssuer().mint(Principal("customer", "eve")),
            "invalid token: it names another signing key",
        ),
        (lambda: forged_with_our_key_id(), "invalid token: Signature verification failed"),
        (
            lambda: ISSUER.mint(Principal("customer", "al"), ttl_s=-120),
            "invalid token: Signature has exp",
        ),
        (without_audience, "invalid token: Token is missing the 'aud' claim"),
    ],
    ids=["not-a-jwt", "another-issuer", "forged", "expired", "no-audience"],
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


def test_answers_other_than_401_and_403_carry_no_challenge() -> None:
    assert "WWW-Authenticate" not in answer(ALICE).headers
    client = notes_api().flask_app().test_client()
    alice = {"Authorization": ALICE}
    assert "WWW-Authenticate" not in client.get("/notes/alice", headers=alice).headers
    gone = "Bearer " + ISSUER.mint(Principal("customer", "gone"))
    missing = client.get("/notes/gone", headers={"Authorization": gone})
    assert missing.status_code == 404
    assert "WWW-Authenticate" not in missing.headers


def test_a_caller_of_the_wrong_kind_is_challenged_with_insufficient_scope() -> None:
    driver = "Bearer " + ISSUER.mint(Principal("driver", "dan"))
    refused = answer(driver)
    assert refused.status_code == 403
    challenge = INSUFFICIENT_SCOPE.fullmatch(refused.headers["WWW-Authenticate"])
    assert challenge, refused.headers["WWW-Authenticate"]
    assert challenge.group(1) == '"a driver may not call GET /notes"'


def test_a_caller_refused_by_the_handler_is_challenged_with_insufficient_scope() -> None:
    client = notes_api().flask_app().test_client()
    refused = client.get("/notes/bob", headers={"Authorization": ALICE})
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "note bob is another customer's"
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer realm="Notes", error="insufficient_scope", '
        'error_description="note bob is another customer\'s"'
    )


def test_the_openapi_document_names_the_challenge_of_a_401() -> None:
    responses = notes_api().openapi()["paths"]["/notes"]["get"]["responses"]
    challenge = responses["401"]["headers"]["WWW-Authenticate"]
    assert challenge["schema"] == {"type": "string"}
    assert 'error="invalid_token"' in challenge["description"]
    # the route documents a 401 of its own: the kit's challenge header stays
    assert responses["401"]["description"].startswith("the note's owner signed out; or ")


def test_the_openapi_document_names_the_challenge_of_a_403() -> None:
    paths = notes_api().openapi()["paths"]
    for responses in (
        paths["/notes"]["get"]["responses"],
        paths["/notes/{note_id}"]["get"]["responses"],
    ):
        challenge = responses["403"]["headers"]["WWW-Authenticate"]
        assert challenge["schema"] == {"type": "string"}
        assert 'error="insufficient_scope"' in challenge["description"]
    # the route documents a 403 of its own: the kit's challenge header stays
    documented = paths["/notes/{note_id}"]["get"]["responses"]["403"]
    assert documented["description"].startswith("not your note; or ")
