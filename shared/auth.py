"""Bearer-token authentication for BFF APIs.

Two verifiers share one port:

* :class:`LocalIssuer` signs and verifies RS256 tokens with a key generated on
  the developer's machine (embedded and emulator modes; ``fooddelivery token``);
* :class:`IdentityPlatformVerifier` verifies Google Identity Platform / Firebase
  ID tokens against Google's published keys (production), reading the actor
  from a custom claim.

A token's claims become a :class:`Principal`: who (``subject``), acting as what
(``actor``: customer, driver or staff) and, for staff, which ``restaurant``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.exceptions import KitError
from shared.paths import LOCAL_STATE

Actor = Literal["customer", "driver", "staff"]
ACTORS: tuple[Actor, ...] = ("customer", "driver", "staff")
LOCAL_ISSUER = "https://fooddelivery.local/issuer"
DEV_KEY_PATH = LOCAL_STATE / "dev-signing-key.pem"
"""Where the local issuer keeps its key (override with FOODDELIVERY_DEV_KEY).

Anchored to the project (like ``build/`` and ``terraform/``), not to the
current directory, so ``token``, ``demo`` and ``dev`` share one key wherever
they run.
"""
AUDIENCE = "fooddelivery"
CLOCK_SKEW_S = 30
"""How far the issuer's clock may be ahead of or behind ours (``iat``, ``nbf``, ``exp``)."""


class AuthError(KitError):
    """The request's credentials are missing or invalid (HTTP 401)."""


class VerifierUnavailable(KitError):
    """Tokens cannot be checked right now, e.g. the signing keys cannot be fetched (HTTP 503)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    actor: Actor
    subject: str
    restaurant: str | None = None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """Read the kit's claims (``sub``, ``actor``, optional ``restaurant``)."""
        actor, subject = claims.get("actor"), claims.get("sub")
        if actor not in ACTORS:
            raise AuthError(f"token has no valid 'actor' claim (one of {', '.join(ACTORS)})")
        if not isinstance(subject, str) or not subject:
            raise AuthError("token has no subject")
        restaurant = claims.get("restaurant")
        if actor == "staff" and not isinstance(restaurant, str):
            raise AuthError("a staff token must name its 'restaurant'")
        return cls(actor, subject, restaurant if isinstance(restaurant, str) else None)


class TokenVerifier(ABC):
    """Turns a bearer token into a :class:`Principal` or raises :class:`AuthError`.

    A token that verified once is remembered until it expires, so an app
    calling many times with one token pays for the signature check once.
    """

    CACHE_SIZE = 4096

    def __init__(self) -> None:
        self._verified: OrderedDict[str, tuple[Principal, int]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """Verify signature, issuer, audience and expiry; return the caller."""
        now = int(time.time())
        with self._cache_lock:
            hit = self._verified.get(token)
            if hit is not None and hit[1] > now:
                self._verified.move_to_end(token)
                return hit[0]
        claims = self._decode(token)
        principal = Principal.from_claims(claims)
        with self._cache_lock:
            self._verified[token] = (principal, int(claims["exp"]))
            if len(self._verified) > self.CACHE_SIZE:
                self._verified.popitem(last=False)
        return principal

    @abstractmethod
    def _decode(self, token: str) -> dict[str, Any]:
        """The verified claims (signature, issuer, audience, expiry), or :class:`AuthError`."""


class LocalVerifier(TokenVerifier):
    """Verifies the development issuer's RS256 tokens with its public key only."""

    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        super().__init__()
        self._public_key = public_key

    @classmethod
    def from_file(cls, path: Path) -> LocalVerifier:
        """The verifier for the key at ``path``: a public key, or the issuer's private key."""
        pem = _read_key(path)
        try:
            if b"PRIVATE KEY" in pem:
                private = serialization.load_pem_private_key(pem, password=None)
                public = private.public_key() if isinstance(private, rsa.RSAPrivateKey) else None
            else:
                loaded = serialization.load_pem_public_key(pem)
                public = loaded if isinstance(loaded, rsa.RSAPublicKey) else None
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            raise AuthError(f"{path} is not a PEM key: {e}") from e
        if public is None:
            raise AuthError(f"{path} is not an RSA key")
        return cls(public)

    def public_pem(self) -> str:
        """The public key in PEM, for verifiers that must not be able to mint."""
        return self._public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                audience=AUDIENCE,
                issuer=LOCAL_ISSUER,
                options={"require": ["exp", "iat", "sub"]},
                leeway=CLOCK_SKEW_S,
            )
        except jwt.PyJWTError as e:
            raise AuthError(f"invalid token: {e}") from e
        return claims


class LocalIssuer(LocalVerifier):
    """A development issuer: mints and verifies RS256 tokens with a local key."""

    def __init__(self, private_key: rsa.RSAPrivateKey | None = None) -> None:
        key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        super().__init__(key.public_key())
        self._key = key

    @classmethod
    def from_file(cls, path: Path) -> LocalIssuer:
        """Load the private key at ``path``, creating it (mode 0600) on first use.

        A file that cannot be read or created, or that holds anything but an
        unencrypted RSA private key, is an :class:`AuthError` naming the path.
        """
        if path.exists():
            return cls._load(path)
        issuer = cls()
        pem = issuer._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as e:
            raise AuthError(
                f"cannot create the development key {path}: {e.filename} is not a directory"
            ) from e
        except OSError as e:
            raise AuthError(f"cannot create the development key {path}: {_reason(e)}") from e
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if path.exists():  # another process created it first: share that key
                return cls._load(path)
            raise AuthError(
                f"cannot create the development key {path}: it is a broken symbolic link"
            ) from None
        except OSError as e:
            raise AuthError(f"cannot create the development key {path}: {_reason(e)}") from e
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        except OSError as e:
            path.unlink(missing_ok=True)
            raise AuthError(f"cannot write the development key {path}: {_reason(e)}") from e
        return issuer

    @classmethod
    def _load(cls, path: Path) -> LocalIssuer:
        pem = _read_key(path)
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except TypeError as e:  # encrypted
            raise AuthError(f"{path} is encrypted; the development key has no password") from e
        except (ValueError, UnsupportedAlgorithm) as e:
            if b"PUBLIC KEY-----" in pem and b"PRIVATE KEY-----" not in pem:
                raise AuthError(
                    f"{path} holds a public key; the development key must be the private key"
                ) from e
            raise AuthError(f"{path} is not a PEM private key") from e
        if not isinstance(key, rsa.RSAPrivateKey):
            raise AuthError(f"{path} is not an RSA private key")
        return cls(key)

    def mint(self, principal: Principal, ttl_s: int = 3600) -> str:
        """A signed token for ``principal`` valid for ``ttl_s`` seconds."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": LOCAL_ISSUER,
            "aud": AUDIENCE,
            "sub": principal.subject,
            "actor": principal.actor,
            "iat": now,
            "exp": now + ttl_s,
        }
        if principal.restaurant is not None:
            claims["restaurant"] = principal.restaurant
        return jwt.encode(claims, self._key, algorithm="RS256")


def _reason(error: OSError) -> str:
    """The OS's words for ``error``, without Python's ``[Errno n]`` prefix."""
    return error.strerror or str(error)


def _read_key(path: Path) -> bytes:
    """The bytes of the key file at ``path``, or an :class:`AuthError` saying why not."""
    if path.is_dir():
        raise AuthError(f"the development key {path} is a directory; it must name the key file")
    try:
        return path.read_bytes()
    except OSError as e:
        raise AuthError(f"cannot read the development key {path}: {_reason(e)}") from e


GOOGLE_JWKS_URL = (
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
)


class IdentityPlatformVerifier(TokenVerifier):
    """Verifies Identity Platform / Firebase ID tokens for ``project``.

    The actor (and a staff member's restaurant) come from custom claims set by
    the sign-up flow (``actor``, ``restaurant``). ``jwks_url`` is overridable so
    tests can serve keys locally.
    """

    def __init__(
        self, project: str, jwks_url: str = GOOGLE_JWKS_URL, *, keys_lifespan_s: float = 3600
    ) -> None:
        super().__init__()
        self._project = project
        # The key set is cached for ``keys_lifespan_s``; single keys are not cached apart
        # from it (PyJWT's key cache never forgets a key Google has rotated out).
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=False, lifespan=keys_lifespan_s)
        self._lock = threading.Lock()

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            with self._lock:
                key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self._project,
                issuer=f"https://securetoken.google.com/{self._project}",
                options={"require": ["exp", "iat", "sub"]},
                leeway=CLOCK_SKEW_S,
            )
        except jwt.PyJWKClientConnectionError as e:
            raise VerifierUnavailable("the signing keys cannot be fetched; try again") from e
        except jwt.PyJWTError as e:
            raise AuthError(f"invalid token: {e}") from e
        return claims


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, or :class:`AuthError`."""
    if not authorization:
        raise AuthError("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


_NAME = re.compile(r"[^\s:@]+")
"""A subject or restaurant id: no whitespace, and neither separator (``:`` or ``@``)."""


def parse_identity(spec: str) -> Principal:
    """Parse ``ACTOR:NAME``, or ``staff:NAME@RESTAURANT`` for a restaurant's staff.

    For example ``customer:alice``, ``driver:dan`` or ``staff:sam@r-1`` (staff
    of restaurant r-1). Only staff belong to a restaurant, and neither the name
    nor the restaurant may contain ``:``, ``@`` or whitespace.
    """
    actor, _, rest = spec.partition(":")
    subject, at, restaurant = rest.partition("@")
    if actor not in ACTORS or not _NAME.fullmatch(subject):
        raise AuthError(f"identity {spec!r} must look like customer:alice or staff:sam@r-1")
    if actor != "staff" and at:
        raise AuthError(f"only staff have a restaurant: {actor}:{subject}, not {spec!r}")
    if actor == "staff" and not restaurant:
        raise AuthError("a staff identity needs its restaurant: staff:sam@r-1")
    if actor == "staff" and not _NAME.fullmatch(restaurant):
        raise AuthError(f"identity {spec!r}: the restaurant must be one id, like staff:sam@r-1")
    return Principal(actor, subject, restaurant or None)


class DeferredVerifier(TokenVerifier):
    """A verifier built when the first token arrives.

    Every function of a subsystem runs its bootstrap, but only the BFF APIs
    verify tokens; deferring keeps the others from needing the verifier's key
    (on Google Cloud the development key is mounted into the BFF APIs only).
    """

    def __init__(self, build: Callable[[], TokenVerifier]) -> None:
        super().__init__()
        self._build: Callable[[], TokenVerifier] = build
        self._built: TokenVerifier | None = None
        self._build_lock = threading.Lock()

    def _decode(self, token: str) -> dict[str, Any]:
        with self._build_lock:
            if self._built is None:
                self._built = self._build()
        return self._built._decode(token)


def verifier_from(settings: Mapping[str, str]) -> TokenVerifier:
    """The verifier a deployment's settings ask for.

    ``AUTH=identity-platform`` verifies Identity Platform tokens of
    ``IDENTITY_PROJECT``; otherwise (development) the local issuer's key at
    ``DEV_KEY`` (default :data:`DEV_KEY_PATH`) is used, read
    when the first token is verified. On a workstation that file is the
    issuer's private key (created on first use); a deployment gives the BFFs
    only its public key (``fooddelivery token --public-key``), so they can
    verify tokens but not mint them.
    """
    mode = settings.get("AUTH", "local")
    if mode == "identity-platform":
        project = settings.get("IDENTITY_PROJECT")
        if not project:
            raise AuthError("AUTH=identity-platform needs FOODDELIVERY_IDENTITY_PROJECT")
        return IdentityPlatformVerifier(project, settings.get("JWKS_URL", GOOGLE_JWKS_URL))
    if mode != "local":
        raise AuthError(f"FOODDELIVERY_AUTH must be local or identity-platform, not {mode!r}")
    key = Path(settings.get("DEV_KEY", str(DEV_KEY_PATH)))
    return DeferredVerifier(
        lambda: LocalIssuer.from_file(key) if not key.exists() else LocalVerifier.from_file(key)
    )
