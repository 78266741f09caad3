"""The processor's book of authorizations and the state rules they follow."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fakes.web import FakeError, new_id

Status = Literal["authorized", "captured", "voided", "refunded"]
Action = Literal["capture", "void", "refund"]
DECLINED_METHOD = "pm_card_declined"
"""The payment method whose authorizations are always declined (402)."""

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


@dataclass(frozen=True, slots=True)
class Operation:
    """One effective operation on an authorization."""

    kind: str
    at: str
    idempotency_key: str

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
    """All authorizations, in creation order, their operations stamped by ``now_s`` (epoch
    seconds); thread-safe."""

    def __init__(self, now_s: Callable[[], float] = time.time) -> None:
        self._authorizations: dict[str, Authorization] = {}
        self._lock = threading.Lock()
        self._now_s = now_s

    def authorize(self, request: AuthorizationRequest, key: str) -> Authorization:
        """A new authorization; 402 for the declined test card."""
        if request.payment_method == DECLINED_METHOD:
            raise FakeError(402, "the card was declined", code="card_declined")
        authorization = Authorization(
            id=new_id("auth"),
            status="authorized",
            amount=request.amount,
            currency=request.currency,
            reference=request.reference,
            operations=(Operation("authorize", self._now_iso(), key),),
        )
        with self._lock:
            self._authorizations[authorization.id] = authorization
        return authorization

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
                operations=(*current.operations, Operation(action, self._now_iso(), key)),
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
            return [
                a
                for a in self._authorizations.values()
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

    def _now_iso(self) -> str:
        now = datetime.fromtimestamp(self._now_s(), UTC)
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _get(self, authorization_id: str) -> Authorization:
        try:
            return self._authorizations[authorization_id]
        except KeyError:
            raise FakeError(404, f"no authorization {authorization_id}") from None
