"""In production (``AUTH=identity-platform``) only Identity Platform ID tokens pass: a
development token never does, and Google's keys are never fetched over plain http from
another machine, where whoever answers could publish keys of their own."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.api import HttpApi
from shared.auth import (
    AuthError,
    IdentityPlatformVerifier,
    LocalIssuer,
    Principal,
    TokenVerifier,
    verifier_from,
)
from shared.exceptions import SettingError

PROJECT = "food-prod"


@pytest.fixture
def google_keys() -> Iterator[tuple[rsa.RSAPrivateKey, str, list[int]]]:
    """Google's signing key ``k1``, the URL of a key server publishing it, and the count of
    fetches it answered."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k1", "use": "sig"}
    body = json.dumps({"keys": [jwk]}).encode()
    fetches = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield key, f"http://127.0.0.1:{server.server_port}/keys", fetches
    server.shutdown()
    server.server_close()


def production(url: str) -> TokenVerifier:
    return verifier_from(
        {"AUTH": "identity-platform", "IDENTITY_PROJECT": PROJECT, "JWKS_URL": url}
    )


def status_of(verifier: TokenVerifier, token: str) -> int:
    api = HttpApi("Probe", verifier)

    @api.route("GET", "/me", actors={"customer"})
    def me(caller: Principal) -> dict[str, Any]:
        """Who the caller is."""
        return {"subject": caller.subject}

    headers = {"Authorization": f"Bearer {token}"}
    return api.flask_app().test_client().get("/me", headers=headers).status_code


def google_shaped(key: rsa.RSAPrivateKey, kid: str) -> str:
    """An ID token of :data:`PROJECT` in every claim, signed with ``key`` naming ``kid``."""
    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "sub": "uid-1",
        "actor": "customer",
        "iat": now - 10,
        "exp": now + 3600,
        "auth_time": now - 60,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_an_identity_platform_token_passes(google_keys) -> None:
    key, url, _ = google_keys
    assert status_of(production(url), google_shaped(key, "k1")) == 200


def test_a_development_token_is_refused_in_production(google_keys) -> None:
    _, url, fetches = google_keys
    dev = LocalIssuer()
    minted = dev.mint(Principal("customer", "alice"))
    # Even shaped as an ID token of the project, a development key's signature is no Google's.
    shaped = google_shaped(dev._key, dev.key_id)
    named_k1 = google_shaped(dev._key, "k1")
    verifier = production(url)

    for token in (minted, shaped, named_k1):
        with pytest.raises(AuthError):
            verifier.verify(token)
        assert status_of(verifier, token) == 401
    assert fetches[0] <= 2  # the first fetch, and one for a key id it lacks: no more


@pytest.mark.parametrize(
    "url",
    [
        "http://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
        "http://10.0.0.7/keys",
        "http://127.0.0.1.example.com/keys",
        "ftp://127.0.0.1/keys",
        "https:///keys",
    ],
    ids=[
        "plain-http-to-google",
        "plain-http-private-address",
        "loopback-lookalike",
        "ftp",
        "no-host",
    ],
)
def test_keys_are_never_fetched_over_plain_http_from_another_machine(url: str) -> None:
    with pytest.raises(SettingError, match="must be https"):  # a mistake of its set-up
        IdentityPlatformVerifier(PROJECT, url)
    setting = r"^FOODDELIVERY_JWKS_URL: the signing keys' URL must be https \("
    with pytest.raises(SettingError, match=setting):
        production(url)  # a deployment's mistake: its functions answer 503, no caller a 401


@pytest.mark.parametrize(
    ("project", "tenant", "said"),
    [
        ("", None, "needs the project it verifies for"),
        (PROJECT, "", "the tenant must be a tenant id, or None"),
    ],
    ids=["no-project", "empty-tenant"],
)
def test_a_verifier_set_up_wrong_is_a_setting_error_not_a_refused_token(
    project: str, tenant: str | None, said: str
) -> None:
    # it would refuse every token (401), as if each caller's were wrong
    with pytest.raises(SettingError, match=said):
        IdentityPlatformVerifier(project, tenant=tenant)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
        "http://127.0.0.1:8123/keys",
        "http://[::1]:8123/keys",
        "http://localhost:8123/keys",
    ],
    ids=["google", "loopback-v4", "loopback-v6", "localhost"],
)
def test_keys_are_fetched_over_https_or_from_this_machine(url: str) -> None:
    assert IdentityPlatformVerifier(PROJECT, url)
