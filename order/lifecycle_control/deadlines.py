"""The order's deadlines: which orders each applies to, when it runs from and how long it is.

The schedule (:mod:`.timeouts`) proposes a timeout once a deadline is past, stamped with
it; the fold (:mod:`.transitions`) applies the timeout only if, as the order stands then,
its deadline is past by that stamp. So a deadline that moved later after a timeout was
proposed (a driver handed the order back, the food will be ready later) is not cut short
by that timeout; the schedule proposes the later one in its time.

A deadline runs from its producer's time (an acceptance, an assignment, a pickup) but never
from before Order heard of it (``heardAt``, Order's own clock when it recorded the latest event
it applied): a producer whose clock runs behind, or an event that waited for redeliveries,
does not cut the time the next step has (the restaurant's deadline runs from ``receivedAt``
for the same reason).

Nothing but its timeout happens to an order after one of its deadlines passed
(:func:`overdue`): an answer sent after the deadline waits in the fold, which keeps the
order as it stood at the deadline, so the schedule proposes the timeout from that state
and the timeout wins whether the answer was folded before the schedule read the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from order.events import (
    DELIVERY_TIMED_OUT,
    DRIVER_TIMED_OUT,
    PICKUP_TIMED_OUT,
    RESTAURANT_TIMED_OUT,
)
from shared.stores import Where
from shared.stores.query import matches

if TYPE_CHECKING:
    from shared.stores import Doc

RESTAURANT_DEADLINE_MS = 10 * 60_000
"""How long a restaurant has to accept or reject a placed order."""
DRIVER_DEADLINE_MS = 30 * 60_000
"""How long a driver may take to be assigned, from the latest of the acceptance, the time the
last driver handed the order back (``releasedAt``) and the time the food is ready
(``readyBy``: Delivery starts looking for a driver only shortly before)."""
PICKUP_DEADLINE_MS = 90 * 60_000
"""How long the driver has to pick the order up, from the later of their assignment and the
time the restaurant said the food would be ready (``readyBy``)."""
DELIVERY_DEADLINE_MS = 2 * 60 * 60_000
"""How long after pickup the order must be delivered."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline: the timeout event, which orders it applies to, the time it runs from (a
    field the orders are queried by) and how long it is.

    ``later_starts`` name fields that, when later, move the start of the deadline: such
    orders are read as candidates and timed out only once their own deadline is past.
    """

    event_type: str
    applies: tuple[Where, ...]
    since: str
    length_ms: int
    later_starts: tuple[str, ...] = ()

    def due_at(self, order: Doc) -> int:
        """When the deadline passes for ``order``."""
        later = (order.get(field) or 0 for field in self.later_starts)
        start: int = max([order[self.since], *later])
        return start + self.length_ms

    def waits_on(self, order: Doc) -> bool:
        """Whether ``order``, as it stands, waits on this deadline (what the schedule queries)."""
        return all(matches(order, where) for where in self.applies)


# From when Order took the order in (``receivedAt``), not from the checkout or from
# when Customer placed it (``changedAt`` while it is placed): neither a payment that
# took minutes nor a delivery that waited for retries eats into the restaurant's time.
# Orders recorded before ``receivedAt`` existed run from ``changedAt``.
RESTAURANT_ANSWER = Deadline(
    RESTAURANT_TIMED_OUT,
    (Where("status", "==", "placed"),),
    "changedAt",
    RESTAURANT_DEADLINE_MS,
    later_starts=("receivedAt",),
)
"""The restaurant's time to accept or reject a placed order."""

_PREPARING = ["accepted", "ready"]
HEARD_AT = "heardAt"
"""When Order heard of the latest event it applied to the order, by its own clock."""
DEADLINES = (
    RESTAURANT_ANSWER,
    Deadline(
        DRIVER_TIMED_OUT,
        (Where("status", "in", _PREPARING), Where("driverAssigned", "==", False)),
        "acceptedAt",
        DRIVER_DEADLINE_MS,
        later_starts=("releasedAt", "readyBy", HEARD_AT),
    ),
    Deadline(
        PICKUP_TIMED_OUT,
        (Where("status", "in", _PREPARING), Where("driverAssigned", "==", True)),
        "assignedAt",
        PICKUP_DEADLINE_MS,
        later_starts=("readyBy", HEARD_AT),
    ),
    Deadline(
        DELIVERY_TIMED_OUT,
        (Where("status", "==", "picked-up"),),
        "changedAt",
        DELIVERY_DEADLINE_MS,
        later_starts=(HEARD_AT,),
    ),
)
DEADLINE_OF = {deadline.event_type: deadline for deadline in DEADLINES}
"""Each deadline by the type of its timeout event."""


def overdue(order: Doc, at: int) -> bool:
    """Whether a deadline ``order`` waits on, as it stands, passed before ``at``.

    An event at the deadline itself is in time: the deadline loses the tie.
    """
    return any(deadline.due_at(order) < at for deadline in DEADLINES if deadline.waits_on(order))


def answer_by(order: Doc) -> int | None:
    """When the restaurant's time to answer ``order`` runs out, while it is placed; ``None``
    in any other status."""
    deadline = RESTAURANT_ANSWER
    return deadline.due_at(order) if deadline.waits_on(order) else None
