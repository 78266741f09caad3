"""Pub/Sub's limits on a subscription's delivery settings, which every backend keeps.

Pub/Sub refuses a subscription outside them (``InvalidArgument``, ``OutOfRange``); the
emulator refuses most of them too, but takes an ack deadline under 10 s. The embedded
hub and :func:`~shared.hub.provision.provision_subscription` refuse the same settings
(:func:`delivery_problems`), so a subscription that works locally can be created on GCP.
"""

from __future__ import annotations

MIN_DELIVERY_ATTEMPTS = 5
MAX_DELIVERY_ATTEMPTS = 100
"""A dead-letter policy's ``max_delivery_attempts`` is 5 to 100."""
MAX_BACKOFF_S = 600
"""A retry policy's backoffs are 0 to 600 s, the maximum no less than the minimum."""
MIN_ACK_DEADLINE_S = 10
MAX_ACK_DEADLINE_S = 600
"""A subscription's ack deadline is 10 to 600 s."""
MIN_RETENTION_S = 600
MAX_RETENTION_S = 31 * 86_400
DEFAULT_RETENTION_S = 7 * 86_400
"""A subscription keeps an unacknowledged message 10 minutes to 31 days after it was
published (``message_retention_duration``), 7 days unless told otherwise, then deletes it."""


def delivery_problems(
    *,
    max_attempts: int | None,
    min_backoff_s: float,
    max_backoff_s: float,
    ack_deadline_s: float | None,
    retention_s: float | None = None,
) -> list[str]:
    """What Pub/Sub would refuse in these settings; empty if nothing.

    ``max_attempts`` ``None`` is a subscription without a dead-letter policy and
    ``ack_deadline_s`` ``None`` one whose deliveries have no deadline; ``retention_s``
    ``None`` leaves the retention unchecked.
    """
    problems = []
    if max_attempts is not None and not (
        MIN_DELIVERY_ATTEMPTS <= max_attempts <= MAX_DELIVERY_ATTEMPTS
    ):
        problems.append(
            f"max delivery attempts must be {MIN_DELIVERY_ATTEMPTS}-{MAX_DELIVERY_ATTEMPTS}, "
            f"got {max_attempts}"
        )
    if not 0 <= min_backoff_s <= max_backoff_s <= MAX_BACKOFF_S:
        problems.append(
            f"backoff must satisfy 0 <= minimum <= maximum <= {MAX_BACKOFF_S} s, "
            f"got {min_backoff_s:g} s to {max_backoff_s:g} s"
        )
    if ack_deadline_s is not None and not (
        MIN_ACK_DEADLINE_S <= ack_deadline_s <= MAX_ACK_DEADLINE_S
    ):
        problems.append(
            f"ack deadline must be {MIN_ACK_DEADLINE_S}-{MAX_ACK_DEADLINE_S} s, "
            f"got {ack_deadline_s:g} s"
        )
    if retention_s is not None and not MIN_RETENTION_S <= retention_s <= MAX_RETENTION_S:
        problems.append(
            f"message retention must be {MIN_RETENTION_S}-{MAX_RETENTION_S} s, "
            f"got {retention_s:g} s"
        )
    return problems
