"""A refused token's 401 says why, but never repeats what the token holds: its body and its
``WWW-Authenticate`` challenge carry the kit's words, not bytes anyone put in a token."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.test import TestResponse

from shared.api import HttpApi
from shared.auth import (
    AuthError,
    IdentityPlatformVerifier,
    LocalIssuer,
    Principal,
    TokenVerifier,
)

ISSUER = LocalIssuer()
MARKER = "<script>alert(1)</script>" + "x" * 300
"""What a hostile token carries, hoping to have it sent back."""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_header(header: bytes) -> str:
    """A token whose header segment is ``header``, with a payload and a signature of sorts."""
    return f"{b64(header)}.{b64(json.dumps({'sub': 'alice'}).encode())}.{b64(b'sig')}"


def critical(extension: str) -> str:
    """A token whose header says it cannot be understood without ``extension`` (``crit``)."""
    header = {"alg": "RS256", "kid": ISSUER.key_id, "crit": [extension], extension: True}
    return with_header(json.dumps(header).encode())


def verifiers() -> list[TokenVerifier]:
    # The header is read before the key set is fetched: nothing answers at this URL.
    return [ISSUER, IdentityPlatformVerifier("food-prod", "http://127.0.0.1:9/keys")]


def answer_of(verifier: TokenVerifier, token: str) -> TestResponse:
    api = HttpApi("Probe", verifier)

    @api.route("GET", "/me", actors={"customer"})
    def me(caller: Principal) -> dict[str, Any]:
        """Who the caller is."""
        return {"subject": caller.subject}

    return api.flask_app().test_client().get("/me", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("verifier", verifiers(), ids=["local", "identity-platform"])
def test_an_unsupported_critical_extension_is_refused_without_echoing_it(
    verifier: TokenVerifier,
) -> None:
    token = critical(MARKER)

    with pytest.raises(AuthError) as refused:
        verifier.verify(token)
    answered = answer_of(verifier, token)

    assert answered.status_code == 401
    assert "alert" not in answered.get_data(as_text=True)
    assert "alert" not in answered.headers["WWW-Authenticate"]
    assert str(refused.value) == (
        "invalid token: its header names a critical extension ('crit') this API does not support"
    )
    assert "critical extension" in answered.headers["WWW-Authenticate"]


@pytest.mark.parametrize("verifier", verifiers(), ids=["local", "identity-platform"])
@pytest.mark.parametrize(
    "header",
    [b"\xff" + MARKER.encode(), b"{" + MARKER.encode(), b'"' + MARKER.encode() + b'"'],
    ids=["not-utf-8", "not-json", "not-an-object"],
)
def test_a_header_that_is_not_a_json_object_is_refused_in_the_kits_words(
    verifier: TokenVerifier, header: bytes
) -> None:
    with pytest.raises(AuthError) as refused:
        verifier.verify(with_header(header))
    assert str(refused.value) == "invalid token: its header is not a JSON object"


def test_reasons_that_quote_nothing_are_pyjwts_own() -> None:
    with pytest.raises(AuthError, match=r"^invalid token: Not enough segments$"):
        ISSUER.verify("not-a-jwt")
