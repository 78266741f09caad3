"""Routing rules: which events a channel (subscription) carries.

A rule is declarative. It renders to a Pub/Sub subscription ``filter`` (applied
by the broker on GCP) and is evaluated again by the consumer on the message
attributes, because the Pub/Sub emulator stores filters without applying them.
Both evaluations see the same attributes, so every mode routes identically.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.exceptions import TopologyError
from shared.hub.message import ATTRIBUTE_TYPE

MAX_FILTER_BYTES = 256
"""Pub/Sub's limit on a subscription filter."""

_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/-]+$")
_SAFE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Rule:
    """Select events by exact type, type prefix and tag values.

    An event matches when its type is one of ``types`` or starts with one of
    ``type_prefixes`` (any type when both are empty) **and** every tag in
    ``tags`` has the given value. ``Rule()`` matches everything.
    """

    types: frozenset[str] = frozenset()
    type_prefixes: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for value in (*self.types, *self.type_prefixes, *self.tags.values()):
            if not _SAFE_VALUE.match(value):
                raise TopologyError(
                    f"routing rule value {value!r} has characters a filter cannot hold"
                )
        for key in self.tags:
            if not _SAFE_KEY.match(key) or key == ATTRIBUTE_TYPE:
                raise TopologyError(f"routing rule tag {key!r} is not a valid attribute name")
        if len(self.to_filter().encode()) > MAX_FILTER_BYTES:
            raise TopologyError(
                f"routing rule filter exceeds {MAX_FILTER_BYTES} bytes: {self.to_filter()}"
            )

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """Evaluate the rule on a message's attributes, as the broker's filter would."""
        if self.types or self.type_prefixes:
            event_type = attributes.get(ATTRIBUTE_TYPE)
            if event_type is None:
                return False
            if event_type not in self.types and not event_type.startswith(self.type_prefixes):
                return False
        if not self.tags:  # most rules: no generator for all() to go through
            return True
        return all(attributes.get(k) == v for k, v in self.tags.items())

    def to_filter(self) -> str:
        """The Pub/Sub filter expression; ``""`` (no filter) for a match-all rule."""
        alternatives = [f'attributes.{ATTRIBUTE_TYPE} = "{t}"' for t in sorted(self.types)]
        alternatives += [
            f'hasPrefix(attributes.{ATTRIBUTE_TYPE}, "{p}")' for p in self.type_prefixes
        ]
        clauses = []
        if alternatives:
            clauses.append(
                alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})"
            )
        clauses += [f'attributes.{k} = "{v}"' for k, v in sorted(self.tags.items())]
        return " AND ".join(clauses)


def on_types(*types: str, **tags: str) -> Rule:
    """A rule for the given event types, optionally narrowed by tag values."""
    return Rule(types=frozenset(types), tags=tags)


def on_prefixes(*prefixes: str, **tags: str) -> Rule:
    """A rule for every type starting with one of ``prefixes``."""
    return Rule(type_prefixes=tuple(prefixes), tags=tags)


MATCH_ALL = Rule()
