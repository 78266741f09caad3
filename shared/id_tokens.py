"""Google ID tokens for calling a private HTTPS service as the function's own identity.

A gateway that calls a private Cloud Run service or Cloud Function (the dev
sandbox's point of sale, say) proves who it is with an ID token whose audience
is the callee's URL. On GCP the token comes from the metadata server, for the
function's service account; locally, from Application Default Credentials
(a service account key; user credentials cannot mint one)::

    tokens = IdTokens("https://pos-abc-ew.a.run.app")
    session.post(url, json=body, headers=tokens.headers())

A token is reused until five minutes before it expires, so a busy gateway asks
the metadata server about once an hour.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Callable

from shared.exceptions import KitError

REFRESH_MARGIN_S = 300.0
Fetch = Callable[[str], str]
"""audience -> a signed ID token for it."""


class IdTokenError(KitError):
    """No ID token could be had for the audience (no credentials, or a malformed token)."""


def fetch_google_id_token(audience: str) -> str:
    """An ID token for ``audience`` from the metadata server or Application Default Credentials."""
    import google.auth.exceptions
    import google.auth.transport.requests
    import google.oauth2.id_token

    try:
        token: str = google.oauth2.id_token.fetch_id_token(  # type: ignore[no-untyped-call]
            google.auth.transport.requests.Request(), audience
        )
    except google.auth.exceptions.GoogleAuthError as e:
        raise IdTokenError(f"cannot mint an ID token for {audience}: {e}") from e
    return token


class IdTokens:
    """ID tokens for one audience, cached until shortly before they expire; thread-safe.

    ``fetch`` mints a token (default: :func:`fetch_google_id_token`).
    """

    def __init__(
        self,
        audience: str,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.audience = audience
        self._fetch, self._clock = fetch, clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str:
        """A token for the audience that is valid for at least five more minutes."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - REFRESH_MARGIN_S:
                token = (self._fetch or fetch_google_id_token)(self.audience)
                self._token, self._expires_at = token, _expiry(token)
            return self._token

    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header carrying a token."""
        return {"Authorization": f"Bearer {self.token()}"}


def _expiry(token: str) -> float:
    """The ``exp`` claim of a JWT, read without verifying it (the callee verifies)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expires_at = float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError) as e:
        raise IdTokenError("the ID token is not a JWT with an exp claim") from e
    if not math.isfinite(expires_at):  # NaN never compares as passed: it would be kept for good
        raise IdTokenError(f"the ID token's exp claim is not a time: {expires_at}")
    return expires_at
