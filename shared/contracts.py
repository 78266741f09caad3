"""Published contracts and tolerant readers: the only things subsystems share.

A producer declares each external event as a :class:`Contract` in its own
``contracts.py``: the payload's model plus its type, entity and major version.
Its egress publishes through :func:`publish`, so nothing beyond the contract's
fields leaves the subsystem (unknown fields are refused, not forwarded)::

    class OrderPlaced(Contract):
        TYPE: ClassVar[str] = "customer.order-placed"
        ENTITY: ClassVar[str] = "order"
        VERSION: ClassVar[int] = 1
        id: Id
        total: int

    publish(ctx, OrderPlaced(id=..., total=...))  # keyed by ``id``

Each field's docstring (the string literal under it) is its description in
the published JSON Schema: say what the field means and its unit there. The
shared types :data:`Id`, :data:`EpochMs` and :data:`Currency` add their own
meaning to it (see :class:`Meaning`).

A consumer never imports the producer's code. Its ingress declares a
:class:`Reader` holding only what it needs, ignoring the rest, and reads with
:func:`read`; an event that does not fit becomes a fault, never a crash or a
half-applied change.
"""

from __future__ import annotations

import typing
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

from shared.clock import LATEST_MS
from shared.envelope import ENTITY_PATTERN, RESERVED_FIELDS, TYPE_PATTERN
from shared.exceptions import InvalidEventError
from shared.hub.message import KIT_TAGS, RESERVED_ATTRIBUTES

if TYPE_CHECKING:
    from shared.envelope import Envelope
    from shared.runtime.context import Context

SCHEMA_VERSION_TAG = "schemaVersion"
"""The envelope tag (and Pub/Sub attribute) that carries a contract's major version."""
_ENVELOPE_ATTRIBUTES = RESERVED_ATTRIBUTES | {SCHEMA_VERSION_TAG, *KIT_TAGS}
"""Attribute names the envelope and the kit take: no contract field may travel under one."""

R = TypeVar("R", bound="Reader")


@dataclass(frozen=True, slots=True)
class Meaning:
    """What every value of an annotated type is: appended to the description of its fields.

    Unlike ``Field(description=...)`` inside ``Annotated``, which would replace
    the docstring of every field of the type, a meaning adds to it: a field
    ``changed_at: EpochMs`` documented "When the status changed." is published
    as "When the status changed. Epoch milliseconds (UTC)."
    """

    text: str


MAX_AMOUNT = 2**53 - 1
"""The most an amount may come to, in its currency's minor unit: the largest whole number
every JSON reader (a JavaScript app's too) reads exactly (RFC 7493, I-JSON, section 2.2),
well inside the stores' 64-bit integers."""

Id = Annotated[str, Field(min_length=1), Meaning("An opaque id, never empty.")]
"""An entity's id: never empty (events are keyed by ids, and a key cannot be)."""
EpochMs = Annotated[
    int, Field(ge=0, examples=[1767225600000]), Meaning("Epoch milliseconds (UTC).")
]
"""A point in time in epoch milliseconds."""
ReadEpochMs = Annotated[
    int, Field(ge=0, strict=True), AfterValidator(lambda ms: min(ms, LATEST_MS))
]
"""A producer's :data:`EpochMs` as a :class:`Reader` takes it: a JSON integer (``"1767…"``,
``1.5e12`` or ``true`` breaks the contract: a fault naming the field, not a time guessed),
never negative; one past :data:`LATEST_MS` is read as that, still the latest, so the
consumer can keep it."""
Currency = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", examples=["EUR"]),
    Meaning(
        "An ISO 4217 currency code; amounts in it are integers in its minor unit (cents for EUR)."
    ),
]
"""An ISO 4217 currency code; amounts are integers in its minor unit (cents)."""


def _meanings(annotation: Any) -> Iterator[Meaning]:
    """Every :class:`Meaning` inside ``annotation`` (through ``Optional``, ``list``...)."""
    if typing.get_origin(annotation) is Annotated:
        yield from (m for m in annotation.__metadata__ if isinstance(m, Meaning))
    for arg in typing.get_args(annotation):
        yield from _meanings(arg)


def _describe(field: FieldInfo) -> str | None:
    """A field's published description: its docstring, then the meaning of its type."""
    parts = [field.description] if field.description else []
    for meaning in (*field.metadata, *_meanings(field.annotation)):
        if isinstance(meaning, Meaning) and meaning.text not in parts:
            parts.append(meaning.text)
    return " ".join(parts) or None


def _describe_fields(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Give each property of ``model``'s JSON Schema the description :func:`_describe` makes."""
    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        text = _describe(field)
        wire = field.serialization_alias or field.alias or name
        if text is not None and wire in properties:
            properties[wire]["description"] = text


class ContractModel(BaseModel):
    """A part of a published payload: camelCase on the wire, nothing extra, immutable.

    A field's docstring (the string literal under it) is its description in
    the published JSON Schema.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        json_schema_extra=_describe_fields,
    )


class Contract(ContractModel):
    """A published event's payload (the entity's state), with its identity."""

    TYPE: ClassVar[str]
    ENTITY: ClassVar[str]
    VERSION: ClassVar[int] = 1
    PARTITION_KEY: ClassVar[str] = "id"
    """The field (its Python name) whose value the egress publishes as the partition key:
    a required string, checked when the class is defined."""
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()
    """Fields (Python names) whose values also travel as Pub/Sub attributes, under their wire
    names, so consumers can select on them in a subscription filter (a status, a mode):
    required fields whose JSON value is a string. Part of the contract: removing one
    breaks the consumers that filter on it."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _check_identity(cls)
        field = cls.model_fields.get(cls.PARTITION_KEY)
        if field is None or not field.is_required() or field.annotation is not str:
            raise TypeError(
                f"{cls.__name__}.PARTITION_KEY = {cls.PARTITION_KEY!r} must name a required "
                "str field by its Python name: every event needs a key to be ordered by"
            )
        for name in cls.ATTRIBUTES:
            attribute = cls.model_fields.get(name)
            if attribute is None or not attribute.is_required():
                raise TypeError(
                    f"{cls.__name__}.ATTRIBUTES names {name!r}, which is not a required field "
                    "(by its Python name): an attribute consumers filter on is always there"
                )
            if wire_name(cls, name) in _ENVELOPE_ATTRIBUTES:
                raise TypeError(f"{cls.__name__}.ATTRIBUTES: {name!r} is an envelope attribute")

    @classmethod
    def attributes_of(cls, body: dict[str, Any]) -> dict[str, str]:
        """The attributes (wire name to value) of a payload dumped as JSON, by alias."""
        found = {}
        for name in cls.ATTRIBUTES:
            wire = wire_name(cls, name)
            value = body[wire]
            if not isinstance(value, str):
                raise TypeError(f"{cls.__name__}.{name} must dump to a string to be an attribute")
            found[wire] = value
        return found


def _check_identity(cls: type[Contract]) -> None:
    """Refuse a ``TYPE``, ``ENTITY`` or ``VERSION`` no envelope can carry, when the class is
    defined: the catalog would publish a schema file under that name that the compatibility
    gate never reads (``schemas/<type>.v<major>.json``, a major version from 1)."""
    name = cls.__name__
    event_type = getattr(cls, "TYPE", None)
    if not isinstance(event_type, str) or not TYPE_PATTERN.fullmatch(event_type):
        raise TypeError(
            f"{name}.TYPE = {event_type!r} must be lower-case words joined by '-' or '.' "
            "(e.g. 'order.order-placed')"
        )
    entity = getattr(cls, "ENTITY", None)
    if not isinstance(entity, str) or not ENTITY_PATTERN.fullmatch(entity):
        raise TypeError(
            f"{name}.ENTITY = {entity!r} must be a camelCase name (e.g. 'order'): the "
            "envelope field that carries the payload"
        )
    if entity in RESERVED_FIELDS:
        raise TypeError(f"{name}.ENTITY = {entity!r} is an envelope field of its own")
    version = cls.VERSION
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TypeError(f"{name}.VERSION = {version!r} must be a major version: 1, 2, ...")


def wire_name(model: type[BaseModel], name: str) -> str:
    """A field's name in JSON (its alias), from its Python name."""
    info = model.model_fields[name]
    return info.serialization_alias or info.alias or name


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


def partition_key_of(contract: Contract) -> str:
    """The value ``contract`` is keyed by: its :attr:`Contract.PARTITION_KEY` field."""
    return str(getattr(contract, contract.PARTITION_KEY))


def publish(
    ctx: Context[Any], contract: Contract, *, discriminator: str = "", fact: str | None = None
) -> Envelope:
    """Emit ``contract`` on the subsystem's ``external`` topic (from an egress), keyed by
    its :attr:`~Contract.PARTITION_KEY` field, as the catalog says it is.

    ``discriminator`` tells apart several events of one type an egress publishes for
    one cause; ``fact``, as for :meth:`~shared.runtime.context.Context.emit`, names what
    the event states when other causes publish it again, so every copy gets one id."""
    body = contract.model_dump(mode="json", by_alias=True)
    return ctx.emit(
        contract.TYPE,
        contract.ENTITY,
        body,
        partition_key=partition_key_of(contract),
        discriminator=f"v{contract.VERSION}" + (f":{discriminator}" if discriminator else ""),
        external=True,
        tags={SCHEMA_VERSION_TAG: str(contract.VERSION), **contract.attributes_of(body)},
        fact=fact,
    )


def knows(
    ctx: Context[Any], event: Envelope, field: str, value: str, known: Collection[str]
) -> bool:
    """Whether this consumer knows ``value``; if not, say so: the ingress skips the event.

    A producer may add values to an enumerated field (a compatible change); a
    consumer that has not learnt them yet acknowledges such events and moves on,
    with a warning: it is behind its producer, and someone should teach it the value.
    """
    if value in known:
        return True
    ctx.log.warning(
        "%s %s: %s %r is unknown here; skipped (this consumer is behind its producer)",
        event.type,
        event.id,
        field,
        value,
    )
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
