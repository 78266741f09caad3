"""Production tokens: Identity Platform / Firebase ID tokens, checked against Google's keys."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import jwt

from shared.auth.principal import AuthError, VerifierUnavailable
from shared.auth.verifier import CLOCK_SKEW_S, TokenVerifier

GOOGLE_JWKS_URL = (
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
)
FETCH_TIMEOUT_S = 5.0
"""How long a fetch of the key set may take: every request waiting on it waits as long."""
REFRESH_COOLDOWN_S = 30.0
"""The least time between two fetches forced by tokens naming a key id the key set lacks,
and between two tries to fetch the key set again while the endpoint fails."""
KEYS_GRACE_S = 24 * 3600.0
"""How long past its lifespan the last key set fetched is still used while the endpoint fails.

Google publishes a signing key well before tokens are signed with it and rotates keys about
daily, so a key set a day out of date still verifies almost every token."""
_log = logging.getLogger("fooddelivery.auth")


class IdentityPlatformVerifier(TokenVerifier):
    """Verifies Identity Platform / Firebase ID tokens for ``project``.

    The actor (and a staff member's restaurant) come from custom claims set by
    the sign-up flow (``actor``, ``restaurant``). Besides the signature, issuer,
    audience and times, a token must say when its user signed in (``auth_time``,
    not after now), as Firebase asks verifiers to check. ``jwks_url`` is
    overridable so tests can serve keys locally.

    Google's key set is kept for ``keys_lifespan_s``. When it cannot be fetched
    again once that has passed, the last one fetched is still used (a warning
    logged, a new fetch tried at most once per ``refresh_cooldown_s``) for up to
    ``keys_grace_s`` more; only then are tokens :class:`VerifierUnavailable`.
    """

    def __init__(
        self,
        project: str,
        jwks_url: str = GOOGLE_JWKS_URL,
        *,
        keys_lifespan_s: float = 3600,
        keys_grace_s: float = KEYS_GRACE_S,
        refresh_cooldown_s: float = REFRESH_COOLDOWN_S,
    ) -> None:
        super().__init__()
        self._project = project
        # The kit caches the key set itself (PyJWT's cache drops it once its lifespan is
        # over, so it cannot stand in while the endpoint fails);
        # single keys are not cached apart from it (PyJWT's key cache never forgets a key
        # Google has rotated out).
        self._jwks = jwt.PyJWKClient(
            jwks_url, cache_keys=False, cache_jwk_set=False, timeout=FETCH_TIMEOUT_S
        )
        self._lifespan_s, self._grace_s = keys_lifespan_s, keys_grace_s
        self._refresh_cooldown_s = refresh_cooldown_s
        self._refreshed_at: float | None = None
        self._key_set: list[jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    def _decode(self, token: str) -> dict[str, Any]:
        key = self._signing_key(token)
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

    def _signing_key(self, token: str) -> jwt.PyJWK:
        """The published key the token's header names (``kid``).

        A key id the cached key set does not hold makes the set be fetched again (a key
        Google has just rotated in), at most once per cooldown, so tokens naming made-up
        ids cannot make every request a fetch. A key set that cannot be fetched or holds
        no usable key is :class:`VerifierUnavailable`, never the token's fault.
        """
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as e:
            raise AuthError(f"invalid token: {e}") from e
        if not isinstance(kid, str) or not kid:
            raise AuthError("invalid token: its header names no signing key ('kid')")
        with self._lock:
            key = _with_id(self._keys(refresh=False), kid)
            now = time.monotonic()
            cooling = (
                self._refreshed_at is not None
                and now - self._refreshed_at < self._refresh_cooldown_s
            )
            if key is None and not cooling:
                self._refreshed_at = now
                key = _with_id(self._keys(refresh=True), kid)
        if key is None:
            raise AuthError("invalid token: no published key has its key id ('kid')")
        return key

    def _keys(self, *, refresh: bool) -> list[jwt.PyJWK]:
        """The published signing keys, or VerifierUnavailable.

        The cached key set unless ``refresh`` or its lifespan is over; past it, a key
        set that cannot be fetched is replaced by the cached one within the grace
        period. A forced ``refresh`` that fails is VerifierUnavailable: the token
        names a key the cached set lacks, so it cannot help.
        """
        now = time.monotonic()
        age = now - self._fetched_at
        if not refresh and self._key_set is not None:
            if age < self._lifespan_s:
                return self._key_set
            retried_lately = (
                self._failed_at is not None and now - self._failed_at < self._refresh_cooldown_s
            )
            if retried_lately and age < self._lifespan_s + self._grace_s:
                return self._key_set
        try:
            keys = self._jwks.get_signing_keys()
        except (jwt.PyJWTError, ValueError) as e:
            # ValueError: the key server answered with something that is not JSON; the
            # PyJWT errors: no answer, or one that is not a key set with a usable key.
            self._failed_at = now
            if not refresh and self._key_set is not None and age < self._lifespan_s + self._grace_s:
                _log.warning(
                    "cannot fetch the signing keys (%s); using those fetched %.0f s ago "
                    "for up to %.0f s more",
                    e,
                    age,
                    self._lifespan_s + self._grace_s - age,
                )
                return self._key_set
            raise VerifierUnavailable("the signing keys cannot be fetched; try again") from e
        self._key_set, self._fetched_at, self._failed_at = keys, time.monotonic(), None
        return keys


def _with_id(keys: list[jwt.PyJWK], kid: str) -> jwt.PyJWK | None:
    """The key of ``keys`` whose id is ``kid``, if any."""
    return next((key for key in keys if key.key_id == kid), None)


def _check_auth_time(auth_time: object) -> None:
    """Refuse a sign-in time that is missing, not a number of seconds, or in the future."""
    if isinstance(auth_time, bool) or not isinstance(auth_time, int):
        raise AuthError("invalid token: the 'auth_time' claim must be a time in seconds")
    if auth_time > time.time() + CLOCK_SKEW_S:
        raise AuthError("invalid token: the 'auth_time' claim is in the future")
