"""The ``Authorization`` header: one ``Bearer`` token, the scheme in any case."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.datastructures import Headers

from shared.api import HttpApi
from shared.auth import AuthError, LocalIssuer, MissingToken, Principal, bearer_token
from tests.problems import refusal

ISSUER = LocalIssuer()
ALICE = ISSUER.mint(Principal("customer", "alice"))
BOB = ISSUER.mint(Principal("customer", "bob"))


def client() -> Any:
    api = HttpApi("Notes", ISSUER)

    @api.route("GET", "/notes", actors={"customer"})
    def read(caller: Principal) -> dict[str, str]:
        """Read the caller's notes."""
        return {"owner": caller.subject}

    return api.flask_app().test_client()


@pytest.mark.parametrize(
    "authorization", [f"Bearer {ALICE}", f"bearer {ALICE}", f"BEARER   {ALICE}  "]
)
def test_the_scheme_in_any_case_and_spaces_around_the_token_are_accepted(
    authorization: str,
) -> None:
    assert bearer_token(authorization) == ALICE
    answer = client().get("/notes", headers={"Authorization": authorization})
    assert (answer.status_code, answer.get_json()) == (200, {"owner": "alice"})


def test_two_authorization_headers_are_refused_saying_so() -> None:
    both = Headers([("Authorization", f"Bearer {ALICE}"), ("Authorization", f"Bearer {BOB}")])

    answer = client().get("/notes", headers=both)

    assert answer.status_code == 401
    assert refusal(answer) == {"error": "send one Authorization header, with one bearer token"}
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "authorization", [f"Bearer {ALICE} {BOB}", f"Bearer {ALICE} x", f"Bearer {ALICE}\x00"]
)
def test_credentials_that_are_not_one_token_are_refused_saying_so(authorization: str) -> None:
    with pytest.raises(AuthError, match="must be 'Bearer <token>': one token") as refused:
        bearer_token(authorization)
    assert not isinstance(refused.value, MissingToken)
    assert ALICE not in str(refused.value)
