"""Production tokens: Identity Platform / Firebase ID tokens, checked against Google's keys."""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt

from shared.auth.principal import AuthError, VerifierUnavailable
from shared.auth.verifier import CLOCK_SKEW_S, TokenVerifier

GOOGLE_JWKS_URL = (
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
)


class IdentityPlatformVerifier(TokenVerifier):
    """Verifies Identity Platform / Firebase ID tokens for ``project``.

    The actor (and a staff member's restaurant) come from custom claims set by
    the sign-up flow (``actor``, ``restaurant``). Besides the signature, issuer,
    audience and times, a token must say when its user signed in (``auth_time``,
    not after now), as Firebase asks verifiers to check. ``jwks_url`` is
    overridable so tests can serve keys locally.
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
        except (jwt.PyJWKClientConnectionError, ValueError) as e:
            # ValueError: the key server answered with something that is not JSON.
            raise VerifierUnavailable("the signing keys cannot be fetched; try again") from e
        except jwt.PyJWTError as e:
            raise AuthError(f"invalid token: {e}") from e
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self._project,
                issuer=f"https://securetoken.google.com/{self._project}",
                options={"require": ["exp", "iat", "sub"]},
                leeway=CLOCK_SKEW_S,
            )
        except jwt.PyJWTError as e:
            raise AuthError(f"invalid token: {e}") from e
        _check_auth_time(claims.get("auth_time"))
        return claims


def _check_auth_time(auth_time: object) -> None:
    """Refuse a sign-in time that is missing, not a number of seconds, or in the future."""
    if isinstance(auth_time, bool) or not isinstance(auth_time, int):
        raise AuthError("invalid token: the 'auth_time' claim must be a time in seconds")
    if auth_time > time.time() + CLOCK_SKEW_S:
        raise AuthError("invalid token: the 'auth_time' claim is in the future")
