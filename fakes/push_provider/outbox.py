"""The messages the push provider was asked to send, in arrival order."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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

    def to_json(self) -> dict[str, Any]:
        """The message as ``GET /v1/messages`` shows it."""
        return {
            "id": self.id,
            **self.request.model_dump(),
            "idempotencyKey": self.idempotency_key,
            "at": self.at,
        }


class Outbox:
    """Every message accepted; thread-safe."""

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._lock = threading.Lock()

    def add(self, request: MessageRequest, key: str) -> Message:
        """Keep a new message."""
        message = Message(new_id("msg"), request, key, now_iso())
        with self._lock:
            self._messages.append(message)
        return message

    def find(self, kind: str | None = None, recipient_id: str | None = None) -> list[Message]:
        """The messages to recipients of ``kind`` and ``recipient_id`` (None: any)."""
        with self._lock:
            return [
                m
                for m in self._messages
                if kind in (None, m.request.to.kind) and recipient_id in (None, m.request.to.id)
            ]
