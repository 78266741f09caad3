"""Routing rules: which events a channel (subscription) carries.

A rule is declarative. It renders to a Pub/Sub subscription ``filter`` (applied
by the broker on GCP) and is evaluated again by the consumer on the message
attributes, because the Pub/Sub emulator stores filters without applying them.
Both evaluations see the same attributes, so every mode routes identically.

Rules combine with ``|`` when a function wants events that one rule cannot
describe: ``on_types("order-submitted") | on_types("order-status-changed",
status=("delivered", "cancelled"))``. Selecting on a tag, not in the handler,
spares a delivery (on GCP: a function invocation) for every event it would skip.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field

from shared.exceptions import TopologyError
from shared.hub.filter_syntax import parse
from shared.hub.message import ATTRIBUTE_TYPE, RESERVED_ATTRIBUTES

MAX_FILTER_BYTES = 256
"""Pub/Sub's limit on a subscription filter."""

_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/-]+$")
_SAFE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

TagValue = str | frozenset[str]
"""A tag's required value, or the values any one of which it may have."""


@dataclass(frozen=True, slots=True)
class Rule:
    """Select events by exact type, type prefix and tag values.

    An event matches when its type is one of ``types`` or starts with one of
    ``type_prefixes`` (any type when both are empty) **and** every tag in
    ``tags`` has the given value (one of the given values, for a set).
    ``Rule()`` matches everything.
    """

    types: frozenset[str] = frozenset()
    type_prefixes: tuple[str, ...] = ()
    tags: Mapping[str, TagValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, wanted in self.tags.items():
            if key in RESERVED_ATTRIBUTES:
                raise TopologyError(
                    f"routing rule tag {key!r}: no event has such a tag, the name is the "
                    f"envelope's own attribute ({', '.join(sorted(RESERVED_ATTRIBUTES))}); "
                    "select types with on_types or on_prefixes"
                )
            if not _SAFE_KEY.match(key):
                raise TopologyError(f"routing rule tag {key!r} is not a valid attribute name")
            if not isinstance(wanted, str) and not wanted:
                raise TopologyError(f"routing rule tag {key!r} allows no value")
        for value in (*self.types, *self.type_prefixes, *_values(self.tags)):
            if not _SAFE_VALUE.match(value):
                raise TopologyError(
                    f"routing rule value {value!r} has characters a filter cannot hold"
                )
        _check_filter(self.to_filter())

    @property
    def alternatives(self) -> tuple[Rule, ...]:
        """The rules an event may match: this one."""
        return (self,)

    def allows(self, tag: str) -> frozenset[str] | None:
        """The values the rule allows ``tag`` (``None``: it does not select on it)."""
        wanted = self.tags.get(tag)
        return frozenset({wanted}) if isinstance(wanted, str) else wanted

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
        return all(_tag_matches(attributes.get(k), v) for k, v in self.tags.items())

    def to_filter(self) -> str:
        """The Pub/Sub filter expression; ``""`` (no filter) for a match-all rule."""
        alternatives = [f'attributes.{ATTRIBUTE_TYPE} = "{t}"' for t in sorted(self.types)]
        alternatives += [
            f'hasPrefix(attributes.{ATTRIBUTE_TYPE}, "{p}")' for p in self.type_prefixes
        ]
        clauses = [_any(alternatives)] if alternatives else []
        for key, wanted in sorted(self.tags.items()):
            values = [wanted] if isinstance(wanted, str) else sorted(wanted)
            clauses.append(_any([f'attributes.{key} = "{v}"' for v in values]))
        return " AND ".join(clauses)

    def __or__(self, other: Rule | AnyOf) -> AnyOf:
        return AnyOf((self, *other.alternatives))


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Select the events any one of ``alternatives`` selects (build it with ``|``)."""

    alternatives: tuple[Rule, ...]

    def __post_init__(self) -> None:
        if len(self.alternatives) < 2:
            raise TopologyError("AnyOf needs two rules or more; use the rule itself")
        if any(not rule.to_filter() for rule in self.alternatives):
            raise TopologyError("AnyOf with a rule that matches everything: use that rule")
        _check_filter(self.to_filter())

    @property
    def types(self) -> frozenset[str]:
        """Every exact type some alternative names."""
        return frozenset().union(*(rule.types for rule in self.alternatives))

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """Whether some alternative matches the attributes."""
        return any(rule.matches(attributes) for rule in self.alternatives)

    def to_filter(self) -> str:
        """The alternatives' filters joined by ``OR``, each in parentheses when it has
        an ``AND`` (Pub/Sub refuses ``AND`` and ``OR`` mixed without them)."""
        parts = [rule.to_filter() for rule in self.alternatives]
        return " OR ".join(f"({p})" if " AND " in p else p for p in parts)

    def __or__(self, other: Rule | AnyOf) -> AnyOf:
        return AnyOf((*self.alternatives, *other.alternatives))


def on_types(*types: str, **tags: str | Collection[str]) -> Rule:
    """A rule for the given event types, optionally narrowed by tag values (a
    collection of values allows any of them)."""
    return Rule(types=frozenset(types), tags=_normalised(tags))


def on_prefixes(*prefixes: str, **tags: str | Collection[str]) -> Rule:
    """A rule for every type starting with one of ``prefixes``."""
    return Rule(type_prefixes=tuple(prefixes), tags=_normalised(tags))


def _normalised(tags: Mapping[str, str | Collection[str]]) -> dict[str, TagValue]:
    return {k: v if isinstance(v, str) else frozenset(v) for k, v in tags.items()}


def _values(tags: Mapping[str, TagValue]) -> Iterator[str]:
    for wanted in tags.values():
        if isinstance(wanted, str):
            yield wanted
        else:
            yield from wanted


def _tag_matches(value: str | None, wanted: TagValue) -> bool:
    return value == wanted if isinstance(wanted, str) else value in wanted


def _any(alternatives: list[str]) -> str:
    return alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})"


def _check_filter(expression: str) -> None:
    """Refuse a rendered filter that Pub/Sub would refuse: too long, or off its grammar."""
    if len(expression.encode()) > MAX_FILTER_BYTES:
        raise TopologyError(f"routing rule filter exceeds {MAX_FILTER_BYTES} bytes: {expression}")
    if expression:
        parse(expression)


MATCH_ALL = Rule()

Selection = Rule | AnyOf
"""What a channel carries: one rule, or alternatives."""
