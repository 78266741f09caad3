from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from werkzeug.test import TestResponse

from shared.api import HttpApi
from shared.auth import (
    AUDIENCE,
    DEV_KEY_PATH,
    LOCAL_ISSUER,
    AuthError,
    IdentityPlatformVerifier,
    LocalIssuer,
    LocalVerifier,
    NoRole,
    Principal,
    TokenVerifier,
    VerifierUnavailable,
    bearer_token,
    identity_platform,
    parse_identity,
    verifier_from,
)
from shared.auth.local import key_id


def test_local_tokens_round_trip_and_survive_a_restart(tmp_path):
    path = tmp_path / "key.pem"
    token = LocalIssuer.from_file(path).mint(Principal("staff", "sam", "r-1"))
    assert LocalIssuer.from_file(path).verify(token) == Principal("staff", "sam", "r-1")
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("spec", "principal"),
    [
        ("customer:alice", Principal("customer", "alice")),
        ("driver:dan", Principal("driver", "dan")),
        ("staff:sam@r-1", Principal("staff", "sam", "r-1")),
        ("customer:alice@example.com", Principal("customer", "alice@example.com")),
        ("driver:github:583231", Principal("driver", "github:583231")),
        ("customer:Jane Doe", Principal("customer", "Jane Doe")),
        ("staff:sam@example.com@r-1", Principal("staff", "sam@example.com", "r-1")),
        ("staff:github:42@r-1", Principal("staff", "github:42", "r-1")),
    ],
)
def test_identities_parse(spec, principal):
    assert parse_identity(spec) == principal


@pytest.mark.parametrize("spec", ["alice", "chef:x", "staff:sam", "customer:"])
def test_bad_identities_are_refused(spec):
    with pytest.raises(AuthError):
        parse_identity(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("alice", "must look like customer:alice"),
        ("chef:bob", "must look like customer:alice"),
        ("Customer:alice", "must look like customer:alice"),
        ("staff:sam", "staff need their restaurant"),
        ("staff:sam@", "the restaurant after the last '@' must be one id"),
        ("staff:sam@r:1", "the restaurant after the last '@' must be one id"),
        ("staff:sam@r 1", "the restaurant after the last '@' must be one id"),
        ("customer:", "names no one"),
        ("staff:@r-1", "names no one"),
        ("customer: alice", "cannot be a token's subject: it starts or ends with a blank"),
        ("customer:a/b", "cannot be a token's subject: .*contains '/'"),
        ("customer:a\tb", "cannot be a token's subject: it holds a control"),
        ("customer:" + "x" * 129, "cannot be a token's subject: it is longer than 128"),
    ],
)
def test_identities_outside_the_grammar_are_refused(spec, message):
    with pytest.raises(AuthError, match=message):
        parse_identity(spec)


@pytest.mark.parametrize("actor", ["customer", "driver", "staff"])
def test_the_token_command_names_every_subject_a_token_may_carry(actor: str) -> None:
    issuer = LocalIssuer()
    for uid in FIREBASE_UIDS:
        spec = f"{actor}:{uid}@r-1" if actor == "staff" else f"{actor}:{uid}"
        principal = parse_identity(spec)
        assert principal == Principal(actor, uid, "r-1" if actor == "staff" else None)
        assert issuer.verify(issuer.mint(principal)) == principal


def test_the_default_key_belongs_to_the_project_not_the_current_directory():
    assert DEV_KEY_PATH.is_absolute()
    assert (DEV_KEY_PATH.parents[1] / "pyproject.toml").is_file()
    assert DEV_KEY_PATH.parts[-2:] == (".fooddelivery", "dev-signing-key.pem")


def _public_key_file(tmp_path: Path) -> Path:
    public = tmp_path / "dev.pub.pem"
    public.write_text(LocalIssuer().public_pem())
    return public


def _ec_key_file(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "ec.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _encrypted_key_file(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "locked.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    return path


def _file_in_place_of_a_directory(tmp_path: Path) -> Path:
    (tmp_path / "plain").write_text("x")
    return tmp_path / "plain" / "key.pem"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_public_key_file, "holds a public key; the development key must be the private key"),
        (lambda tmp: tmp / "junk.pem", "is not a PEM private key"),
        (lambda tmp: tmp, "is a directory; it must name the key file"),
        (_file_in_place_of_a_directory, "cannot create the development key .*plain is not a dir"),
        (_ec_key_file, "is not an RSA private key"),
        (_encrypted_key_file, "is encrypted"),
    ],
    ids=["public-key", "garbage", "directory", "parent-is-a-file", "ec-key", "encrypted"],
)
def test_an_unusable_dev_key_file_is_a_clear_auth_error(tmp_path: Path, make, message) -> None:
    (tmp_path / "junk.pem").write_text("not a key at all\n")
    with pytest.raises(AuthError, match=message):
        LocalIssuer.from_file(make(tmp_path))


def test_a_key_that_cannot_be_created_is_a_clear_auth_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    unwritable = locked / "sub" / "key.pem"
    if os.access(locked, os.W_OK):  # root writes anywhere, but not into /proc
        if not Path("/proc/self").is_dir():
            pytest.skip("this user can write everywhere")
        unwritable = Path("/proc/no-such-dir/key.pem")
    with pytest.raises(AuthError, match=r"cannot create the development key .*: [A-Z]"):
        LocalIssuer.from_file(unwritable)


def test_a_broken_link_in_place_of_the_key_is_a_clear_auth_error(tmp_path: Path) -> None:
    link = tmp_path / "key.pem"
    link.symlink_to(tmp_path / "gone" / "key.pem")
    with pytest.raises(AuthError, match="broken symbolic link"):
        LocalIssuer.from_file(link)


def test_bearer_header_parsing():
    assert bearer_token("Bearer abc") == "abc"
    for bad in (None, "", "Bearer ", "Token abc"):
        with pytest.raises(AuthError, match="Authorization header"):
            bearer_token(bad)


def jwks_body(**keys):
    """A JWKS document publishing ``keys`` (kid -> private key) by their public halves."""
    published = [
        {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())), "kid": kid}
        for kid, k in keys.items()
    ]
    return json.dumps({"keys": [{**j, "alg": "RS256", "use": "sig"} for j in published]}).encode()


@pytest.fixture
def published():
    """What the key server publishes; a test may replace ``published["body"]`` (rotation)
    and give ``published["headers"]`` to send (``Cache-Control``).

    ``published["fetches"]`` counts the requests the server answered."""
    return {}


@pytest.fixture
def jwks_server(published):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published["body"] = jwks_body(k1=key)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            published["fetches"] = published.get("fetches", 0) + 1
            if "hold" in published:  # a hanging endpoint: answer once the test says so
                published["held"].set()
                published["hold"].wait(10)
            self.send_response(published.get("status", 200))
            self.send_header("Content-Type", "application/json")
            for name, value in published.get("headers", {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(published["body"])

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield key, f"http://127.0.0.1:{server.server_port}/keys"
    server.shutdown()
    server.server_close()


DROP = object()
"""A claim value meaning: leave the claim out of the token."""


def google_token(key, project, **claims):
    """An Identity Platform ID token for ``project`` with ``claims`` changed (DROP: left out)."""
    base = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "sub": "uid-1",
        "iat": int(time.time()) - 10,
        "exp": int(time.time()) + 3600,
        "auth_time": int(time.time()) - 60,
        "actor": "customer",
    }
    payload = {k: v for k, v in {**base, **claims}.items() if v is not DROP}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


def test_identity_platform_tokens_are_verified_against_published_keys(jwks_server):
    key, url = jwks_server
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url)
    assert verifier.verify(google_token(key, "food-prod")) == Principal("customer", "uid-1")
    with pytest.raises(AuthError, match=r"invalid token: (Invalid issuer|Audience doesn't match)"):
        verifier.verify(google_token(key, "other-project"))
    with pytest.raises(NoRole):  # valid, but not a role the system serves: 403, not 401
        verifier.verify(google_token(key, "food-prod", actor="admin"))
    with pytest.raises(AuthError, match="invalid token: Signature verification failed"):
        verifier.verify(
            google_token(
                rsa.generate_private_key(public_exponent=65537, key_size=2048), "food-prod"
            )
        )


def test_a_token_of_another_tenant_is_refused(jwks_server):
    key, url = jwks_server
    of_tenant = {"firebase": {"tenant": "brand-a", "sign_in_provider": "password"}}
    own_users = IdentityPlatformVerifier("food-prod", jwks_url=url)
    brand_a = verifier_from(
        {
            "AUTH": "identity-platform",
            "IDENTITY_PROJECT": "food-prod",
            "JWKS_URL": url,
            "IDENTITY_TENANT": "brand-a",
        }
    )

    assert own_users.verify(google_token(key, "food-prod", firebase={"sign_in_provider": "x"}))
    with pytest.raises(AuthError, match="user of tenant 'brand-a'; this API serves the project"):
        own_users.verify(google_token(key, "food-prod", **of_tenant))
    assert brand_a.verify(google_token(key, "food-prod", **of_tenant))
    with pytest.raises(AuthError, match="project's own users; this API serves tenant 'brand-a'"):
        brand_a.verify(google_token(key, "food-prod"))
    other = {"firebase": {"tenant": "brand-b"}}
    with pytest.raises(AuthError, match="tenant 'brand-b'"):
        brand_a.verify(google_token(key, "food-prod", **other))


def test_a_key_rotated_out_is_refused_once_the_key_set_is_fetched_again(jwks_server, published):
    key, url = jwks_server
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url, keys_lifespan_s=0.2)
    assert verifier.verify(google_token(key, "food-prod", sub="uid-1"))
    published["body"] = jwks_body(k2=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    time.sleep(0.3)
    with pytest.raises(AuthError, match=r"no published key has its key id \('kid'\)"):
        verifier.verify(google_token(key, "food-prod", sub="uid-2"))


def test_keys_that_cannot_be_fetched_are_an_outage_not_a_bad_token():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/keys"
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(VerifierUnavailable):
        verifier.verify(google_token(key, "food-prod"))


def test_a_token_issued_by_a_clock_a_little_ahead_is_accepted(jwks_server):
    key, url = jwks_server
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url)
    assert verifier.verify(google_token(key, "food-prod", iat=int(time.time()) + 10))


def test_a_verified_token_is_remembered_only_until_it_expires(monkeypatch):
    issuer = LocalIssuer()
    token = issuer.mint(Principal("customer", "alice"), ttl_s=60)
    decoded = []
    decode = issuer._decode
    monkeypatch.setattr(issuer, "_decode", lambda t: decoded.append(t) or decode(t))
    assert issuer.verify(token) == issuer.verify(token) == Principal("customer", "alice")
    assert len(decoded) == 1

    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    issuer.verify(token)
    assert len(decoded) == 2, "an expired entry is checked again, never served from memory"


def test_a_token_that_failed_is_never_remembered():
    issuer = LocalIssuer()
    forged = LocalIssuer().mint(Principal("customer", "alice"))
    for _ in range(2):
        with pytest.raises(AuthError, match=r"it names another signing key \('kid'\)"):
            issuer.verify(forged)


def test_the_local_key_is_read_only_when_the_first_token_arrives(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "dev.pem"
    verifier = verifier_from({"DEV_KEY": str(key)})
    assert not key.exists()  # a function that never verifies never needs the key

    issuer = LocalIssuer.from_file(key)
    alice = Principal("customer", "alice")
    assert verifier.verify(issuer.mint(alice)) == alice


def test_a_public_key_verifies_tokens_but_cannot_mint_them(tmp_path: Path) -> None:
    issuer = LocalIssuer.from_file(tmp_path / "dev.pem")
    public = tmp_path / "dev.pub.pem"
    public.write_text(issuer.public_pem())

    verifier = verifier_from({"DEV_KEY": str(public)})
    alice = Principal("customer", "alice")

    assert verifier.verify(issuer.mint(alice)) == alice
    assert not hasattr(LocalVerifier.from_file(public), "mint")
    with pytest.raises(AuthError, match="invalid token"):
        verifier.verify(LocalIssuer().mint(alice))  # another issuer's token


def test_a_key_file_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
    with pytest.raises(AuthError, match="is not a PEM key"):
        LocalVerifier.from_file(junk)


# -- audience and issuer, each checked on its own ---------------------------------------------
#
# A token signed with the right key but meant for another audience, or minted by another
# issuer, is refused: every other claim is right, so only the one check can refuse it.

WRONG_AUDIENCE_OR_ISSUER = [
    ({"aud": "another-app"}, "Audience doesn't match"),
    ({"aud": DROP}, 'missing the "aud" claim'),
    ({"aud": [AUDIENCE, "another-app"]}, r"Invalid claim format in token \(strict\)"),
    ({"iss": "https://elsewhere.example/issuer"}, "Invalid issuer"),
    ({"iss": DROP}, 'missing the "iss" claim'),
]
WRONG_IDS = ["wrong-audience", "no-audience", "audiences", "wrong-issuer", "no-issuer"]


def local_token(key: rsa.RSAPrivateKey, **claims) -> str:
    """A token as the local issuer mints it, signed with ``key``, with ``claims`` changed."""
    now = int(time.time())
    base = {
        "iss": LOCAL_ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "actor": "customer",
        "iat": now,
        "exp": now + 3600,
    }
    merged = {k: v for k, v in {**base, **claims}.items() if v is not DROP}
    return jwt.encode(merged, key, algorithm="RS256")


def unverified_claims(token: str) -> dict:
    """The claims of ``token`` but its times, read without checking anything."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return {k: v for k, v in claims.items() if k not in ("iat", "exp")}


def answer_of(verifier: TokenVerifier, token: str) -> TestResponse:
    """What a BFF API guarded by ``verifier`` answers a call bearing ``token`` with."""
    api = HttpApi("Probe", verifier)

    @api.route("GET", "/me", actors={"customer"})
    def me(caller: Principal) -> dict:
        """Who the caller is."""
        return {"subject": caller.subject}

    client = api.flask_app().test_client()
    return client.get("/me", headers={"Authorization": f"Bearer {token}"})


def status_of(verifier: TokenVerifier, token: str) -> int:
    """The status a BFF API guarded by ``verifier`` answers a call bearing ``token`` with."""
    return answer_of(verifier, token).status_code


@pytest.fixture(scope="module")
def local_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_local_token_with_the_right_audience_and_issuer_is_accepted(local_key) -> None:
    verifier = LocalIssuer(local_key)
    minted = verifier.mint(Principal("customer", "alice"))
    assert unverified_claims(local_token(local_key)) == unverified_claims(minted)
    assert verifier.verify(local_token(local_key)) == Principal("customer", "alice")
    assert status_of(verifier, local_token(local_key)) == 200


@pytest.mark.parametrize(("claims", "message"), WRONG_AUDIENCE_OR_ISSUER, ids=WRONG_IDS)
def test_a_local_token_for_another_audience_or_from_another_issuer_is_refused(
    local_key, claims, message
) -> None:
    token = local_token(local_key, **claims)
    with pytest.raises(AuthError, match=message):
        LocalIssuer(local_key).verify(token)
    with pytest.raises(AuthError, match=message):
        LocalVerifier(local_key.public_key()).verify(token)  # what a deployed BFF holds
    assert status_of(LocalIssuer(local_key), token) == 401


def test_an_identity_platform_token_with_the_right_audience_and_issuer_is_accepted(
    jwks_server,
) -> None:
    key, url = jwks_server
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url)
    assert verifier.verify(google_token(key, "food-prod")) == Principal("customer", "uid-1")
    assert status_of(verifier, google_token(key, "food-prod", sub="uid-2")) == 200


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"aud": "other-project"}, "Audience doesn't match"),
        ({"aud": DROP}, 'missing the "aud" claim'),
        ({"aud": ["food-prod", "other-project"]}, r"Invalid claim format in token \(strict\)"),
        ({"iss": "https://securetoken.google.com/other-project"}, "Invalid issuer"),
        ({"iss": "https://accounts.google.com"}, "Invalid issuer"),
        ({"iss": DROP}, 'missing the "iss" claim'),
    ],
    ids=[
        "wrong-audience",
        "no-audience",
        "audiences",
        "another-projects-issuer",
        "google-issuer",
        "no-issuer",
    ],
)
def test_an_identity_platform_token_for_another_audience_or_from_another_issuer_is_refused(
    jwks_server, claims, message
) -> None:
    key, url = jwks_server
    token = google_token(key, "food-prod", **claims)
    with pytest.raises(AuthError, match=message):
        IdentityPlatformVerifier("food-prod", jwks_url=url).verify(token)
    assert status_of(IdentityPlatformVerifier("food-prod", jwks_url=url), token) == 401


# -- hostile claims: every refusal a 401, never a caller whose ids cannot be document ids --


@pytest.mark.parametrize(
    ("subject", "problem"),
    [
        ("a/b", "contains '/'"),
        ("..", "reserved"),
        (".", "reserved"),
        ("__x__", "reserved"),
        (" ", "blank"),
        (" alice", "blank"),
        ("alice ", "blank"),
        ("a\nb", "control"),
        ("a\tb", "control"),
        ("a\x00b", "control"),
        ("a\u2028b", "separator"),
        ("a\u200bb", "format"),
        ("x" * 129, "longer than 128"),
    ],
    ids=[
        "slash",
        "dot-dot",
        "dot",
        "reserved",
        "blank",
        "leading-blank",
        "trailing-blank",
        "newline",
        "tab",
        "nul",
        "line-separator",
        "zero-width-space",
        "too-long",
    ],
)
def test_a_subject_that_cannot_name_a_caller_is_refused_with_401(
    local_key, subject: str, problem: str
) -> None:
    token = local_token(local_key, sub=subject)
    with pytest.raises(AuthError, match=f"subject cannot name a caller: .*{problem}"):
        LocalIssuer(local_key).verify(token)
    assert status_of(LocalIssuer(local_key), token) == 401


FIREBASE_UIDS = [
    "alice@example.com",
    "github:583231",
    "staff:sam@r-1",
    "auth0|5f7c8ec7c33c6c004bbafe82",
    "Jane Doe",
    "élève.42",
    "x" * 128,
]
"""User ids Identity Platform gives or takes (any 1 to 128 characters): ``@``, ``:``, ``|``,
``.`` and inner spaces are ordinary in custom and federated ones."""


@pytest.mark.parametrize("uid", FIREBASE_UIDS)
def test_an_identity_platform_user_whose_uid_holds_separators_is_accepted(
    jwks_server, uid: str
) -> None:
    key, url = jwks_server
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url)
    assert verifier.verify(google_token(key, "food-prod", sub=uid)) == Principal("customer", uid)
    assert status_of(verifier, google_token(key, "food-prod", sub=uid, iat=int(time.time()))) == 200


@pytest.mark.parametrize("uid", FIREBASE_UIDS)
def test_a_local_token_carries_any_subject_identity_platform_may(local_key, uid: str) -> None:
    token = local_token(local_key, sub=uid)
    assert LocalIssuer(local_key).verify(token) == Principal("customer", uid)
    assert status_of(LocalIssuer(local_key), token) == 200


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("customer:a/b", "'a/b' cannot be a token's subject: it contains '/'"),
        ("staff:sam@r/1", "the restaurant after the last '@' must be one id"),
        ("driver:..", "'..' cannot be a token's subject: '.' and '..' are reserved"),
        ("customer:__x__", "'__x__' cannot be a token's subject: ids matching __.*__ are reserved"),
    ],
)
def test_identities_that_cannot_be_ids_are_refused(spec: str, message: str) -> None:
    with pytest.raises(AuthError, match=re.escape(f"identity {spec!r}: {message}")):
        parse_identity(spec)


@pytest.mark.parametrize(
    ("auth_time", "message"),
    [
        (DROP, "'auth_time' claim must be a time"),
        ("yesterday", "'auth_time' claim must be a time"),
        (True, "'auth_time' claim must be a time"),
        (lambda now: now + 3600, "'auth_time' claim is in the future"),
    ],
    ids=["missing", "not-a-number", "boolean", "future"],
)
def test_an_identity_platform_token_must_say_when_its_user_signed_in(
    jwks_server, auth_time: object, message: str
) -> None:
    private, url = jwks_server
    value = auth_time(int(time.time())) if callable(auth_time) else auth_time
    token = google_token(private, "food-prod", auth_time=value)
    with pytest.raises(AuthError, match=message):
        IdentityPlatformVerifier("food-prod", jwks_url=url).verify(token)
    assert status_of(IdentityPlatformVerifier("food-prod", jwks_url=url), token) == 401


def test_a_key_server_answering_junk_is_an_outage_not_a_crash(jwks_server, published) -> None:
    private, url = jwks_server
    published["body"] = b"<html>502 Bad Gateway</html>"
    token = google_token(private, "food-prod")
    with pytest.raises(VerifierUnavailable):
        IdentityPlatformVerifier("food-prod", jwks_url=url).verify(token)
    assert status_of(IdentityPlatformVerifier("food-prod", jwks_url=url), token) == 503


@pytest.mark.parametrize(
    "body",
    [b"{}", b"[]", b'{"keys": []}', b'{"keys": "k1"}', b'{"keys": [{"kty": "RSA", "kid": "k1"}]}'],
    ids=["no-keys-member", "not-an-object", "no-keys", "keys-not-a-list", "key-without-numbers"],
)
def test_a_key_set_without_a_usable_key_is_an_outage_not_a_bad_token(
    jwks_server, published, body: bytes
) -> None:
    private, url = jwks_server
    published["body"] = body
    token = google_token(private, "food-prod")
    with pytest.raises(VerifierUnavailable):
        IdentityPlatformVerifier("food-prod", jwks_url=url).verify(token)
    assert status_of(IdentityPlatformVerifier("food-prod", jwks_url=url), token) == 503


def test_a_key_just_rotated_in_is_fetched_for_the_first_token_naming_it(
    jwks_server, published
) -> None:
    old, url = jwks_server
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url)
    assert verifier.verify(google_token(old, "food-prod", sub="uid-1"))
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published["body"] = jwks_body(k1=old, k2=new)  # Google publishes the next key

    token = jwt.encode(
        jwt.decode(google_token(old, "food-prod"), options={"verify_signature": False}),
        new,
        algorithm="RS256",
        headers={"kid": "k2"},
    )
    assert verifier.verify(token) == Principal("customer", "uid-1")


def test_tokens_naming_unknown_keys_make_one_fetch_per_cooldown(jwks_server, published) -> None:
    private, url = jwks_server
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url, refresh_cooldown_s=60)
    for n in range(5):
        forged = google_token(private, "food-prod")
        forged = jwt.encode(
            jwt.decode(forged, options={"verify_signature": False}),
            private,
            algorithm="RS256",
            headers={"kid": f"made-up-{n}"},
        )
        with pytest.raises(AuthError, match="no published key"):
            verifier.verify(forged)
    assert published["fetches"] == 2  # the key set, then one forced refresh; the rest wait


def test_a_bff_whose_key_is_unusable_answers_503_without_naming_the_file(tmp_path: Path) -> None:
    key = tmp_path / "dev.pem"
    key.write_text("not a key")
    verifier = verifier_from({"DEV_KEY": str(key)})
    token = LocalIssuer().mint(Principal("customer", "alice"))
    with pytest.raises(VerifierUnavailable) as refused:
        verifier.verify(token)
    assert str(key) not in str(refused.value)  # the caller is told no server path
    assert status_of(verifier_from({"DEV_KEY": str(key)}), token) == 503


# -- a valid token whose account has no role: 403, not 401 (a new token would not help) ------


@pytest.fixture(params=["local", "identity-platform"])
def role_token(request, local_key, jwks_server):
    """``(verifier, make)``: a verifier and a maker of valid tokens for it, claims changed."""
    if request.param == "local":
        return LocalIssuer(local_key), lambda **claims: local_token(local_key, **claims)
    key, url = jwks_server
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url)
    return verifier, lambda **claims: google_token(key, "food-prod", **claims)


@pytest.mark.parametrize("actor", [DROP, None], ids=["no-claim", "null"])
def test_a_valid_token_whose_account_has_no_role_yet_is_403(role_token, actor) -> None:
    verifier, make = role_token
    with pytest.raises(NoRole, match="the account has no role yet"):
        verifier.verify(make(actor=actor))
    answer = answer_of(verifier, make(actor=actor, sub="uid-2"))
    assert answer.status_code == 403
    assert "no role yet" in answer.get_json()["error"]
    # RFC 6750: the token is valid but does not allow the request (no invalid_token, which
    # would send the client to sign in again for a token with the same claims)
    assert answer.headers["WWW-Authenticate"].startswith(
        'Bearer realm="Probe", error="insufficient_scope", error_description="the account '
        "has no role yet"
    )


@pytest.mark.parametrize("actor", ["admin", "", "Customer", 42, ["customer"]])
def test_a_valid_token_whose_role_the_system_does_not_serve_is_403(role_token, actor) -> None:
    verifier, make = role_token
    with pytest.raises(NoRole, match=r"role .* is not one of customer, driver, staff"):
        verifier.verify(make(actor=actor))
    assert status_of(verifier, make(actor=actor, sub="uid-2")) == 403


@pytest.mark.parametrize("actor", ["customer", "driver"])
def test_a_valid_token_naming_a_restaurant_for_a_customer_or_driver_is_403(
    role_token, actor: str
) -> None:
    verifier, make = role_token
    with pytest.raises(NoRole, match="only staff tokens name a 'restaurant', not a"):
        verifier.verify(make(actor=actor, restaurant="r-1"))
    answer = answer_of(verifier, make(actor=actor, restaurant="r-1", sub="uid-2"))
    assert answer.status_code == 403
    assert "only staff tokens name a 'restaurant'" in answer.get_json()["error"]
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "restaurant",
    [DROP, None, "", "r/1", "..", "r:1", "r 1", 42],
    ids=["no-claim", "null", "empty", "slash", "dot-dot", "colon", "blank", "number"],
)
def test_a_valid_staff_token_without_a_restaurant_that_can_be_an_id_is_403(
    role_token, restaurant: object
) -> None:
    verifier, make = role_token
    with pytest.raises(NoRole, match="a staff token must name its 'restaurant'"):
        verifier.verify(make(actor="staff", restaurant=restaurant))
    answer = answer_of(verifier, make(actor="staff", restaurant=restaurant, sub="uid-2"))
    assert answer.status_code == 403
    assert "must name its 'restaurant'" in answer.get_json()["error"]


def test_a_forged_staff_token_without_a_restaurant_is_401_not_403(local_key) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = local_token(stranger, actor="staff")
    assert status_of(LocalIssuer(local_key), forged) == 401


def test_a_token_without_a_role_whose_subject_cannot_name_a_caller_is_still_401(
    role_token,
) -> None:
    verifier, make = role_token
    with pytest.raises(AuthError, match="subject cannot name a caller"):
        verifier.verify(make(actor=DROP, sub="a/b"))


def test_a_forged_token_without_a_role_is_401_not_403(local_key) -> None:
    forged = local_token(rsa.generate_private_key(public_exponent=65537, key_size=2048), actor=DROP)
    assert status_of(LocalIssuer(local_key), forged) == 401


# -- Google's key endpoint failing: the last key set serves for a grace period, then 503 ----


def test_the_last_key_set_serves_while_the_key_endpoint_fails(
    jwks_server, published, caplog
) -> None:
    key, url = jwks_server
    verifier = IdentityPlatformVerifier(
        "food-prod", jwks_url=url, keys_lifespan_s=0.2, keys_grace_s=60, refresh_cooldown_s=60
    )
    assert verifier.verify(google_token(key, "food-prod", sub="uid-1"))
    published["status"] = 503
    time.sleep(0.3)  # the key set's lifespan is over

    with caplog.at_level("WARNING", logger="fooddelivery.auth"):
        assert verifier.verify(google_token(key, "food-prod", sub="uid-2"))
    assert "cannot fetch the signing keys" in caplog.text
    assert status_of(verifier, google_token(key, "food-prod", sub="uid-3")) == 200
    assert published["fetches"] == 2  # the failed fetch is tried again only after the cooldown


def test_the_key_set_is_fetched_again_once_the_endpoint_answers(jwks_server, published) -> None:
    old, url = jwks_server
    verifier = IdentityPlatformVerifier(
        "food-prod", jwks_url=url, keys_lifespan_s=0.2, refresh_cooldown_s=0.1
    )
    assert verifier.verify(google_token(old, "food-prod", sub="uid-1"))
    published["status"] = 503
    time.sleep(0.3)
    assert verifier.verify(google_token(old, "food-prod", sub="uid-2"))  # the stale set

    published["status"] = 200
    published["body"] = jwks_body(k2=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    time.sleep(0.15)  # past the cooldown: the next token fetches the set Google now publishes
    with pytest.raises(AuthError, match="no published key"):
        verifier.verify(google_token(old, "food-prod", sub="uid-3"))


def test_past_the_grace_period_a_failing_key_endpoint_is_an_outage(jwks_server, published) -> None:
    key, url = jwks_server
    verifier = IdentityPlatformVerifier(
        "food-prod", jwks_url=url, keys_lifespan_s=0.2, keys_grace_s=0.3, refresh_cooldown_s=0
    )
    assert verifier.verify(google_token(key, "food-prod", sub="uid-1"))
    published["body"] = b"<html>502 Bad Gateway</html>"
    time.sleep(0.6)  # lifespan and grace period are over
    with pytest.raises(VerifierUnavailable):
        verifier.verify(google_token(key, "food-prod", sub="uid-2"))
    assert status_of(verifier, google_token(key, "food-prod", sub="uid-3")) == 503


def test_while_the_key_endpoint_fails_a_key_the_last_set_lacks_is_an_outage_not_a_bad_token(
    jwks_server, published
) -> None:
    # A long outage outlives Google's key rotation: tokens signed with a key rotated in
    # since cannot be checked. A 401 would have the client sign in again, for a token
    # naming the same key: every one of them is a 503 until the key set can be fetched.
    old, url = jwks_server
    verifier = IdentityPlatformVerifier(
        "food-prod", jwks_url=url, keys_lifespan_s=0.2, keys_grace_s=60, refresh_cooldown_s=60
    )
    assert verifier.verify(google_token(old, "food-prod", sub="uid-1"))
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published["body"] = jwks_body(k1=old, k2=new)
    published["status"] = 503
    time.sleep(0.3)  # the key set's lifespan is over
    claims = jwt.decode(google_token(old, "food-prod"), options={"verify_signature": False})

    for n in range(3):
        token = jwt.encode(claims | {"sub": f"uid-{n + 2}"}, new, "RS256", headers={"kid": "k2"})
        with pytest.raises(VerifierUnavailable):
            verifier.verify(token)
    answer = answer_of(verifier, token)
    assert answer.status_code == 503
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    assert verifier.verify(google_token(old, "food-prod", sub="uid-9"))  # the last set serves
    assert published["fetches"] == 3  # the set, its failed refetch, one forced refresh

    published["status"] = 200
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url)
    forged = jwt.encode(claims, new, "RS256", headers={"kid": "made-up"})
    with pytest.raises(AuthError, match="no published key"):  # the endpoint answers: a 401
        verifier.verify(forged)


# -- Google's key endpoint failing before any key set was fetched: one fetch per cooldown ----


def test_while_no_key_set_was_ever_fetched_a_failing_endpoint_is_tried_once_per_cooldown(
    jwks_server, published
) -> None:
    key, url = jwks_server
    published["status"] = 503  # Google's endpoint fails as the service starts
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url, refresh_cooldown_s=30)
    for n in range(5):
        with pytest.raises(VerifierUnavailable):
            verifier.verify(google_token(key, "food-prod", sub=f"uid-{n}"))
    assert published["fetches"] == 1  # the rest waited for the cooldown, not on Google
    answer = answer_of(verifier, google_token(key, "food-prod", sub="uid-9"))
    assert answer.status_code == 503
    assert 25 <= int(answer.headers["Retry-After"]) <= 30  # when the next fetch is tried
    assert published["fetches"] == 1


def test_once_the_cooldown_is_over_the_key_set_is_fetched_and_tokens_verify(
    jwks_server, published, monkeypatch
) -> None:
    key, url = jwks_server
    # The verifier's own clock: a busy machine must not end the cooldown between two calls.
    now = [1_000.0]
    clock = SimpleNamespace(monotonic=lambda: now[0], time=time.time)
    monkeypatch.setattr(identity_platform, "time", clock)
    published["status"] = 503
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url, refresh_cooldown_s=0.2)
    with pytest.raises(VerifierUnavailable):
        verifier.verify(google_token(key, "food-prod", sub="uid-1"))
    published["status"] = 200
    now[0] += 0.19
    with pytest.raises(VerifierUnavailable):  # still cooling down: no fetch yet
        verifier.verify(google_token(key, "food-prod", sub="uid-2"))
    assert published["fetches"] == 1
    now[0] += 0.02
    assert verifier.verify(google_token(key, "food-prod", sub="uid-3")) == Principal(
        "customer", "uid-3"
    )
    assert published["fetches"] == 2


def test_past_the_grace_period_a_failing_endpoint_is_tried_once_per_cooldown(
    jwks_server, published
) -> None:
    key, url = jwks_server
    verifier = IdentityPlatformVerifier(
        "food-prod", jwks_url=url, keys_lifespan_s=0.1, keys_grace_s=0.1, refresh_cooldown_s=30
    )
    assert verifier.verify(google_token(key, "food-prod", sub="uid-1"))
    published["status"] = 503
    time.sleep(0.3)  # lifespan and grace period are over
    for n in range(3):
        with pytest.raises(VerifierUnavailable):
            verifier.verify(google_token(key, "food-prod", sub=f"uid-{n + 2}"))
    assert published["fetches"] == 2


# -- the key set is kept as long as Google's answer says, within bounds -----------------------

HOURS = 3600.0


@pytest.mark.parametrize(
    ("headers", "kept_s"),
    [
        ({"Cache-Control": "public, max-age=19000, must-revalidate, no-transform"}, 19000),
        ({"Cache-Control": "public, max-age=19000", "Age": "18000"}, 1000),  # cached on the way
        ({"Cache-Control": "max-age=0"}, identity_platform.KEYS_LIFESPAN_BOUNDS_S[0]),
        (
            {"Cache-Control": "public, max-age=31536000"},
            identity_platform.KEYS_LIFESPAN_BOUNDS_S[1],
        ),
        ({}, identity_platform.KEYS_LIFESPAN_S),  # says nothing: an hour
        ({"Cache-Control": "max-age=soon"}, identity_platform.KEYS_LIFESPAN_S),
    ],
    ids=["max-age", "less-its-age", "at-least", "at-most", "none", "junk"],
)
def test_the_key_set_is_kept_as_long_as_its_answer_says_within_bounds(
    jwks_server, published, monkeypatch, headers: dict[str, str], kept_s: float
) -> None:
    key, url = jwks_server
    published["headers"] = headers
    now = [1_000.0]
    monkeypatch.setattr(
        identity_platform, "time", SimpleNamespace(monotonic=lambda: now[0], time=time.time)
    )
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url)
    assert verifier.verify(google_token(key, "food-prod", sub="uid-1"))
    now[0] += kept_s - 1
    assert verifier.verify(google_token(key, "food-prod", sub="uid-2"))
    assert published["fetches"] == 1  # still fresh
    now[0] += 2
    assert verifier.verify(google_token(key, "food-prod", sub="uid-3"))
    assert published["fetches"] == 2  # stale: fetched again


def test_the_bounds_are_sane() -> None:
    least, most = identity_platform.KEYS_LIFESPAN_BOUNDS_S
    assert identity_platform.REFRESH_COOLDOWN_S <= least <= identity_platform.KEYS_LIFESPAN_S
    assert identity_platform.KEYS_LIFESPAN_S <= most <= 24 * HOURS


def test_a_key_rotated_in_is_fetched_before_a_long_max_age_runs_out_once_per_cooldown(
    jwks_server, published, monkeypatch
) -> None:
    old, url = jwks_server
    published["headers"] = {"Cache-Control": "public, max-age=20000"}
    now = [1_000.0]
    monkeypatch.setattr(
        identity_platform, "time", SimpleNamespace(monotonic=lambda: now[0], time=time.time)
    )
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url, refresh_cooldown_s=30)
    assert verifier.verify(google_token(old, "food-prod", sub="uid-1"))
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published["body"] = jwks_body(k1=old, k2=new)
    now[0] += 60
    claims = jwt.decode(google_token(old, "food-prod"), options={"verify_signature": False})
    for n in range(3):
        token = jwt.encode(claims | {"sub": f"uid-{n + 2}"}, new, "RS256", headers={"kid": "k2"})
        assert verifier.verify(token) == Principal("customer", f"uid-{n + 2}")
    assert published["fetches"] == 2  # once for the new key; its set then serves the others
    forged = jwt.encode(claims, new, "RS256", headers={"kid": "made-up"})
    for _ in range(3):
        with pytest.raises(AuthError, match="no published key"):
            verifier.verify(forged)
    assert published["fetches"] == 2  # within the cooldown: unknown ids fetch nothing


# -- local tokens name their signing key, as Identity Platform tokens do ----------------------


def test_a_local_token_names_its_key_by_its_thumbprint(tmp_path: Path) -> None:
    issuer = LocalIssuer.from_file(tmp_path / "dev.pem")
    public = tmp_path / "dev.pub.pem"
    public.write_text(issuer.public_pem())
    token = issuer.mint(Principal("customer", "alice"))

    kid = jwt.get_unverified_header(token)["kid"]
    assert kid == key_id(issuer._public_key) == LocalVerifier.from_file(public).key_id
    assert LocalVerifier.from_file(public).verify(token) == Principal("customer", "alice")
    assert LocalIssuer().key_id != kid  # another key, another id


def test_the_key_id_is_the_rfc_7638_thumbprint() -> None:
    n = (  # RFC 7638, section 3.1
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
        "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    public = jwt.algorithms.RSAAlgorithm.from_jwk({"kty": "RSA", "n": n, "e": "AQAB"})
    assert key_id(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_a_token_of_another_development_key_is_refused_as_such(local_key) -> None:
    token = LocalIssuer().mint(Principal("customer", "alice"))
    with pytest.raises(AuthError, match="minted with another development key"):
        LocalVerifier(local_key.public_key()).verify(token)
    assert status_of(LocalIssuer(local_key), token) == 401


def test_a_token_naming_the_key_but_signed_with_another_is_refused(local_key) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = key_id(local_key.public_key())
    forged = jwt.encode(
        unverified_claims(LocalIssuer(local_key).mint(Principal("customer", "alice")))
        | {"iat": int(time.time()), "exp": int(time.time()) + 60},
        stranger,
        algorithm="RS256",
        headers={"kid": kid},
    )
    with pytest.raises(AuthError, match="Signature verification failed"):
        LocalIssuer(local_key).verify(forged)


def test_a_local_token_naming_no_key_is_still_checked_with_the_key(local_key) -> None:
    assert "kid" not in jwt.get_unverified_header(local_token(local_key))
    assert LocalIssuer(local_key).verify(local_token(local_key)) == Principal("customer", "alice")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(AuthError, match="Signature verification failed"):
        LocalIssuer(local_key).verify(local_token(stranger))


# -- algorithm confusion: only RS256 signatures by the issuer's key ---------------------------


def unsigned_or_hmac(claims: dict, alg: str, secret: bytes, kid: str | None) -> str:
    """A token of ``claims`` whose header says ``alg``: ``none`` (no signature) or ``HS256``
    keyed with ``secret`` (the verifier's public key, as an attacker would)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if alg == "none":
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_a_local_token_signed_otherwise_than_rs256_is_refused(local_key, alg: str) -> None:
    verifier = LocalVerifier(local_key.public_key())
    claims = jwt.decode(local_token(local_key), options={"verify_signature": False})
    token = unsigned_or_hmac(claims, alg, verifier.public_pem().encode(), verifier.key_id)
    with pytest.raises(AuthError, match="invalid token: The specified alg value is not allowed"):
        verifier.verify(token)


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_an_identity_platform_token_signed_otherwise_than_rs256_is_refused(
    jwks_server, alg: str
) -> None:
    key, url = jwks_server
    claims = jwt.decode(google_token(key, "food-prod"), options={"verify_signature": False})
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = unsigned_or_hmac(claims, alg, public, "k1")
    with pytest.raises(AuthError, match="invalid token: The specified alg value is not allowed"):
        IdentityPlatformVerifier("food-prod", jwks_url=url).verify(token)


def test_while_one_request_fetches_the_key_set_the_others_use_the_last_one(
    jwks_server, published
) -> None:
    key, url = jwks_server
    verifier = IdentityPlatformVerifier("food-prod", jwks_url=url, keys_lifespan_s=0.2)
    assert verifier.verify(google_token(key, "food-prod", sub="uid-1"))
    published["hold"], published["held"] = threading.Event(), threading.Event()
    time.sleep(0.3)  # the key set's lifespan is over: the next token fetches it again
    fetching = threading.Thread(
        target=verifier.verify, args=(google_token(key, "food-prod", sub="uid-2"),)
    )
    fetching.start()
    try:
        assert published["held"].wait(5), "the first token did not fetch the key set"
        answered: list[Principal] = []
        other = threading.Thread(
            target=lambda: answered.append(
                verifier.verify(google_token(key, "food-prod", sub="uid-3"))
            )
        )
        other.start()
        other.join(5)
        assert answered == [Principal("customer", "uid-3")], "it waited on the fetch"
    finally:
        published["hold"].set()
        fetching.join(10)
    assert published["fetches"] == 2
