"""The answer a function gives the broker for one delivery."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """Acknowledge (2xx on a push endpoint) or ask for redelivery (non-2xx)."""

    ACK = "ack"
    RETRY = "retry"
