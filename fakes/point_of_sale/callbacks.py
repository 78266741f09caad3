"""Signed callbacks from the point of sale to the platform's webhook.

The body is compact JSON. ``X-Pos-Signature`` is ``t=<unix seconds>,v1=<hex>``:
the hex HMAC-SHA256, keyed with the key of the restaurant the callback is from,
of the sending time, a dot and the exact bytes sent. Signing the time lets the
webhook refuse a callback replayed long after it was sent. As webhook senders do, it
posts only to the URL it was given: a redirect is not followed, and fails the callback.

The platform gives each restaurant's point of sale its own key, derived from the
platform's webhook secret (the hex HMAC-SHA256, keyed with the secret, of
:data:`KEY_LABEL` and the restaurant id). This fake plays every restaurant's
point of sale, so it is given the secret and derives each key the same way.
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
ANSWER_EXCERPT_CHARS = 200
"""How much of a failing webhook's answer a :class:`CallbackFailed` quotes: enough for its
error (a refused signature says so), not a whole page."""
KEY_LABEL = "fooddelivery pos callback key v1:"


def restaurant_key(secret: str, restaurant_id: str) -> str:
    """The key the platform gave the point of sale of ``restaurant_id``."""
    message = (KEY_LABEL + restaurant_id).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


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
    """Posts callbacks signed with their restaurant's key (derived from ``secret``) with a
    ``requests`` session, stamped by ``now_s``."""

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
        """POST ``payload`` to ``url``; :class:`CallbackFailed` unless it answers 2xx (a
        redirect is not followed)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        key = restaurant_key(self._secret, payload["restaurantId"])
        signature = sign(body, key, int(self._now_s()))
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        try:
            response = self._session.post(
                url, data=body, headers=headers, timeout=TIMEOUT_S, allow_redirects=False
            )
        except requests.RequestException as e:
            raise CallbackFailed(f"{type(e).__name__}: {e}") from e
        if response.is_redirect:
            raise CallbackFailed(f"{url} answered {response.status_code}, a redirect: not followed")
        if not 200 <= response.status_code < 300:
            answer = excerpt(response.content)
            said = f": {answer}" if answer else ""
            raise CallbackFailed(f"{url} answered {response.status_code}{said}")


def excerpt(body: bytes) -> str:
    """The start of an answer's ``body`` on one line: decoded as UTF-8 (what does not decode
    replaced), each run of whitespace or control characters a single space, cut at
    :data:`ANSWER_EXCERPT_CHARS` characters with ``…`` when there is more."""
    text = body[: ANSWER_EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) <= ANSWER_EXCERPT_CHARS and len(body) <= ANSWER_EXCERPT_CHARS * 4:
        return text
    return text[:ANSWER_EXCERPT_CHARS] + "…"
