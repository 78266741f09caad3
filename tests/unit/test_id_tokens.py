"""Google ID tokens for calling private services: cached until shortly before expiry."""

from __future__ import annotations

import base64
import json
import re

import pytest

from shared.id_tokens import IdTokenError, IdTokens, fetch_google_id_token


def jwt_expiring_at(exp: float, n: int = 0) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part({'exp': exp, 'n': n})}.signature"


class Minter:
    """Mints a token valid for an hour from ``now``, counting the calls."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.audiences: list[str] = []

    def fetch(self, audience: str) -> str:
        self.audiences.append(audience)
        return jwt_expiring_at(self.now + 3600, len(self.audiences))


def test_a_token_is_fetched_for_the_audience_and_reused_while_valid() -> None:
    minter = Minter()
    tokens = IdTokens("https://pos.example", minter.fetch, clock=lambda: minter.now)

    first = tokens.headers()
    minter.now += 3600 - 301
    again = tokens.headers()

    assert first == again == {"Authorization": f"Bearer {jwt_expiring_at(1_003_600.0, 1)}"}
    assert minter.audiences == ["https://pos.example"]


def test_a_token_about_to_expire_is_replaced() -> None:
    minter = Minter()
    tokens = IdTokens("https://pos.example", minter.fetch, clock=lambda: minter.now)
    first = tokens.token()

    minter.now += 3600 - 299

    assert tokens.token() != first
    assert len(minter.audiences) == 2


def test_a_token_that_is_not_a_jwt_is_an_error_naming_it() -> None:
    tokens = IdTokens("https://pos.example", lambda _audience: "not-a-jwt")
    with pytest.raises(IdTokenError, match="not a JWT"):
        tokens.token()


def test_without_credentials_fetching_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
    with pytest.raises(
        IdTokenError, match=re.escape("cannot mint an ID token for https://pos.example")
    ):
        fetch_google_id_token("https://pos.example")


@pytest.mark.parametrize("exp", [float("nan"), float("inf")])
def test_a_token_whose_expiry_is_not_a_time_is_an_error_not_kept_for_good(exp: float) -> None:
    minted: list[str] = []

    def fetch(_audience: str) -> str:
        minted.append(jwt_expiring_at(exp))
        return minted[-1]

    tokens = IdTokens("https://pos.example", fetch)
    with pytest.raises(IdTokenError, match="exp claim is not a time"):
        tokens.token()
    with pytest.raises(IdTokenError):
        tokens.token()
    assert len(minted) == 2
