"""The messages the push provider was asked to send, in arrival order, each kept as long as
its idempotency key, the last ``most`` of them (see :mod:`fakes.retention`)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fakes.retention import MAX_RECORDS, checked_most
from fakes.web import new_id, now_iso

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
MAX_DATA_BYTES = 4096
"""The most a message's ``data`` holds, keys and values in UTF-8: push services (FCM, APNs)
refuse a payload over 4 KiB."""


class Recipient(BaseModel):
    """Who a message is for."""

    model_config = _STRICT

    kind: Literal["customer", "driver"]
    id: str = Field(min_length=1, max_length=200)


class MessageRequest(BaseModel):
    """The body of ``POST /v1/messages``."""

    model_config = _STRICT

    to: Recipient
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=500)
    data: dict[str, str] = Field(default_factory=dict, max_length=50)

    @field_validator("data")
    @classmethod
    def _fits_a_push(cls, data: dict[str, str]) -> dict[str, str]:
        size = sum(len(key.encode()) + len(value.encode()) for key, value in data.items())
        if size > MAX_DATA_BYTES:
            raise ValueError(f"at most {MAX_DATA_BYTES} bytes of keys and values, not {size}")
        return data


class MessageQuery(BaseModel):
    """The filters of ``GET /v1/messages``; other query parameters are ignored."""

    kind: Literal["customer", "driver"] | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A message as kept."""

    id: str
    request: MessageRequest
    idempotency_key: str
    at: str
    kept_at: float
    """When it was kept, by the outbox's clock (epoch seconds)."""

    def to_json(self) -> dict[str, Any]:
        """The message as ``GET /v1/messages`` shows it."""
        return {
            "id": self.id,
            **self.request.model_dump(),
            "idempotencyKey": self.idempotency_key,
            "at": self.at,
        }


class Outbox:
    """The messages accepted in the last ``retention_s`` by ``now_s`` (epoch seconds;
    ``None``: every message), the last ``most`` of them; older ones are dropped as messages
    come; thread-safe."""

    def __init__(
        self,
        retention_s: float | None = None,
        now_s: Callable[[], float] = time.time,
        most: int = MAX_RECORDS,
    ) -> None:
        self._messages: deque[Message] = deque(maxlen=checked_most(most))
        self._lock = threading.Lock()
        self._retention_s = retention_s
        self._now_s = now_s

    def add(self, request: MessageRequest, key: str) -> Message:
        """Keep a new message."""
        now = self._now_s()
        message = Message(new_id("msg"), request, key, now_iso(), now)
        with self._lock:
            while self._messages and self._expired(self._messages[0], now):
                self._messages.popleft()
            self._messages.append(message)
        return message

    def find(self, kind: str | None = None, recipient_id: str | None = None) -> list[Message]:
        """The messages kept to recipients of ``kind`` and ``recipient_id`` (None: any)."""
        now = self._now_s()
        with self._lock:
            return [
                m
                for m in self._messages
                if kind in (None, m.request.to.kind)
                and recipient_id in (None, m.request.to.id)
                and not self._expired(m, now)
            ]

    def __len__(self) -> int:
        """How many messages are held in memory."""
        with self._lock:
            return len(self._messages)

    def _expired(self, message: Message, now: float) -> bool:
        return self._retention_s is not None and now - message.kept_at >= self._retention_s
