"""New random ids (UUID4), reproducible in one embedded process when seeded.

Services take fresh ids (an order, a checkout, an event with no cause) from
:func:`new_uuid`. Deployed, and by default, it is :func:`uuid.uuid4`. The embedded
runtime under chaos mode seeds it with the chaos seed (:func:`seed`), because the
order of some deliveries depends on ids (a tie broken by id), so only then does a
seed make the same run again.
"""

from __future__ import annotations

import random
import uuid

_source: random.Random | None = None


def new_uuid() -> uuid.UUID:
    """A new random UUID (version 4), from the seeded source if there is one."""
    if _source is None:
        return uuid.uuid4()
    return uuid.UUID(int=_source.getrandbits(128), version=4)


def seed(value: int | None) -> None:
    """Draw the ids of this process from a generator seeded with ``value`` from now on;
    ``None``: from :func:`uuid.uuid4` again."""
    global _source
    _source = None if value is None else random.Random(value)
