"""The processor's book of authorizations and the state rules they follow.

An authorization neither captured nor voided ``ttl_s`` after it was made expires (its
status becomes ``expired``, with an ``expire`` operation at that time), so it can be neither
captured nor voided; the book holds at most ``most`` authorizations, the oldest forgotten
first (see :mod:`fakes.retention`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fakes.retention import AUTHORIZATION_TTL_S, MAX_RECORDS, checked_most, drop_oldest
from fakes.web import FakeError, new_id

Status = Literal["authorized", "captured", "voided", "refunded", "expired"]
_SETTLED = frozenset({"voided", "refunded", "expired"})
"""The statuses an authorization keeps for good."""
Action = Literal["capture", "void", "refund"]
DECLINED_METHOD = "pm_card_declined"
"""The payment method whose authorizations are always declined (402)."""
MAX_AMOUNT = 99_999_999
"""The largest amount an authorization may hold, in minor units (Stripe's: 8 digits)."""
MIN_AMOUNT = 50
"""The smallest amount an authorization may hold, in minor units, in a currency that
:data:`MIN_AMOUNTS` does not name (Stripe's minimum charge in USD and EUR: 50 cents)."""
MIN_AMOUNTS = {"GBP": 30}
"""The smallest amount per currency where it is not :data:`MIN_AMOUNT` (Stripe's: 30 pence)."""

TRANSITIONS: dict[str, tuple[Status, Status]] = {
    "capture": ("authorized", "captured"),
    "void": ("authorized", "voided"),
    "refund": ("captured", "refunded"),
}
"""For each action: the state it needs and the state it leads to."""


class AuthorizationRequest(BaseModel):
    """The body of ``POST /v1/authorizations``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    amount: int = Field(gt=0, description="in minor units, e.g. cents")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    payment_method: str = Field(alias="paymentMethod", min_length=1, max_length=200)
    reference: str = Field(min_length=1, max_length=200)

    def check_amount(self) -> None:
        """400 (``code`` ``amount_too_large`` or ``amount_too_small``, as Stripe answers) for an
        amount past :data:`MAX_AMOUNT` or below the currency's minimum charge."""
        least = MIN_AMOUNTS.get(self.currency, MIN_AMOUNT)
        if self.amount > MAX_AMOUNT:
            raise FakeError(
                400,
                f"amount must be at most {MAX_AMOUNT} {self.currency} minor units",
                code="amount_too_large",
            )
        if self.amount < least:
            raise FakeError(
                400,
                f"amount must be at least {least} {self.currency} minor units",
                code="amount_too_small",
            )


@dataclass(frozen=True, slots=True)
class Operation:
    """One effective operation on an authorization (``idempotency_key``: ``None`` for one the
    processor made itself, an expiry)."""

    kind: str
    at: str
    idempotency_key: str | None

    def to_json(self) -> dict[str, Any]:
        """The operation as the API shows it."""
        return {"kind": self.kind, "at": self.at, "idempotencyKey": self.idempotency_key}


@dataclass(frozen=True, slots=True)
class Authorization:
    """An authorization and the operations that brought it to its status."""

    id: str
    status: Status
    amount: int
    currency: str
    reference: str
    operations: tuple[Operation, ...]
    expires_s: float | None
    """When it expires unless captured or voided first (epoch seconds; ``None``: never)."""

    def summary(self) -> dict[str, Any]:
        """What mutating calls answer: id, status, amount, currency, reference, and when the
        amount was authorized (``authorizedAt``, ISO 8601 UTC with milliseconds)."""
        return {
            "id": self.id,
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "reference": self.reference,
            "authorizedAt": self.operations[0].at,
        }

    def detail(self) -> dict[str, Any]:
        """What reads answer: the summary plus the operations."""
        return {**self.summary(), "operations": [op.to_json() for op in self.operations]}


class Ledger:
    """The last ``most`` authorizations, in creation order, their operations stamped by
    ``now_s`` (epoch seconds), each expiring ``ttl_s`` after it was made unless captured or
    voided first (``None``: never); thread-safe."""

    def __init__(
        self,
        now_s: Callable[[], float] = time.time,
        ttl_s: float | None = AUTHORIZATION_TTL_S,
        most: int = MAX_RECORDS,
    ) -> None:
        if ttl_s is not None and not ttl_s > 0:  # nan too
            raise ValueError(f"an authorization's time to live must be positive, not {ttl_s}")
        self._authorizations: dict[str, Authorization] = {}
        self._lock = threading.Lock()
        self._now_s = now_s
        self._ttl_s = ttl_s
        self._most = checked_most(most)

    def authorize(self, request: AuthorizationRequest, key: str) -> Authorization:
        """A new authorization; 402 for the declined test card."""
        if request.payment_method == DECLINED_METHOD:
            raise FakeError(402, "the card was declined", code="card_declined")
        now = self._now_s()
        authorization = Authorization(
            id=new_id("auth"),
            status="authorized",
            amount=request.amount,
            currency=request.currency,
            reference=request.reference,
            operations=(Operation("authorize", _iso(now), key),),
            expires_s=None if self._ttl_s is None else now + self._ttl_s,
        )
        with self._lock:
            self._authorizations[authorization.id] = authorization
            self._forget_settled_first(now)
        return authorization

    def _forget_settled_first(self, now: float) -> None:
        """Hold at most the ledger's most authorizations (under the lock), forgetting first the
        oldest that can change no more (voided, refunded, expired), then the oldest captured
        (a refund is all that is left to it), and only then the oldest still holding money:
        a gateway asking about one it holds would take the 404 for a wrong processor URL."""
        for settled in (_SETTLED, _SETTLED | {"captured"}):
            while len(self._authorizations) > self._most:
                oldest = next(
                    (
                        key
                        for key, found in self._authorizations.items()
                        if self._aged(found, now).status in settled
                    ),
                    None,
                )
                if oldest is None:
                    break
                del self._authorizations[oldest]
        drop_oldest(self._authorizations, self._most)

    def apply(self, authorization_id: str, action: Action, key: str) -> Authorization:
        """Capture, void or refund; 404 if unknown, 409 from the wrong state."""
        needed, result = TRANSITIONS[action]
        with self._lock:
            current = self._get(authorization_id)
            if current.status != needed:
                article = "an" if current.status[0] in "aeiou" else "a"
                raise FakeError(
                    409,
                    f"cannot {action} {article} {current.status} authorization",
                    code="invalid_state",
                )
            updated = replace(
                current,
                status=result,
                operations=(*current.operations, Operation(action, _iso(self._now_s()), key)),
            )
            self._authorizations[authorization_id] = updated
            return updated

    def get(self, authorization_id: str) -> Authorization:
        """One authorization; 404 if unknown."""
        with self._lock:
            return self._get(authorization_id)

    def find(self, reference: str | None = None) -> list[Authorization]:
        """The authorizations with ``reference`` (all if None), oldest first."""
        with self._lock:
            now = self._now_s()
            return [
                self._aged(a, now)
                for a in list(self._authorizations.values())
                if reference is None or a.reference == reference
            ]

    def page(
        self, reference: str | None, limit: int, starting_after: str | None = None
    ) -> tuple[list[Authorization], bool]:
        """At most ``limit`` of :meth:`find`'s authorizations, those after the one with id
        ``starting_after`` (from the first if None), and whether more follow; 400 for an
        id not in the list."""
        found = self.find(reference)
        if starting_after is not None:
            ids = [a.id for a in found]
            if starting_after not in ids:
                raise FakeError(400, f"startingAfter {starting_after} is not in this list")
            found = found[ids.index(starting_after) + 1 :]
        return found[:limit], len(found) > limit

    def _get(self, authorization_id: str) -> Authorization:
        """The authorization as it stands now (under the lock); 404 if unknown."""
        try:
            authorization = self._authorizations[authorization_id]
        except KeyError:
            raise FakeError(404, f"no authorization {authorization_id}") from None
        return self._aged(authorization, self._now_s())

    def _aged(self, authorization: Authorization, now: float) -> Authorization:
        """``authorization`` expired if its time ran out while it was authorized, and kept so
        (under the lock)."""
        expires = authorization.expires_s
        if authorization.status != "authorized" or expires is None or now < expires:
            return authorization
        expired = replace(
            authorization,
            status="expired",
            operations=(*authorization.operations, Operation("expire", _iso(expires), None)),
        )
        self._authorizations[authorization.id] = expired
        return expired


def _iso(epoch_s: float) -> str:
    """``epoch_s`` as ISO 8601 UTC with milliseconds, e.g. ``2026-01-01T12:00:00.000Z``."""
    when = datetime.fromtimestamp(epoch_s, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
