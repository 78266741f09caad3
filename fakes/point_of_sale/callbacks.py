"""Signed callbacks from the point of sale to the platform's webhook.

The body is compact JSON. ``X-Pos-Signature`` is ``t=<unix seconds>,v1=<hex>``:
the hex HMAC-SHA256, keyed with the shared webhook secret, of the sending time,
a dot and the exact bytes sent. Signing the time lets the webhook refuse a
callback replayed long after it was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import requests

from fakes.web import FakeError

SIGNATURE_HEADER = "X-Pos-Signature"
TIMEOUT_S = 10.0


def sign(body: bytes, secret: str, timestamp_s: int) -> str:
    """The ``X-Pos-Signature`` value of ``body`` sent at ``timestamp_s``."""
    signed = f"{timestamp_s}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp_s},v1={digest}"


class CallbackFailed(FakeError):
    """The webhook did not answer 2xx (502 to the staff, who may retry)."""

    def __init__(self, reason: str) -> None:
        super().__init__(502, f"the callback failed: {reason}")


class Callbacks:
    """Posts signed callbacks with a ``requests`` session, stamped by ``now_s``."""

    def __init__(
        self,
        secret: str,
        session: requests.Session,
        now_s: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._session = session
        self._now_s = now_s

    def send(self, url: str, payload: dict[str, Any]) -> None:
        """POST ``payload`` to ``url``; :class:`CallbackFailed` unless it answers 2xx."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = sign(body, self._secret, int(self._now_s()))
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
        except requests.RequestException as e:
            raise CallbackFailed(f"{type(e).__name__}: {e}") from e
        if not 200 <= response.status_code < 300:
            raise CallbackFailed(f"{url} answered {response.status_code}")
