"""The AsyncAPI 3.1 document of the system's external events.

One channel per producer's ``external`` topic (each subsystem is its own GCP
project, hence its own server); one message per (type, major version), whose
headers are the Pub/Sub attributes (``type``, ``schemaVersion``, ...) and whose
payload is the envelope carrying the contract's schema under the entity field;
a ``send`` operation for each producer's egress and a ``receive`` operation for
each consumer's ingress, with the subscription filter that selects what it reads.

The envelope and the attributes are not written here: they are generated
from the code (:mod:`.envelope`) into ``components.schemas``, and every message
refers to them, so a change to the wire format makes the document stale.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from shared.catalog.envelope import as_published, attributes_schema, envelope_schema
from shared.catalog.inventory import Published, Reading
from shared.catalog.schemas import example_of, render_json, schema_file, schema_of
from shared.catalog.yamltext import to_yaml
from shared.contracts import SCHEMA_VERSION_TAG
from shared.hub.message import to_message
from shared.hub.topic_schemas import ENVELOPE_SCHEMA_ID
from shared.prose import prose

ENVELOPE_SCHEMA = f"projects/{{project}}/schemas/{ENVELOPE_SCHEMA_ID}"
"""The topic schema every ``external`` topic checks messages against (shared.hub.topic_schemas)."""

ASYNCAPI_VERSION = "3.1.0"
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
ENVELOPE = "envelope"
ATTRIBUTES = "attributes"
"""The names of the generated envelope and attributes schemas in ``components.schemas``."""
Doc = dict[str, Any]


def asyncapi(events: Sequence[Published], title: str = "Food delivery") -> Doc:
    """The AsyncAPI document for ``events`` (see :func:`~shared.catalog.inventory.inventory`)."""
    producers = sorted({e.producer for e in events})
    schemas = {ENVELOPE: envelope_schema(), ATTRIBUTES: attributes_schema()}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"{title}: external events",
            "version": document_version(events, schemas),
            "description": _DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": {p: _server(p) for p in producers},
        "channels": {_channel_id(p): _channel(p, events) for p in producers},
        "operations": _operations(events),
        "components": {"schemas": schemas, "messages": {e.key: _message(e) for e in events}},
    }


_DESCRIPTION = """\
Every event a subsystem publishes on its `external` topic, generated from the \
topology and the contracts by `fooddelivery contracts export`.

Each major version of an event is its own message; the `schemaVersion` attribute \
says which one a message carries, and a consumer's subscription filter selects the \
versions it reads (each receive operation shows its filter). A deprecated version \
is published beside its successor until no consumer selects it.

A consumer subscribes in its own project to the producer's topic \
(`projects/<project>/topics/external`, once `roles/pubsub.subscriber` on it is granted), \
with a filter on `attributes.type` and `attributes.schemaVersion` (without one it \
receives every fact once per published version) and with message ordering enabled: \
events with the same `partitionKey` (the ordering key) then arrive in the order they \
were published. Delivery is at least once: drop an envelope `id` already processed.

Payload schemas are open: within a major version a producer may add optional \
fields (and enum values), so a consumer must accept properties it does not know, \
and skip values it does not know. Producers never send fields their contract does \
not declare.

`info.version`: the major is the envelope's version (the one change every consumer \
would have to follow); each event's own version is its message's. The build part \
(after `+`) is a digest of every schema here: equal versions describe the same contracts.
"""


def render(events: Sequence[Published]) -> str:
    """The document as deterministic YAML text."""
    return to_yaml(asyncapi(events))


def document_version(events: Sequence[Published], schemas: Doc) -> str:
    """``<envelope major>.0.0+<digest of every schema>``: see the document's description."""
    match = re.search(r"-v([0-9]+)$", ENVELOPE_SCHEMA_ID)
    major = match[1] if match else "0"
    digest = hashlib.sha256(render_json(schemas).encode())
    for event in events:
        digest.update(render_json(schema_of(event)).encode())
    return f"{major}.0.0+{digest.hexdigest()[:12]}"


def _channel_id(producer: str) -> str:
    return f"{producer}-external"


def _ref(*path: str) -> Doc:
    return {"$ref": "#/" + "/".join(path)}


def _server(producer: str) -> Doc:
    return {
        "host": "pubsub.googleapis.com",
        "protocol": "googlepubsub",
        "title": f"{producer}'s project",
        "description": (
            f"Pub/Sub in the {producer} subsystem's own project: one per environment (the "
            "deployment's Terraform output `projects` names them); its `external` topic is "
            "`projects/<project>/topics/external`."
        ),
    }


def _channel(producer: str, events: Sequence[Published]) -> Doc:
    mine = [e for e in events if e.producer == producer]
    return {
        "address": "external",
        "title": f"{producer} / external",
        "description": f"The `external` topic of the {producer} subsystem: its published events.",
        "servers": [_ref("servers", producer)],
        "messages": {e.key: _ref("components", "messages", e.key) for e in mine},
        "bindings": {
            "googlepubsub": {
                "bindingVersion": "0.2.0",
                "schemaSettings": {"encoding": "json", "name": ENVELOPE_SCHEMA},
            }
        },
    }


def _operations(events: Sequence[Published]) -> Doc:
    sends: dict[str, list[Published]] = {}
    receives: dict[Reading, list[Published]] = {}
    for e in events:
        sends.setdefault(f"{e.producer}.{e.service}.{e.function}", []).append(e)
        for reading in e.consumers:
            receives.setdefault(reading, []).append(e)
    operations: Doc = {}
    for op_id, published_events in sorted(sends.items()):
        operations[op_id] = _send(op_id.replace(".", "/"), published_events)
    for reading, read in sorted(receives.items(), key=lambda kv: kv[0].qualified):
        operations[reading.qualified.replace("/", ".")] = _receive(reading, read)
    return operations


def _operation(action: str, who: str, events: list[Published]) -> Doc:
    channel = _channel_id(events[0].producer)
    verb = "publishes" if action == "send" else "reads"
    listed = ", ".join(f"{e.type} v{e.version}" for e in events)
    return {
        "action": action,
        "channel": _ref("channels", channel),
        "title": f"{who} {verb}",
        "summary": f"{who} {verb} {listed}.",
        "messages": [_ref("channels", channel, "messages", e.key) for e in events],
    }


def _send(who: str, events: list[Published]) -> Doc:
    operation = _operation("send", who, events)
    operation["description"] = (
        "Publishes each event with its contract's major version in the "
        f"`{SCHEMA_VERSION_TAG}` tag and attribute, and its partition key as the ordering key."
    )
    return operation


def _receive(reading: Reading, events: list[Published]) -> Doc:
    operation = _operation("receive", reading.qualified, events)
    selected = reading.subscription_filter
    if selected:
        operation["description"] = (
            f"Subscribes to the topic with the filter `{selected}`, so it receives only "
            f"these types and versions (a version is selected on the `{SCHEMA_VERSION_TAG}` "
            "attribute)."
        )
        operation["x-subscription-filter"] = selected
    else:
        operation["description"] = "Subscribes to the topic without a filter: it receives all."
    return operation


def _message(event: Published) -> Doc:
    message: Doc = {
        "name": event.key,
        "title": f"{event.type} v{event.version}",
        "summary": event.summary,
        "description": _message_description(event),
        "contentType": "application/json",
        "correlationId": {
            "description": (
                "The flow the event belongs to: set where the flow starts and passed on to "
                "every event it causes (an order's events all carry the order's id)."
            ),
            "location": "$message.payload#/metadata/correlationId",
        },
        "headers": _headers(event),
        "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": _payload(event)},
        "examples": [_example(event)],
    }
    if event.superseded_by is not None:
        message["deprecated"] = True
    return message


def _message_description(event: Published) -> str:
    consumers = ", ".join(r.qualified for r in event.consumers) or "none"
    facts = [
        f"Published by {event.producer}/{event.service}/{event.function}; read by {consumers}.",
        f"Payload schema: `{schema_file(event.type, event.version)}`, under the envelope's "
        f"`{event.entity}` field. Partition key: the payload's `{event.partition_key}`.",
        f"To receive this version, a subscription filters on "
        f'`attributes.{SCHEMA_VERSION_TAG} = "{event.version}"`.',
    ]
    if event.attributes:
        named = ", ".join(f"`{a}`" for a in event.attributes)
        facts.append(f"The payload's {named} also travel as attributes, to filter on.")
    if event.superseded_by is not None:
        facts.append(f"Deprecated: superseded by v{event.superseded_by}.")
    return prose(event.contract.__doc__ or event.type) + "\n\n" + " ".join(facts)


def _headers(event: Published) -> Doc:
    return {
        "description": f"The Pub/Sub attributes of {event.type} v{event.version}.",
        "allOf": [
            _ref("components", "schemas", ATTRIBUTES),
            {
                "type": "object",
                "properties": {
                    "type": {"const": event.type},
                    SCHEMA_VERSION_TAG: {"const": str(event.version)},
                    "partitionKey": _keyed_by(event),
                    **{
                        name: {
                            "type": "string",
                            "description": f"The payload's `{name}`, to filter on.",
                        }
                        for name in event.attributes
                    },
                },
                **({"required": list(event.attributes)} if event.attributes else {}),
            },
        ],
    }


def _keyed_by(event: Published) -> Doc:
    return {"description": f"The value of the payload's `{event.partition_key}`."}


def _payload(event: Published) -> Doc:
    return {
        "description": f"The envelope with the payload under `{event.entity}`.",
        "allOf": [
            _ref("components", "schemas", ENVELOPE),
            {
                "type": "object",
                "required": [event.entity],
                "properties": {
                    "type": {"const": event.type},
                    "partitionKey": _keyed_by(event),
                    "tags": {
                        "type": "object",
                        "required": [SCHEMA_VERSION_TAG],
                        "properties": {SCHEMA_VERSION_TAG: {"const": str(event.version)}},
                    },
                    event.entity: {"$ref": schema_file(event.type, event.version)},
                },
            },
        ],
    }


def _example(event: Published) -> Doc:
    """The contract's example as its egress publishes it: attributes and envelope."""
    body = example_of(event)
    contract = event.contract.model_validate(body)
    sent = as_published(
        contract, event.producer, event.service, event.function, body[event.partition_key]
    )
    return {
        "name": "example",
        "summary": f"Example of {event.type} v{event.version} as published.",
        "headers": dict(sorted(to_message(sent).attributes.items())),
        "payload": sent.to_json(),
    }
