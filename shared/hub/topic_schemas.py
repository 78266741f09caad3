"""Topic schemas: the broker itself refuses a message that is not an event envelope.

One ``external`` topic carries several event types, each in one or more major
versions, so no schema of one contract can guard it. What every message on it
shares is the envelope (:mod:`shared.envelope`), and that is what the topic's
schema describes: an Avro record of the envelope fields that are always
present, encoded as JSON. Pub/Sub then rejects, at publish time, a message
that is not JSON or lacks one of them or gives one the wrong type (e.g. no
``type``, a ``timestamp`` that is a string), while every valid envelope passes:
the payload (under its entity's name) and the optional ``raw`` and
``metadata`` are fields the schema does not declare, and extra fields are
accepted. The payload itself is checked by the consumer's reader model.

Measured on the Pub/Sub emulator 0.8.20 (gcloud 528):

* AVRO schemas work; PROTOCOL_BUFFER ones are not implemented (501).
* A rejected publish fails with ``400 Could not parse message``
  (:class:`google.api_core.exceptions.InvalidArgument`); an empty message with
  ``400 Some messages are empty``.
* The decoding is strict Avro JSON: every declared field must be present
  (defaults are not applied) and a non-null value of a nullable union must be
  wrapped (``{"string": "x"}``). That is why no optional field is declared.
* Undeclared fields are accepted and the data is delivered unchanged.
* A ``long`` also accepts a JSON number with a fraction (``1.5``, ``1e3``); it
  refuses strings, booleans and values beyond 64 bits. The envelope's own
  reader (:meth:`~shared.envelope.Envelope.from_json`) stays the full check.
* Delivered messages carry three attributes more: ``googclient_schemaname``,
  ``googclient_schemaencoding`` and ``googclient_schemarevisionid``.
* Deleting a schema that a topic uses makes every publish to the topic fail
  with ``404 Schema associated with topic deleted``.

Google Cloud is only imported here (and in the other adapter modules).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, get_type_hints

from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]
from google.pubsub_v1 import Encoding, Schema, SchemaServiceClient

from shared.envelope import RESERVED_FIELDS, Envelope
from shared.exceptions import KitError

ENVELOPE_SCHEMA_ID = "fooddelivery-envelope-v1"
"""The schema's id in each project. A different envelope schema needs a new id (``-v2``)."""

_AVRO_TYPES: dict[Any, Any] = {
    str: "string",
    int: "long",  # epoch milliseconds do not fit Avro's 32-bit int
    Mapping[str, str]: {"type": "map", "values": "string"},
}
"""The Avro type of each Python type an always-present envelope field has."""


class TopicSchemaError(KitError):
    """A schema of the same id but another definition already exists in the project."""


def envelope_avro_schema() -> dict[str, Any]:
    """The Avro record every envelope on the wire conforms to, as a JSON-compatible dict.

    Derived from :class:`~shared.envelope.Envelope`: its fields are the
    reserved wire fields (:data:`~shared.envelope.RESERVED_FIELDS`) that
    :meth:`~shared.envelope.Envelope.to_json` always writes (``id``, ``type``,
    ``timestamp``, ``partitionKey``, ``tags``), in that order, each typed from
    the dataclass attribute of the same (snake_case) name. The payload field,
    whose name varies with the entity, and the optional ``raw`` and
    ``metadata`` are left out: Pub/Sub's Avro JSON decoding needs every
    declared field present and would reject a plain value in a nullable union.

    Raise :class:`TypeError` if a field has a type with no Avro equivalent here.
    """
    probe = Envelope(
        id="probe", type="probe", timestamp=1, partition_key="probe", entity="probe", body={}
    )
    attributes = {_camel(f.name): f.name for f in fields(Envelope)}
    hints = get_type_hints(Envelope)
    record_fields: list[dict[str, Any]] = []
    for wire_name in probe.to_json():
        if wire_name not in RESERVED_FIELDS:
            continue  # the payload: its name is the entity's, so no schema can declare it
        python_type = hints[attributes[wire_name]]
        if python_type not in _AVRO_TYPES:
            raise TypeError(f"envelope field {wire_name!r}: no Avro type for {python_type!r}")
        record_fields.append({"name": wire_name, "type": _AVRO_TYPES[python_type]})
    return {
        "type": "record",
        "name": "Envelope",
        "namespace": "fooddelivery",
        "doc": (
            "The fields every event envelope has. The payload (named after its entity), "
            "raw and metadata are not declared and pass unchecked."
        ),
        "fields": record_fields,
    }


def schema_path(project: str) -> str:
    """``projects/{project}/schemas/fooddelivery-envelope-v1``."""
    return f"projects/{project}/schemas/{ENVELOPE_SCHEMA_ID}"


def attach_envelope_schema(
    project: str,
    topic_id: str,
    *,
    schema_client: SchemaServiceClient | None = None,
    publisher_client: pubsub_v1.PublisherClient | None = None,
) -> None:
    """Make ``projects/{project}/topics/{topic_id}`` accept only event envelopes.

    Creates the schema :func:`schema_path` (an existing one with the same
    definition is reused; another definition raises :class:`TopicSchemaError`),
    then creates the topic with it (JSON encoding), or, when the topic exists
    without it, updates the topic's schema settings. Idempotent. Messages
    published before the update are not checked. Clients not given are built
    (honouring ``PUBSUB_EMULATOR_HOST``) and closed again.
    """
    with contextlib.ExitStack() as owned:
        if schema_client is None:
            schema_client = owned.enter_context(SchemaServiceClient())
        if publisher_client is None:
            publisher_client = pubsub_v1.PublisherClient()
            owned.callback(publisher_client.transport.close)
        name = _ensure_schema(schema_client, project)
        _ensure_topic(publisher_client, f"projects/{project}/topics/{topic_id}", name)


def _ensure_schema(client: SchemaServiceClient, project: str) -> str:
    """Create the envelope schema in ``project`` unless it is there; return its path."""
    name = schema_path(project)
    wanted = envelope_avro_schema()
    try:
        client.create_schema(
            request={
                "parent": f"projects/{project}",
                "schema_id": ENVELOPE_SCHEMA_ID,
                "schema": {"type_": Schema.Type.AVRO, "definition": json.dumps(wanted)},
            }
        )
    except api_exceptions.AlreadyExists:
        existing = client.get_schema(request={"name": name})
        if existing.type_ != Schema.Type.AVRO or json.loads(existing.definition) != wanted:
            raise TopicSchemaError(
                f"{name} exists with another definition; give a changed envelope schema "
                "a new id instead of reusing this one"
            ) from None
    return name


def _ensure_topic(client: Any, topic: str, schema: str) -> None:
    """Create ``topic`` with ``schema`` (JSON encoding), or set it on the existing topic."""
    settings = {"schema": schema, "encoding": Encoding.JSON}
    try:
        client.create_topic(request={"name": topic, "schema_settings": settings})
        return
    except api_exceptions.AlreadyExists:
        pass
    current = client.get_topic(request={"topic": topic}).schema_settings
    if current.schema == schema and current.encoding == Encoding.JSON:
        return
    client.update_topic(
        request={
            "topic": {"name": topic, "schema_settings": settings},
            "update_mask": {"paths": ["schema_settings"]},
        }
    )


def _camel(snake: str) -> str:
    """``partition_key`` -> ``partitionKey``: the wire name of an Envelope attribute."""
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), snake)
