"""Production tokens: Identity Platform / Firebase ID tokens, checked against Google's keys."""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import threading
import time
import urllib.request
from typing import Any
from urllib.error import URLError
from urllib.parse import urlparse

import jwt

from shared.auth.principal import AuthError, VerifierUnavailable
from shared.auth.verifier import CLOCK_SKEW_S, TokenVerifier, refusal
from shared.exceptions import SettingError

GOOGLE_JWKS_URL = (
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
)
FETCH_TIMEOUT_S = 5.0
"""How long a fetch of the key set may take: every request waiting on it waits as long."""
REFRESH_COOLDOWN_S = 30.0
"""The least time between two fetches forced by tokens naming a key id the key set lacks,
and between two tries to fetch the key set while the endpoint fails (one was ever fetched or
not)."""
KEYS_LIFESPAN_S = 3600.0
"""How long a key set is kept when its answer says nothing of it (no ``max-age``)."""
KEYS_LIFESPAN_BOUNDS_S = (60.0, 6 * 3600.0)
"""The least and the most a key set is kept, whatever its answer's ``max-age`` says.

Google's answers say some hours. The least keeps an answer that says ``max-age=0`` from
making every token a fetch; the most drops a key Google has withdrawn within hours,
whatever a cache on the way says."""
KEYS_GRACE_S = 24 * 3600.0
"""How long past its lifespan the last key set fetched is still used while the endpoint fails.

Google publishes a signing key well before tokens are signed with it and rotates keys about
daily, so a key set a day out of date still verifies almost every token."""
_log = logging.getLogger("fooddelivery.auth")


class IdentityPlatformVerifier(TokenVerifier):
    """Verifies Identity Platform / Firebase ID tokens for ``project``.

    The actor (and a staff member's restaurant) come from custom claims set by
    the sign-up flow (``actor``, ``restaurant``). Only the Admin SDK, run with the
    identity project's credentials, sets custom claims, never a user signing in or up:
    that is what lets them grant roles, so a sign-up flow must not copy one from what
    the user asked for (a staff role needs the restaurant's say).

    Besides the signature, issuer, audience (the project itself, as Firebase asks: not
    a list that names it) and times, a token must say when its user signed in
    (``auth_time``, not after now), as Firebase asks verifiers to check. ``jwks_url`` is
    overridable so tests can serve keys locally: over https, or plain http only from
    this machine.

    Being built with no ``project``, an empty ``tenant`` or a ``jwks_url`` it may not fetch
    from is a deployment's mistake, not a caller's: a
    :class:`~shared.exceptions.SettingError`, never an :class:`AuthError` (a 401).

    With Identity Platform's multi-tenancy a token names the tenant its user signed
    in to (``firebase.tenant``): a token is accepted only from ``tenant``, and
    without one only from the project's own users, so the users of another tenant
    (another app's, whose claims another sign-up flow sets) are never let in.

    Google's key set is kept as long as its answer's ``Cache-Control: max-age`` says
    (less its ``Age``, as a cache on the way counts it), kept within
    ``keys_lifespan_bounds_s``; :data:`KEYS_LIFESPAN_S` when it says nothing
    (``keys_lifespan_s`` keeps every key set that long whatever it says). A token
    naming a key id the set lacks has it fetched again before then, once per
    ``refresh_cooldown_s``. When it cannot be fetched again once its lifespan has
    passed, the last one fetched is still used (a warning logged, a new fetch tried at
    most once per ``refresh_cooldown_s``) for up to ``keys_grace_s`` more; only then are
    tokens :class:`VerifierUnavailable`. The cooldown holds as well while no key set was
    ever fetched (Google's endpoint failing as the service starts): tokens are then
    :class:`VerifierUnavailable`, naming when the next fetch will be tried, without a
    fetch each. While the endpoint fails, a token naming a key id the last set lacks is
    :class:`VerifierUnavailable` too, not refused: its key may have been rotated in since.
    """

    def __init__(
        self,
        project: str,
        jwks_url: str = GOOGLE_JWKS_URL,
        *,
        keys_lifespan_s: float | None = None,
        keys_lifespan_bounds_s: tuple[float, float] = KEYS_LIFESPAN_BOUNDS_S,
        keys_grace_s: float = KEYS_GRACE_S,
        refresh_cooldown_s: float = REFRESH_COOLDOWN_S,
        tenant: str | None = None,
    ) -> None:
        super().__init__()
        if not project:
            raise SettingError("an Identity Platform verifier needs the project it verifies for")
        if tenant == "":
            raise SettingError("the tenant must be a tenant id, or None for the project's users")
        self._project, self._tenant = project, tenant
        if not _trusted_key_url(jwks_url):
            raise SettingError(
                "the signing keys' URL must be https (http only on this machine, for tests), "
                f"not {jwks_url!r}"
            )
        # The kit fetches and caches the key set itself: PyJWT's client reads no answer's
        # Cache-Control, and its cache drops a key set once its lifespan is over, so it
        # cannot stand in while the endpoint fails.
        self._jwks_url = jwks_url
        self._fixed_lifespan_s, self._lifespan_bounds_s = keys_lifespan_s, keys_lifespan_bounds_s
        self._lifespan_s, self._grace_s = KEYS_LIFESPAN_S, keys_grace_s
        """The current key set's lifespan (its answer's), and the grace after it."""
        self._refresh_cooldown_s = refresh_cooldown_s
        self._refreshed_at: float | None = None
        self._key_set: list[jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._failed_at: float | None = None
        self._lock = threading.Lock()
        """Guards the fields above; never held during a fetch."""
        self._fetching = threading.Lock()
        """Held by the one request fetching the key set."""

    def _decode(self, token: str) -> dict[str, Any]:
        key = self._signing_key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self._project,
                issuer=f"https://securetoken.google.com/{self._project}",
                options={"require": ["exp", "iat", "sub"], "strict_aud": True},
                leeway=CLOCK_SKEW_S,
            )
        except jwt.PyJWTError as e:
            raise refusal(e) from e
        _check_auth_time(claims.get("auth_time"))
        self._check_tenant(claims.get("firebase"))
        return claims

    def _check_tenant(self, firebase: object) -> None:
        """Refuse a token of a tenant other than the one this deployment serves."""
        tenant = firebase.get("tenant") if isinstance(firebase, dict) else None
        if tenant == self._tenant:
            return
        served = f"tenant {self._tenant!r}" if self._tenant else "the project's own users"
        of = f"tenant {tenant!r}" if tenant is not None else "the project's own users"
        raise AuthError(f"invalid token: it signs in a user of {of}; this API serves {served}")

    def _signing_key(self, token: str) -> jwt.PyJWK:
        """The published key the token's header names (``kid``).

        A key id the cached key set does not hold makes the set be fetched again (a key
        Google has just rotated in), at most once per cooldown, so tokens naming made-up
        ids cannot make every request a fetch. A key set that cannot be fetched or holds
        no usable key is :class:`VerifierUnavailable`, never the token's fault; so is a key
        id the set lacks while the last fetch failed (:meth:`_unknown_key`).
        """
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as e:
            raise refusal(e) from e
        if not isinstance(kid, str) or not kid:
            raise AuthError("invalid token: its header names no signing key ('kid')")
        key = _with_id(self._keys(refresh=False), kid)
        if key is None and self._may_force_refresh():
            key = _with_id(self._keys(refresh=True), kid)
        if key is None:
            raise self._unknown_key()
        return key

    def _unknown_key(self) -> AuthError | VerifierUnavailable:
        """The refusal of a token naming a key id the key set lacks: :class:`AuthError`; but
        while the last fetch of the key set failed, :class:`VerifierUnavailable`, to be tried
        again once a fetch may be: the key may be one Google has rotated in since, and a 401
        would only make the client sign in again for a token naming the same key."""
        with self._lock:
            if self._failed_at is None:
                return AuthError("invalid token: no published key has its key id ('kid')")
            last = self._failed_at if self._refreshed_at is None else self._refreshed_at
            wait_s = max(0.0, last + self._refresh_cooldown_s - time.monotonic())
        return VerifierUnavailable(
            "the signing keys cannot be fetched to check the token's key id ('kid'); try again",
            retry_after_s=wait_s,
        )

    def _may_force_refresh(self) -> bool:
        """Whether a token naming a key id the key set lacks may have it fetched again now
        (once per cooldown); if so, the cooldown starts."""
        with self._lock:
            now = time.monotonic()
            last = self._refreshed_at
            if last is not None and now - last < self._refresh_cooldown_s:
                return False
            self._refreshed_at = now
            return True

    def _keys(self, *, refresh: bool) -> list[jwt.PyJWK]:
        """The published signing keys, or VerifierUnavailable.

        The cached key set unless ``refresh`` or its lifespan is over; past it, a key
        set that cannot be fetched is replaced by the cached one within the grace
        period. A forced ``refresh`` that fails is VerifierUnavailable: the token
        names a key the cached set lacks, so it cannot help. Once a fetch failed, none
        is tried again before the cooldown is over, whether or not a key set was ever
        fetched (an outage at start-up must not make every request a fetch): meanwhile
        the cached set serves within its grace period, or the keys are unavailable
        until the cooldown ends.

        One request fetches at a time. While it does, the others use the cached set
        within its grace period rather than wait (a hanging endpoint would hold each of
        them up to :data:`FETCH_TIMEOUT_S`); only with no such set do they wait, and then
        take what that fetch brought, or its failure's cooldown.
        """
        with self._lock:
            cached, fallback = self._cached(refresh)
        if cached is not None:
            return cached
        if fallback is None:
            self._fetching.acquire()
        elif not self._fetching.acquire(blocking=False):
            return fallback  # another request is fetching: the last key set serves meanwhile
        try:
            with self._lock:  # another request may have fetched (or failed) meanwhile
                cached, fallback = self._cached(refresh)
            return cached if cached is not None else self._fetch(refresh, fallback)
        finally:
            self._fetching.release()

    def _cached(self, refresh: bool) -> tuple[list[jwt.PyJWK] | None, list[jwt.PyJWK] | None]:
        """``(keys, fallback)``: the key set to use without a fetch (``None``: fetch one), and
        the one to use if the fetch fails (``None``: none); VerifierUnavailable while a
        failed fetch's cooldown runs with no key set to fall back on. Called holding the lock.
        """
        now = time.monotonic()
        age = now - self._fetched_at
        fallback = self._key_set if age < self._lifespan_s + self._grace_s else None
        if refresh:
            return None, None
        if self._key_set is not None and age < self._lifespan_s:
            return self._key_set, fallback
        if self._failed_at is not None:
            wait_s = self._failed_at + self._refresh_cooldown_s - now
            if wait_s > 0:  # the endpoint failed lately: no request fetches before the cooldown
                if fallback is not None:
                    return fallback, fallback
                raise VerifierUnavailable(
                    "the signing keys cannot be fetched; try again", retry_after_s=wait_s
                )
        return None, fallback

    def _fetch(self, refresh: bool, fallback: list[jwt.PyJWK] | None) -> list[jwt.PyJWK]:
        """Fetch the key set, or on failure use ``fallback`` (unless ``refresh``)."""
        started = time.monotonic()
        try:
            keys, fresh_s = _fetch_key_set(self._jwks_url)
        except (jwt.PyJWTError, ValueError) as e:
            # ValueError: the key server answered with something that is not JSON; the
            # PyJWT errors: no answer, or one that is not a key set with a usable key.
            with self._lock:
                self._failed_at = started
                age = started - self._fetched_at
            if not refresh and fallback is not None:
                _log.warning(
                    "cannot fetch the signing keys (%s); using those fetched %.0f s ago "
                    "for up to %.0f s more",
                    e,
                    age,
                    self._lifespan_s + self._grace_s - age,
                )
                return fallback
            raise VerifierUnavailable(
                "the signing keys cannot be fetched; try again",
                retry_after_s=self._refresh_cooldown_s,
            ) from e
        lifespan_s = self._lifespan_for(fresh_s)
        with self._lock:
            self._key_set, self._fetched_at, self._failed_at = keys, time.monotonic(), None
            self._lifespan_s = lifespan_s
        return keys

    def _lifespan_for(self, fresh_s: float | None) -> float:
        """How long to keep a key set whose answer says it is fresh for ``fresh_s``."""
        if self._fixed_lifespan_s is not None:
            return self._fixed_lifespan_s
        if fresh_s is None:
            return KEYS_LIFESPAN_S
        least, most = self._lifespan_bounds_s
        return min(most, max(least, fresh_s))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuses to follow a redirect: the key set is read from the URL given, or not at all."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def _fetch_key_set(url: str) -> tuple[list[jwt.PyJWK], float | None]:
    """The signing keys published at ``url``, and for how long its answer says they are
    fresh (:func:`_freshness_s`).

    Raises a :class:`jwt.PyJWTError` when nothing answers (or not 2xx) or the answer holds
    no usable signing key, ``ValueError`` when it is not JSON.
    """
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with _OPENER.open(request, timeout=FETCH_TIMEOUT_S) as response:
            data = json.load(response)
            fresh_s = _freshness_s(response.headers)
    except (URLError, OSError, http.client.HTTPException) as e:  # OSError: timeouts too
        raise jwt.PyJWKClientConnectionError(f"cannot fetch {url}: {e}") from e
    if not isinstance(data, dict):
        raise jwt.PyJWKClientError("the key server's answer is not a JSON object")
    key_set = jwt.PyJWKSet.from_dict(data)
    keys = [k for k in key_set.keys if k.public_key_use in ("sig", None) and k.key_id]
    if not keys:
        raise jwt.PyJWKClientError("the key server's answer holds no signing key with an id")
    return keys, fresh_s


def _freshness_s(headers: http.client.HTTPMessage) -> float | None:
    """How long an answer stays fresh by its headers: its ``Cache-Control`` ``max-age`` less
    its ``Age`` (RFC 9111); ``None`` when it names no usable ``max-age``."""
    directives = ",".join(headers.get_all("Cache-Control") or [])
    max_age: int | None = None
    for directive in directives.split(","):
        name, _, value = directive.partition("=")
        if name.strip().lower() == "max-age":
            value = value.strip().strip('"')
            max_age = int(value) if value.isascii() and value.isdecimal() else None
            break
    if max_age is None:
        return None
    age = (headers.get("Age") or "").strip()
    return float(max_age - (int(age) if age.isascii() and age.isdecimal() else 0))


def _trusted_key_url(url: str) -> bool:
    """Whether the key set may be fetched from ``url``: over https, or over http from this
    machine (a test's key server). Whoever can answer a plain-http fetch on the way could
    publish keys of their own, and sign any token."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "https":
        return bool(parsed.hostname)
    if scheme != "http" or not parsed.hostname:
        return False
    if parsed.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parsed.hostname).is_loopback
    except ValueError:
        return False


def _with_id(keys: list[jwt.PyJWK], kid: str) -> jwt.PyJWK | None:
    """The key of ``keys`` whose id is ``kid``, if any."""
    return next((key for key in keys if key.key_id == kid), None)


def _check_auth_time(auth_time: object) -> None:
    """Refuse a sign-in time that is missing, not a number of seconds, or in the future."""
    if isinstance(auth_time, bool) or not isinstance(auth_time, int):
        raise AuthError("invalid token: the 'auth_time' claim must be a time in seconds")
    if auth_time > time.time() + CLOCK_SKEW_S:
        raise AuthError("invalid token: the 'auth_time' claim is in the future")
