"""Published contracts and tolerant readers: the only things subsystems share.

A producer declares each external event as a :class:`Contract` in its own
``contracts.py``: the payload's model plus its type, entity and major version.
Its egress publishes through :func:`publish`, so nothing beyond the contract's
fields leaves the subsystem (unknown fields are refused, not forwarded)::

    class OrderPlaced(Contract):
        TYPE: ClassVar[str] = "customer.order-placed"
        ENTITY: ClassVar[str] = "order"
        VERSION: ClassVar[int] = 1
        id: str
        total: int

    publish(ctx, OrderPlaced(id=..., total=...), partition_key=order_id)

A consumer never imports the producer's code. Its ingress declares a
:class:`Reader` holding only what it needs, ignoring the rest, and reads with
:func:`read`; an event that does not fit becomes a fault, never a crash or a
half-applied change.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Annotated, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from shared.exceptions import InvalidEventError

if TYPE_CHECKING:
    from typing import Any

    from shared.envelope import Envelope
    from shared.runtime.context import Context

SCHEMA_VERSION_TAG = "schemaVersion"
"""The envelope tag (and Pub/Sub attribute) that carries a contract's major version."""

R = TypeVar("R", bound="Reader")

Id = Annotated[str, Field(min_length=1)]
"""An entity's id: never empty (it is the partition key of the events about it)."""
EpochMs = Annotated[int, Field(ge=0, examples=[1767225600000])]
"""A point in time in epoch milliseconds."""
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
"""An ISO 4217 currency code; amounts are integers in its minor unit (cents)."""


class ContractModel(BaseModel):
    """A part of a published payload: camelCase on the wire, nothing extra, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Contract(ContractModel):
    """A published event's payload (the entity's state), with its identity."""

    TYPE: ClassVar[str]
    ENTITY: ClassVar[str]
    VERSION: ClassVar[int] = 1


class Reader(BaseModel):
    """A consumer's view of someone else's contract: only the fields it needs.

    A reader is tolerant: it ignores fields it does not use, and reads a field
    whose values the producer may add to (a status, a mode) as a plain ``str``,
    never a closed ``Literal``, so a new value cannot turn every event into a
    fault. The ingress then skips what it does not know (:func:`knows`).
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


def publish(ctx: Context[Any], contract: Contract, *, partition_key: str) -> Envelope:
    """Emit ``contract`` on the subsystem's ``external`` topic (from an egress)."""
    return ctx.emit(
        contract.TYPE,
        contract.ENTITY,
        contract.model_dump(mode="json", by_alias=True),
        partition_key=partition_key,
        discriminator=f"v{contract.VERSION}",
        external=True,
        tags={SCHEMA_VERSION_TAG: str(contract.VERSION)},
    )


def knows(
    ctx: Context[Any], event: Envelope, field: str, value: str, known: Collection[str]
) -> bool:
    """Whether this consumer knows ``value``; if not, say so: the ingress skips the event.

    A producer may add values to an enumerated field (a compatible change); a
    consumer that has not learnt them yet acknowledges such events and moves on.
    """
    if value in known:
        return True
    ctx.log.info("%s %s: %s %r is unknown here; skipped", event.type, event.id, field, value)
    return False


def read(event: Envelope, reader: type[R]) -> R:
    """Read ``event``'s payload with ``reader`` or raise :class:`InvalidEventError`.

    The error names every offending field, and the runtime turns it into a
    fault event, so a contract violation is stored and resubmittable.
    """
    try:
        return reader.model_validate(event.body)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '$'}: {err['msg']}" for err in e.errors()
        )
        raise InvalidEventError(f"{event.type} does not fit {reader.__name__}: {problems}") from e
