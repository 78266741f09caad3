"""How much the fakes remember, so one left running (a long ``fooddelivery dev`` session, a
big benchmark) holds a bounded amount of memory, as real providers expire such state.

* An ``Idempotency-Key`` is kept a day after its first use (:mod:`fakes.idempotency`).
* An authorization neither captured nor voided :data:`AUTHORIZATION_TTL_S` (7 days) after it
  was made expires, as an uncaptured card authorization lapses at Stripe: its status is
  ``expired`` and a capture or void is refused with 409 ``code: "invalid_state"``.
* Each fake holds at most :data:`MAX_RECORDS` of its records (the payment processor's
  authorizations, the point of sale's orders, the push provider's messages); past that the
  oldest is forgotten as a new one comes (the point of sale's and the processor's answer
  404 for it then, as for one never made); the processor forgets first the authorizations
  that can change no more, then captured ones, and one still holding money last.
"""

from __future__ import annotations

from typing import Any

AUTHORIZATION_TTL_S = 7 * 24 * 60 * 60.0
"""How long an authorization holds the money unless captured or voided first: 7 days."""
MAX_RECORDS = 20_000
"""How many records each fake holds at most: a few thousand orders' worth (a default
benchmark's 1000 orders make about 5000 push messages), tens of megabytes."""


def checked_most(most: int) -> int:
    """``most``, a number of records to hold; :class:`ValueError` unless it is 1 or more."""
    if isinstance(most, bool) or not isinstance(most, int) or most < 1:
        raise ValueError(f"the most records a fake holds must be 1 or more, not {most!r}")
    return most


def drop_oldest(records: dict[str, Any], most: int) -> None:
    """Forget the records first put in ``records`` until at most ``most`` are left (under the
    caller's lock; a record replaced keeps its place)."""
    while len(records) > most:
        del records[next(iter(records))]
