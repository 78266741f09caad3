"""Replays for retried requests, keyed by the ``Idempotency-Key`` header.

The first request with a key runs; its outcome (success or business refusal,
any status below 500) is kept. The same key with the same request again gets
that outcome back with ``Idempotent-Replayed: true`` and changes nothing. The
same key with a different request (method, path or JSON body) is refused with
422 ``{"error": ..., "code": "idempotency_key_reused"}``, as payment processors
refuse a key reused with other parameters (whose first request may have taken
effect). A 5xx outcome is not kept unless the store keeps server errors (as Stripe
does once the request began to run: its retries get the 500 replayed). One not kept
leaves nothing under the key, which is free again: the next request with it runs,
the same request or another, as for a key never used. So does a request the fake
crashed on (an exception other than :class:`~fakes.web.FakeError`).

A request whose key another request is still using is refused with 409
``{"error": ..., "code": "idempotency_key_in_use"}`` and runs nothing, as payment
processors and points of sale answer a retry that overtakes the first attempt
(whose answer the caller gave up waiting for): the caller is to try again later,
when it gets the first outcome replayed.

A key is kept :data:`DEFAULT_KEY_RETENTION_S` (a day) after its first use unless told
otherwise, as Stripe prunes keys once they are 24 hours old: the same key later is a new
request, which runs again. Outcomes past that are dropped from memory as requests come, so a
fake left running for days holds about a day's keys, not every key it was ever sent.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import flask

from fakes.web import FakeError, Reply, request_json

REPLAYED_HEADER = "Idempotent-Replayed"
KEY_IN_USE = "a request with this Idempotency-Key is still being processed: retry later"
KEY_IN_USE_CODE = "idempotency_key_in_use"
"""The ``code`` of that 409, telling it from a 409 the operation itself answers."""
KEY_REUSED = "Idempotency-Key was already used with a different request"
KEY_REUSED_CODE = "idempotency_key_reused"
"""The ``code`` of the 422 to a key reused with another request, telling it from a 422 the
operation itself answers."""
DEFAULT_KEY_RETENTION_S = 24 * 60 * 60.0
"""How long a key is kept after its first use unless told otherwise: a day."""


@dataclass
class _Entry:
    """A key's request: still running while it has no reply (a key is held by a request that
    runs or by the outcome it kept, never by nothing)."""

    fingerprint: str
    first_use: float
    reply: Reply | None = None


class IdempotencyStore:
    """Outcomes of requests by idempotency key (5xx ones too if ``keep_server_errors``), each
    kept ``retention_s`` after the key's first use by ``now_s`` (epoch seconds; ``None``: kept
    for good); safe to share between threads."""

    def __init__(
        self,
        *,
        keep_server_errors: bool = False,
        retention_s: float | None = DEFAULT_KEY_RETENTION_S,
        now_s: Callable[[], float] = time.time,
    ) -> None:
        if retention_s is not None and not retention_s > 0:  # nan too
            raise ValueError(f"key retention must be positive, not {retention_s}")
        # in the order of the keys' first use, so the oldest are pruned first
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._keep_server_errors = keep_server_errors
        self._retention_s = retention_s
        self._now_s = now_s

    def __len__(self) -> int:
        """How many keys are held (by a request running or the outcome it kept)."""
        with self._lock:
            return len(self._entries)

    def run(self, key: str, fingerprint: str, operation: Callable[[], Reply]) -> tuple[Reply, bool]:
        """The outcome for ``key`` and whether it is a replay; runs ``operation`` at most once.

        A :class:`FakeError` raised by ``operation`` is an outcome like any other. One
        raised here is a refusal to run: 422 for another request under the key, 409
        while another request with the key runs.
        """
        with self._lock:
            now = self._now_s()
            self._prune(now)
            entry = self._entries.get(key)
            if entry is not None and self._expired(entry, now):
                del self._entries[key]  # kept out of order, by a clock set back
                entry = None
            if entry is None:
                entry = self._entries[key] = _Entry(fingerprint, now)
            elif entry.fingerprint != fingerprint:
                raise FakeError(422, KEY_REUSED, code=KEY_REUSED_CODE)
            elif entry.reply is None:
                raise FakeError(409, KEY_IN_USE, code=KEY_IN_USE_CODE)
            else:
                return entry.reply, True
        reply: Reply | None = None
        try:
            try:
                reply = operation()
            except FakeError as e:
                reply = e.reply()
            return reply, False
        finally:
            with self._lock:
                if reply is not None and (reply[1] < 500 or self._keep_server_errors):
                    entry.reply = reply
                else:
                    del self._entries[key]

    def _expired(self, entry: _Entry, now: float) -> bool:
        """Whether ``entry`` kept its outcome for its time (one still running is held)."""
        return (
            entry.reply is not None
            and self._retention_s is not None
            and now - entry.first_use >= self._retention_s
        )

    def _prune(self, now: float) -> None:
        """Drop the outcomes kept for their time, oldest first, up to the first still in its
        time (under the lock)."""
        if self._retention_s is None:
            return
        expired: list[str] = []
        for key, entry in self._entries.items():
            if now - entry.first_use < self._retention_s:
                break
            if entry.reply is not None:
                expired.append(key)
        for key in expired:
            del self._entries[key]

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
    data = request_json()
    body = json.dumps(data, sort_keys=True) if data is not None else request.get_data(as_text=True)
    return hashlib.sha256(json.dumps([request.method, request.path, body]).encode()).hexdigest()
