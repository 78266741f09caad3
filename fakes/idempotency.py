"""Replays for retried requests, keyed by the ``Idempotency-Key`` header.

The first request with a key runs; its outcome (success or business refusal,
any status below 500) is kept. The same key with the same request again gets
that outcome back with ``Idempotent-Replayed: true`` and changes nothing. The
same key with a different request (method, path or JSON body) is refused with
422. A 5xx outcome is not kept: the next attempt with the key runs again.

Requests with the same key run one at a time, so concurrent retries cannot
both take effect.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import flask

from fakes.web import FakeError, Reply

REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass
class _Entry:
    fingerprint: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    reply: Reply | None = None


class IdempotencyStore:
    """Outcomes of requests by idempotency key; safe to share between threads."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def run(self, key: str, fingerprint: str, operation: Callable[[], Reply]) -> tuple[Reply, bool]:
        """The outcome for ``key`` and whether it is a replay; runs ``operation`` at most once.

        A :class:`FakeError` raised by ``operation`` is an outcome like any other.
        """
        with self._lock:
            entry = self._entries.setdefault(key, _Entry(fingerprint))
        if entry.fingerprint != fingerprint:
            raise FakeError(422, "Idempotency-Key was already used with a different request")
        with entry.lock:
            if entry.reply is not None:
                return entry.reply, True
            try:
                reply = operation()
            except FakeError as e:
                reply = e.reply()
            if reply[1] < 500:
                entry.reply = reply
            return reply, False

    def respond(self, key: str, operation: Callable[[], Reply]) -> flask.Response:
        """The current Flask request's answer: ``operation``'s outcome, or its replay."""
        (body, status), replayed = self.run(key, request_fingerprint(), operation)
        response = flask.make_response(body, status)
        if replayed:
            response.headers[REPLAYED_HEADER] = "true"
        return response


def request_fingerprint() -> str:
    """A digest of the current request's method, path and body (JSON compared by value)."""
    request = flask.request
    data = request.get_json(silent=True)
    body = json.dumps(data, sort_keys=True) if data is not None else request.get_data(as_text=True)
    return hashlib.sha256(json.dumps([request.method, request.path, body]).encode()).hexdigest()
