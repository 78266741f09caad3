"""Signed callbacks from the point of sale to the platform's webhook.

The body is compact JSON; ``X-Pos-Signature`` is the hex HMAC-SHA256 of the
exact bytes sent, keyed with the shared webhook secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import requests

from fakes.web import FakeError

SIGNATURE_HEADER = "X-Pos-Signature"
TIMEOUT_S = 10.0


def sign(body: bytes, secret: str) -> str:
    """The signature of ``body``: hex HMAC-SHA256 keyed with ``secret``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class CallbackFailed(FakeError):
    """The webhook did not answer 2xx (502 to the staff, who may retry)."""

    def __init__(self, reason: str) -> None:
        super().__init__(502, f"the callback failed: {reason}")


class Callbacks:
    """Posts signed callbacks with a ``requests`` session."""

    def __init__(self, secret: str, session: requests.Session) -> None:
        self._secret = secret
        self._session = session

    def send(self, url: str, payload: dict[str, Any]) -> None:
        """POST ``payload`` to ``url``; :class:`CallbackFailed` unless it answers 2xx."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self._secret)}
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
        except requests.RequestException as e:
            raise CallbackFailed(f"{type(e).__name__}: {e}") from e
        if not 200 <= response.status_code < 300:
            raise CallbackFailed(f"{url} answered {response.status_code}")
