"""``Idempotency-Key`` for BFF commands: a retried request gets the first answer, once.

A key belongs to its caller (actor and subject), so two callers cannot see or
block each other's. The first request with a key reserves it before running;
a request with the same key arriving while the first still runs is refused
with 409 (retry later), one with the same key but another request with 422,
and any later one gets the stored answer. A reservation whose request failed
is released, so the key may be used again; one whose process died is taken
over after :data:`RESERVATION_TIMEOUT_S`, as is one whose command ran but whose
answer the store failed to keep (that request still gets its answer). An answer
is kept for :data:`KEEP_ANSWER_S`: Firestore deletes it some time after its
``expireAt`` (a TTL policy, see ``terraform/modules/subsystem/firestore.tf``),
and a key used again after that runs again. A key is at most :data:`MAX_KEY_CHARS`
printable ASCII characters (:func:`key_problem`; the BFF answers 400 to another).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.exceptions import KitError, StoreError
from shared.stores.ttl import expire_after

if TYPE_CHECKING:
    from shared.stores.base import AbstractDocumentStore, Doc

_log = logging.getLogger("fooddelivery.api")
COLLECTION = "idempotency-keys"
EXPIRES = "expireAt"
"""The field of a stored answer after which Firestore may delete it (its TTL field)."""
KEEP_ANSWER_S = 24 * 3600


def expire_at(now_ms: int) -> datetime:
    """The :data:`EXPIRES` of an answer (or reservation) stored at ``now_ms``: replayed for
    :data:`KEEP_ANSWER_S`, then deleted by Firestore's TTL policy some time after."""
    return expire_after(now_ms, timedelta(seconds=KEEP_ANSWER_S))


MAX_KEY_CHARS = 200
KEY_PATTERN = "^[ -~]*$"
"""What an ``Idempotency-Key`` may hold: printable ASCII, as a header's value reliably can
(a UUID, say); a key must also be at most :data:`MAX_KEY_CHARS` characters long."""
RESERVATION_TIMEOUT_S = 120
"""Longer than any request may run (the functions' request timeout is 60 s,
``terraform/modules/function``; the BFFs answer in well under a second); a reservation
older than this was abandoned."""


class KeyRefused(KitError):
    """The key cannot be used for this request now (``status``: 409 or 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an ``Idempotency-Key`` (a 400's message), or ``None``."""
    if len(key) > MAX_KEY_CHARS:
        return f"Idempotency-Key: at most {MAX_KEY_CHARS} characters"
    if not re.fullmatch(KEY_PATTERN, key):
        return "Idempotency-Key: only printable ASCII characters (a UUID, say)"
    return None


def fingerprint(*parts: Any) -> str:
    """A digest of what makes two requests the same request."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class IdempotencyKeys:
    """The stored answers of keyed commands, in one collection of ``store``."""

    def __init__(self, store: AbstractDocumentStore) -> None:
        self._store = store

    def run(
        self,
        owner: tuple[str, str],
        key: str,
        request: str,
        call: Callable[[], tuple[Any, int]],
    ) -> tuple[Any, int]:
        """The answer of ``call`` for ``owner``'s ``key``: computed once, then replayed.

        ``request`` is the request's :func:`fingerprint`. Raises :class:`KeyRefused`.
        """
        doc_key = hashlib.sha256(json.dumps([*owner, key]).encode()).hexdigest()
        now_ms = int(time.time() * 1000)
        expires = expire_at(now_ms)
        reservation = {
            "fingerprint": request,
            "status": None,
            "body": None,
            "reservedAt": now_ms,
            EXPIRES: expires,
        }
        if not self._store.create(COLLECTION, doc_key, reservation):
            stored = self._store.update(COLLECTION, doc_key, _take_over(reservation, now_ms))
            if stored is None:
                return self._stored_answer(doc_key, request)
        try:
            body, status = call()
        except BaseException:
            self._store.delete_if(COLLECTION, doc_key, lambda d: d == reservation)
            raise
        answer = {"fingerprint": request, "status": status, "body": body, EXPIRES: expires}
        try:
            self._store.put(COLLECTION, doc_key, answer)
        except StoreError as e:
            # The command ran: its answer is the truth, a refusal would say it did not. The
            # reservation stays, so a retry is refused as running, then taken over.
            _log.warning("cannot keep the answer of Idempotency-Key %s: %s", doc_key, e)
        return body, status

    def _stored_answer(self, doc_key: str, request: str) -> tuple[Any, int]:
        stored = self._store.get(COLLECTION, doc_key)
        if stored is not None and stored["fingerprint"] != request:
            raise KeyRefused(422, "Idempotency-Key was already used with a different request")
        if stored is None or stored["status"] is None:
            raise KeyRefused(
                409, "a request with this Idempotency-Key is still running; retry it later"
            )
        return stored["body"], int(stored["status"])


def _take_over(reservation: Doc, now_ms: int) -> Callable[[Doc | None], Doc | None]:
    """An updater claiming a key whose answer expired (Firestore's TTL deletion lags), or
    whose reservation was abandoned by a request that died."""
    abandoned_before = now_ms - RESERVATION_TIMEOUT_S * 1000
    now = datetime.now(UTC)

    def take(current: Doc | None) -> Doc | None:
        if current is not None and EXPIRES in current and current[EXPIRES] <= now:
            return reservation
        if current is None or current["status"] is not None:
            return None
        if current["fingerprint"] != reservation["fingerprint"]:
            return None
        return reservation if current["reservedAt"] < abandoned_before else None

    return take
