"""The envelope and the Pub/Sub attributes of every published event, derived from the code.

Nothing here is written by hand but the descriptions: the field and attribute
names, which of them are always present, their JSON types and bounds come
from publishing a probe contract the way an egress does
(:func:`shared.contracts.publish`, :meth:`~shared.envelope.Envelope.to_json`,
:func:`shared.hub.message.to_message`) and from the envelope's own checks. So
renaming ``partitionKey`` on the wire or the ``schemaVersion`` tag changes
the generated document, and ``contracts check`` refuses it as breaking the
envelope or the attributes published before.

The envelope is closed (the reserved fields and one payload field, an object
named like an entity: :meth:`~shared.envelope.Envelope.from_json` refuses
anything else); it changes only with a new envelope version. The attributes are open: Pub/Sub
adds its own (``googclient_schema*`` on a topic with a schema).
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any, ClassVar

from shared.catalog.schemas import Schema
from shared.clock import ManualClock
from shared.contracts import SCHEMA_VERSION_TAG, Contract, Id, publish
from shared.envelope import (
    ENTITY_PATTERN,
    MAX_ATTRIBUTE_BYTES,
    MAX_TIMESTAMP,
    RESERVED_FIELDS,
    TYPE_PATTERN,
    Envelope,
    Json,
    derive_id,
)
from shared.hub.message import to_message
from shared.runtime.context import Context
from shared.topology.model import Role

EXAMPLE_TIME = 1_767_225_600_000
"""When every example event happened (2026-01-01T00:00:00Z)."""
EXAMPLE_ENV = "prod"
"""The deployment environment of every example event."""

_KEY = {"minLength": 1, "maxLength": MAX_ATTRIBUTE_BYTES}
_TAG = {"type": "string", "maxLength": MAX_ATTRIBUTE_BYTES}
_FIELD_BOUNDS: dict[str, Schema] = {
    "id": _KEY,
    "partitionKey": _KEY,
    "type": {"pattern": TYPE_PATTERN.pattern},
    "timestamp": {"exclusiveMinimum": 0, "exclusiveMaximum": MAX_TIMESTAMP},
    "tags": {"propertyNames": {"not": {"pattern": "^goog"}}, "additionalProperties": _TAG},
}
"""What :func:`shared.envelope._check_envelope` demands of each field beyond its type."""

_FIELDS = {
    "id": (
        "The event's id. Derived from its cause, so the same fact published again (a retry, "
        "a redelivery) has the same id: a consumer drops an id it has processed already. "
        "At most 1024 bytes of UTF-8."
    ),
    "type": (
        "The event's type: the producing subsystem, a dot, then what happened "
        "(e.g. `order.order-status-changed`)."
    ),
    "timestamp": (
        "When the fact happened, in epoch milliseconds (UTC): the producer's time, "
        "not when it was published."
    ),
    "partitionKey": (
        "The ordering key (Pub/Sub's too): events with the same key are delivered in the "
        "order they were published to a subscription with message ordering enabled (to "
        "others, in any order). Its value is one payload field's, named in each "
        "message's description and in its schema's `x-partition-key`. At most 1024 bytes "
        "of UTF-8."
    ),
    "tags": (
        "String labels, each repeated as the Pub/Sub attribute of the same name (see the "
        "attributes); keys starting with `goog` are reserved by Pub/Sub, and `id`, `type` "
        "and `partitionKey` name the envelope's own attributes, so the kit refuses them as "
        "tags."
    ),
    "raw": (
        "A source system's native data, kept by the gateway that translated it; "
        "published contract events never carry it."
    ),
    "metadata": "Tracing context.",
}
"""The description of each envelope field, by its name on the wire."""

_METADATA = {
    "correlationId": (
        "Ties together every event of one flow (e.g. an order's whole life, across "
        "subsystems). Set where the flow starts, from the key of the document whose "
        "change started it (or a field of it that the trigger names), and passed on "
        "unchanged to every event caused by it: an order's events all carry the order's id."
    ),
    "causationId": "The id of the event (or document change) whose handling emitted this one.",
}
"""The description of each ``metadata`` entry a published event carries."""

_PAYLOAD = (
    "The payload, named after the event's entity (e.g. `order`): the contract, "
    "described by the message's payload schema. Exactly one such field."
)

_ATTRIBUTES = {
    "type": "The event's type, as in the envelope: subscription filters select on it.",
    "id": "The event's id, as in the envelope.",
    "partitionKey": "The partition key, as in the envelope; also the message's ordering key.",
    SCHEMA_VERSION_TAG: (
        "The contract's major version, as in the envelope's tags. A consumer selects the "
        'version it reads with a subscription filter on it (`attributes.schemaVersion = "2"`).'
    ),
    "source": "The publishing service (an egress gateway), e.g. `status-esg`.",
    "function": "The publishing function, e.g. `egress`.",
    "subsystem": "The publishing subsystem, e.g. `order`.",
    "env": "The deployment environment that published the event.",
}
"""The description of each Pub/Sub attribute, by name."""

_ATTRIBUTE_BOUNDS: dict[str, Schema] = {
    "type": {"pattern": TYPE_PATTERN.pattern},
    "id": _KEY,
    "partitionKey": _KEY,
    SCHEMA_VERSION_TAG: {"pattern": "^[1-9][0-9]*$"},
}

_JSON_TYPES: dict[Any, Schema] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    Mapping[str, str]: {"type": "object", "additionalProperties": {"type": "string"}},
    Json: {"type": "object"},
    Json | None: {"type": "object"},
    Any: {},
}
"""The JSON Schema of each Python type an envelope field has (``None`` is never written)."""


class _Probe(Contract):
    """A contract that exists only to be published the way every contract is."""

    TYPE: ClassVar[str] = "probe.probed"
    ENTITY: ClassVar[str] = "probe"
    id: Id


def as_published(
    contract: Contract, subsystem: str, service: str, function: str, partition_key: str
) -> Envelope:
    """``contract`` as the egress ``subsystem/service/function`` publishes it.

    The cause is a made-up event whose correlation id is the partition key (as
    at the start of a flow); the time is :data:`EXAMPLE_TIME`.
    """
    ctx: Context[None] = Context(
        subsystem=subsystem,
        service=service,
        function=function,
        role=Role.EGRESS,
        ports=None,
        clock=ManualClock(EXAMPLE_TIME),
        log=logging.LoggerAdapter(logging.getLogger(__name__)),
        cause_id=derive_id("example", contract.TYPE, partition_key),
        correlation_id=partition_key,
        publishes=frozenset({contract.TYPE}),
        env=EXAMPLE_ENV,
    )
    return publish(ctx, contract)


def _probe() -> Envelope:
    return as_published(_Probe(id="probe-1"), "probe", "probe-esg", "egress", "probe-1")


def envelope_schema() -> Schema:
    """The JSON Schema of an event envelope on an ``external`` topic (the message data)."""
    probe = _probe()
    written = probe.to_json()
    everything = replace(probe, raw={}, metadata=probe.metadata or {}).to_json()
    attributes = {_camel(f.name): f.name for f in fields(Envelope)}
    hints = typing.get_type_hints(Envelope)
    properties: Schema = {}
    for name in everything:
        if name not in RESERVED_FIELDS:
            continue  # the payload, whose name is the entity's: additionalProperties
        python_type = hints[attributes[name]]
        if python_type not in _JSON_TYPES:
            raise TypeError(f"envelope field {name!r}: no JSON type for {python_type!r}")
        properties[name] = _described(
            {**_JSON_TYPES[python_type], **_FIELD_BOUNDS.get(name, {})}, _FIELDS.get(name)
        )
    if "metadata" in properties:
        properties["metadata"] = {**properties["metadata"], **_metadata(probe.metadata or {})}
    return {
        "type": "object",
        "title": "Event envelope",
        "description": (
            "Every event on an `external` topic, as the message's JSON data: the event's "
            "identity and time, its tags, tracing metadata, and the payload under one field "
            "named after its entity. Besides its own fields it holds only that payload field, an "
            "object: the envelope changes only with a new envelope version (its Pub/Sub "
            "topic schema's id ends in the version)."
        ),
        "required": [name for name in written if name in RESERVED_FIELDS],
        "properties": properties,
        "propertyNames": {"pattern": ENTITY_PATTERN.pattern},
        "additionalProperties": _described({"type": "object"}, _PAYLOAD),
    }


def attributes_schema() -> Schema:
    """The JSON Schema of a published event's Pub/Sub message attributes."""
    names = to_message(_probe()).attributes
    properties = {
        name: _described(
            {"type": "string", "maxLength": MAX_ATTRIBUTE_BYTES, **_ATTRIBUTE_BOUNDS.get(name, {})},
            _ATTRIBUTES.get(name),
        )
        for name in sorted(names)
    }
    return {
        "type": "object",
        "title": "Pub/Sub attributes",
        "description": (
            "The attributes of every published message: the envelope's type, id and "
            "partition key, and each of its tags. Subscription filters select on them "
            "without decoding the data. Pub/Sub may add attributes of its own: ignore "
            "those you do not know."
        ),
        "required": sorted(names),
        "properties": properties,
    }


def _metadata(metadata: Json) -> Schema:
    properties = {name: _described({"type": "string"}, _METADATA.get(name)) for name in metadata}
    return {"required": list(metadata), "properties": properties}


def _described(schema: Schema, description: str | None) -> Schema:
    return schema if description is None else {**schema, "description": description}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
