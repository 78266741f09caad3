"""The verifier port: a bearer token in, a :class:`~shared.auth.principal.Principal` out."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jwt

from shared.auth.principal import AuthError, Principal, VerifierUnavailable

CLOCK_SKEW_S = 30
"""How far the issuer's clock may be ahead of or behind ours (``iat``, ``nbf``, ``exp``)."""
_QUOTING_REASONS = {
    "Invalid header string": "its header is not a JSON object",
    "Invalid payload string": "its payload is not a JSON object",
    "Unsupported critical extension": (
        "its header names a critical extension ('crit') this API does not support"
    ),
}
"""PyJWT's reasons that go on to quote the token (``reason: what it holds``), and ours."""


def refusal(error: jwt.PyJWTError) -> AuthError:
    """The :class:`AuthError` for a token PyJWT refused, saying why in PyJWT's words, but
    never repeating what the token holds.

    The reason reaches the caller (the 401's body and its ``WWW-Authenticate`` challenge):
    the few of PyJWT's that quote the token (a critical extension it does not support, a
    header that is not JSON) would send back whatever anyone put in one, so ours replace them.
    """
    reason = str(error)
    quoting, colon, _ = reason.partition(": ")
    if colon and quoting in _QUOTING_REASONS:
        reason = _QUOTING_REASONS[quoting]
    return AuthError(f"invalid token: {reason}")


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


class DeferredVerifier(TokenVerifier):
    """A verifier built when the first token arrives.

    Every function of a subsystem runs its bootstrap, but only the BFF APIs
    verify tokens; deferring keeps the others from needing the verifier's key
    (on Google Cloud the development key is mounted into the BFF APIs only).
    A verifier that cannot be built (its key is missing or unusable) is the
    server's fault, not the token's: :class:`VerifierUnavailable` (503, the cause
    logged, no path told to the caller), and the next token tries again.
    """

    def __init__(self, build: Callable[[], TokenVerifier]) -> None:
        super().__init__()
        self._build: Callable[[], TokenVerifier] = build
        self._built: TokenVerifier | None = None
        self._build_lock = threading.Lock()

    def _decode(self, token: str) -> dict[str, Any]:
        with self._build_lock:
            if self._built is None:
                try:
                    self._built = self._build()
                except AuthError as e:
                    raise VerifierUnavailable("tokens cannot be checked: no usable key") from e
        return self._built._decode(token)
