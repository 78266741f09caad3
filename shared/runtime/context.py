"""What a handler receives besides the event: its ports and a way to emit events.

Handlers are plain functions::

    def materialize(event: Envelope, ctx: Context[CustomerPorts]) -> None: ...
    def on_change(change: DocumentChange, ctx: Context[OrderPorts]) -> None: ...

Events a handler emits are collected and published only after every handler of
the function has succeeded. Their ids derive from the cause, so a retried
delivery re-emits the same ids and consumers drop the duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from shared.envelope import Envelope, Json, derive_id
from shared.exceptions import EnvelopeError, PoisonError, TopologyError
from shared.hub.message import KIT_TAGS, RESERVED_ATTRIBUTES
from shared.topology.model import Role, Topic

if TYPE_CHECKING:
    import logging

    from shared.clock import Clock
    from shared.stores.base import DocumentChange

P = TypeVar("P")

_KIT_NAMES = RESERVED_ATTRIBUTES | frozenset(KIT_TAGS)
"""Tag names a handler may not give: the envelope's attributes and the tags the kit stamps."""


@dataclass
class Context(Generic[P]):
    """The per-delivery context of one function invocation."""

    subsystem: str
    service: str
    function: str
    role: Role
    ports: P
    clock: Clock
    log: logging.LoggerAdapter[logging.Logger]
    cause_id: str
    correlation_id: str
    publishes: frozenset[str] = frozenset()
    env: str = "local"
    occurred_at: int | None = None
    """When set (an ingress), what it emits keeps this time: when the fact happened."""
    emitted: list[tuple[Topic, Envelope]] = field(default_factory=list)
    published: list[Callable[[], object]] = field(default_factory=list)
    """What to run once the events emitted are published (:meth:`after_publish`)."""

    @property
    def tags(self) -> dict[str, str]:
        """The tags stamped on every event this function emits."""
        return dict(
            zip(KIT_TAGS, (self.service, self.function, self.subsystem, self.env), strict=True)
        )

    def emit(
        self,
        type: str,
        entity: str,
        body: Json,
        *,
        partition_key: str,
        discriminator: str = "",
        raw: Any = None,
        metadata: Json | None = None,
        tags: Mapping[str, str] | None = None,
        external: bool = False,
        fact: str | None = None,
    ) -> Envelope:
        """Queue an event for publication to the bus (or, for an egress, ``external``).

        ``discriminator`` distinguishes several events of one type emitted for
        the same cause and partition key. ``fact`` names what the event states when
        several causes state it again (a status a producer repeats with every new
        location): events of one fact get one id, derived from it instead of the
        cause, so consumers keep the first and skip the repeats as redeliveries.

        The same event emitted twice is queued once. Two different events that get one
        id (the same type and key, no discriminator to tell them apart) raise
        :class:`~shared.exceptions.PoisonError`: consumers would keep the first and
        drop the other as its duplicate, so the delivery becomes a fault instead.

        ``tags`` named like the envelope's attributes (``id``, ``type``, ``partitionKey``)
        or the kit's own tags (``source``, ``function``, ``subsystem``, ``env``) raise
        :class:`~shared.exceptions.EnvelopeError`: on the bus they would be overwritten,
        or would say another function emitted the event.
        """
        if tags and not _KIT_NAMES.isdisjoint(tags):
            name = min(_KIT_NAMES.intersection(tags))
            raise EnvelopeError(
                f"tags.{name}",
                f"{self.service}/{self.function} may not tag {type!r} with {name!r}: "
                f"{', '.join(sorted(_KIT_NAMES))} are the kit's (the envelope's attributes, "
                "the tags it stamps on every event); name the tag otherwise",
            )
        topic = Topic.EXTERNAL if external else Topic.BUS
        if external and (self.role is not Role.EGRESS or type not in self.publishes):
            raise TopologyError(
                f"{self.service}/{self.function} may not publish external event {type!r}; "
                "only an egress publishes the types it declares"
            )
        event = Envelope(
            id=derive_id(
                self.cause_id if fact is None else f"fact:{fact}",
                self.function,
                type,
                partition_key,
                discriminator,
            ),
            type=type,
            timestamp=self.clock.now_ms() if self.occurred_at is None else self.occurred_at,
            partition_key=partition_key,
            entity=entity,
            body=body,
            tags={**self.tags, **(tags or {})},
            raw=raw,
            metadata={
                "correlationId": self.correlation_id,
                "causationId": self.cause_id,
                **(metadata or {}),
            },
        )
        for earlier_topic, earlier in self.emitted:
            if earlier.id == event.id:
                if earlier_topic is topic and _same_but_time(earlier, event):
                    return earlier
                raise PoisonError(
                    f"{self.service}/{self.function} emitted two different {type!r} events "
                    f"with one id for partition key {partition_key!r}: consumers would drop "
                    "the second as a duplicate; tell them apart with discriminator=..."
                )
        self.emitted.append((topic, event))
        return event

    def after_publish(self, action: Callable[[], object]) -> None:
        """Run ``action`` once every event emitted is published: a record of what was
        published is written only after it was, so a failure between the two publishes the
        same events again (consumers drop the repeats) and never records one nobody got.
        Actions run in the order given, also when nothing was emitted; what one returns is
        ignored, and an exception it raises is treated as a handler's."""
        self.published.append(action)


def _same_but_time(a: Envelope, b: Envelope) -> bool:
    """True when ``a`` and ``b`` say the same, whenever each was emitted."""
    return (a.type, a.partition_key, a.entity, a.body, a.tags, a.raw, a.metadata) == (
        b.type,
        b.partition_key,
        b.entity,
        b.body,
        b.tags,
        b.raw,
        b.metadata,
    )


Handler = Callable[[Envelope, Context[Any]], None]
"""A consumer's step: receives the event and the context."""

TriggerHandler = Callable[["DocumentChange", Context[Any]], None]
"""A trigger's step: receives the document change and the context."""

TickHandler = Callable[[int, Context[Any]], None]
"""A schedule's step: receives the tick time (epoch ms) and the context."""
