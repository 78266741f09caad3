"""The AsyncAPI 3.0 document of the system's external events.

One channel per producer's ``external`` topic (each subsystem is its own GCP
project, hence its own server); one message per (type, major version), whose
headers are the Pub/Sub attributes (``type``, ``schemaVersion``, ...) and whose
payload is the envelope carrying the contract's schema under the entity field;
a ``send`` operation for each producer's egress and a ``receive`` operation for
each consumer's ingress.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.catalog.inventory import Published, Reading
from shared.catalog.schemas import example, schema_file, schema_of
from shared.catalog.yamltext import to_yaml
from shared.contracts import SCHEMA_VERSION_TAG
from shared.envelope import MAX_ATTRIBUTE_BYTES, MAX_TIMESTAMP
from shared.hub.topic_schemas import ENVELOPE_SCHEMA_ID

ENVELOPE_SCHEMA = f"projects/{{project}}/schemas/{ENVELOPE_SCHEMA_ID}"
"""The topic schema every ``external`` topic checks messages against (shared.hub.topic_schemas)."""

ASYNCAPI_VERSION = "3.0.0"
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
Doc = dict[str, Any]


def asyncapi(events: Sequence[Published], title: str = "Food delivery") -> Doc:
    """The AsyncAPI document for ``events`` (see :func:`~shared.catalog.inventory.inventory`)."""
    producers = sorted({e.producer for e in events})
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"{title}: external events",
            "version": "1.0.0",
            "description": (
                "Every event a subsystem publishes on its `external` topic, generated "
                "from the topology and the contracts by `fooddelivery contracts export`. "
                "Each major version of an event is its own message; the `schemaVersion` "
                "attribute says which one a message carries."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {p: _server(p) for p in producers},
        "channels": {_channel_id(p): _channel(p, events) for p in producers},
        "operations": _operations(events),
        "components": {"messages": {e.key: _message(e) for e in events}},
    }


def render(events: Sequence[Published]) -> str:
    """The document as deterministic YAML text."""
    return to_yaml(asyncapi(events))


def _channel_id(producer: str) -> str:
    return f"{producer}-external"


def _ref(*path: str) -> Doc:
    return {"$ref": "#/" + "/".join(path)}


def _server(producer: str) -> Doc:
    return {
        "host": "pubsub.googleapis.com",
        "protocol": "googlepubsub",
        "title": f"{producer}'s project",
        "description": f"Pub/Sub in the {producer} subsystem's own project.",
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
    for op_id, published in sorted(sends.items()):
        operations[op_id] = _operation("send", op_id.replace(".", "/"), published)
    for reading, read in sorted(receives.items(), key=lambda kv: kv[0].qualified):
        op_id = reading.qualified.replace("/", ".")
        operations[op_id] = _operation("receive", reading.qualified, read)
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


def _message(event: Published) -> Doc:
    consumers = ", ".join(r.qualified for r in event.consumers) or "none"
    example_body = example(schema_of(event))
    return {
        "name": event.key,
        "title": f"{event.type} v{event.version}",
        "summary": event.summary,
        "description": (
            f"Published by {event.producer}/{event.service}/{event.function}; "
            f"read by {consumers}. Schema: `{schema_file(event.type, event.version)}`."
        ),
        "contentType": "application/json",
        "correlationId": {
            "description": "The flow the event belongs to (the first event's id).",
            "location": "$message.payload#/metadata/correlationId",
        },
        "headers": _headers(event),
        "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": _envelope(event)},
        "examples": [
            {
                "name": "example",
                "headers": {
                    "type": event.type,
                    SCHEMA_VERSION_TAG: str(event.version),
                    "id": "6f1c1f9e-0000-4000-8000-000000000001",
                    "partitionKey": "key-1",
                },
                "payload": {
                    "id": "6f1c1f9e-0000-4000-8000-000000000001",
                    "type": event.type,
                    "timestamp": 1767225600000,
                    "partitionKey": "key-1",
                    "tags": {SCHEMA_VERSION_TAG: str(event.version)},
                    event.entity: example_body,
                },
            }
        ],
    }


def _headers(event: Published) -> Doc:
    text = {"type": "string"}
    return {
        "type": "object",
        "description": "The Pub/Sub message attributes: the envelope's identity and tags.",
        "required": ["type", SCHEMA_VERSION_TAG, "id", "partitionKey"],
        "properties": {
            "type": {"const": event.type, "description": "The external event type."},
            SCHEMA_VERSION_TAG: {
                "const": str(event.version),
                "description": "The contract's major version; ingress rules select on it.",
            },
            "id": {**text, "description": "The event id; consumers drop duplicates by it."},
            "partitionKey": {**text, "description": "The ordering key (the entity's id)."},
            "source": {**text, "description": "The publishing service."},
            "function": {**text, "description": "The publishing function."},
            "subsystem": {**text, "description": "The publishing subsystem."},
            "env": {**text, "description": "The deployment environment."},
        },
    }


def _envelope(event: Published) -> Doc:
    return {
        "type": "object",
        "description": f"The envelope; the payload is under `{event.entity}`.",
        "required": ["id", "type", "timestamp", "partitionKey", "tags", event.entity],
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": MAX_ATTRIBUTE_BYTES},
            "type": {"const": event.type},
            "timestamp": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_TIMESTAMP - 1,
                "description": "Epoch milliseconds.",
            },
            "partitionKey": {"type": "string", "minLength": 1, "maxLength": MAX_ATTRIBUTE_BYTES},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "raw": {"description": "The source system's native data, when kept."},
            "metadata": {"type": "object", "description": "correlationId, causationId."},
            event.entity: {"$ref": schema_file(event.type, event.version)},
        },
    }
