"""The Terraform inputs, generated from the topology: ``topology.auto.tfvars.json``.

Every environment root (``terraform/environments/<env>/``) reads one committed
file holding the variable ``subsystems``: for each subsystem its topics, its
functions (what fires each one, which topics it may publish to) and the
Firestore composite indexes its queries need (the kit's own on ``faults`` among
them); and ``envelope_schema``, the Avro schema every ``external`` topic checks
messages against. Terraform creates every resource
with ``for_each`` over this map, so the topology stays the single source of
truth; a test regenerates the file and fails when the committed one is stale.

A function's Cloud Functions name is its target with ``-`` (``browse-bff-api``);
a consumer's subscription id is the same string (:meth:`Consumer.subscription`).
Besides the topology's functions each subsystem gets the kit's implicit
:data:`FAULT_RECORDER`, fed by a push subscription on its ``faults`` topic (that
subscription dead-letters nowhere: its messages already are the faults).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import idempotency_keys
from shared.exceptions import KitError
from shared.idempotency_keys import EXPIRES
from shared.runtime.faults import RECORDER_BACKOFF_S, declared_indexes
from shared.topology.model import (
    Channel,
    Consumer,
    Endpoint,
    Function,
    Index,
    Schedule,
    Service,
    ServiceKind,
    Subsystem,
    Topic,
    Trigger,
)
from shared.topology.model import cron as schedule_cron

TFVARS_NAME = "topology.auto.tfvars.json"
FAULT_RECORDER = "faults-recorder"
"""The Cloud Functions name of every subsystem's fault recorder (target ``faults_recorder``)."""
MAX_FUNCTION_NAME = 63


class DeployError(KitError):
    """The deployment cannot be prepared or run; the message says what to do."""


@dataclass(frozen=True, slots=True)
class IndexField:
    """One field of a composite index."""

    field: str
    order: str = "ASCENDING"


@dataclass(frozen=True, slots=True)
class FirestoreIndex:
    """A composite index a subsystem's queries need, on one collection."""

    collection: str
    fields: tuple[IndexField, ...]


def render(subsystems: Sequence[Subsystem]) -> dict[str, Any]:
    """The tfvars document (``{"subsystems": {...}, "envelope_schema": {...}}``).

    ``envelope_schema`` is the Avro schema each ``external`` topic checks every
    message against (:mod:`shared.hub.topic_schemas`), as the dev stack attaches it.
    """
    from shared.hub.topic_schemas import ENVELOPE_SCHEMA_ID, envelope_avro_schema

    return {
        "subsystems": {
            s.name: _subsystem(s, [firestore_index(i) for i in declared_indexes(s)])
            for s in sorted(subsystems, key=lambda s: s.name)
        },
        "envelope_schema": {
            "id": ENVELOPE_SCHEMA_ID,
            "definition": json.dumps(envelope_avro_schema()),
        },
    }


def firestore_index(index: Index) -> FirestoreIndex:
    """The Terraform shape of a topology's index (``"name desc"`` -> DESCENDING)."""
    fields = []
    for spec in index.fields:
        name, _, order = spec.partition(" ")
        fields.append(IndexField(name, "DESCENDING" if order == "desc" else "ASCENDING"))
    return FirestoreIndex(index.collection, tuple(fields))


def to_json(document: Mapping[str, Any]) -> str:
    """Deterministic JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write(document: Mapping[str, Any], environments: Iterable[Path]) -> list[Path]:
    """Write the document into every environment directory; return the files written."""
    text, written = to_json(document), []
    for env_dir in environments:
        path = env_dir / TFVARS_NAME
        path.write_text(text)
        written.append(path)
    return written


def stale(document: Mapping[str, Any], environments: Iterable[Path]) -> list[Path]:
    """The environments' tfvars files that differ from ``document`` (or are missing)."""
    text = to_json(document)
    return [
        env_dir / TFVARS_NAME
        for env_dir in environments
        if not (env_dir / TFVARS_NAME).is_file() or (env_dir / TFVARS_NAME).read_text() != text
    ]


def function_name(service: Service, fn: Function) -> str:
    """The Cloud Functions (and Cloud Run service) name of a function."""
    return fn.target(service).replace("_", "-")


def cron(every_s: int) -> str:
    """A Cloud Scheduler cron expression firing every ``every_s`` seconds."""
    expression = schedule_cron(every_s)
    if expression is None:
        raise DeployError(
            f"every_s={every_s} cannot be a cron schedule: use a divisor of 60 minutes or 24 hours"
        )
    return expression


def _subsystem(subsystem: Subsystem, indexes: Sequence[FirestoreIndex]) -> dict[str, Any]:
    functions: dict[str, Any] = {}
    for service, fn in subsystem.functions():
        name = function_name(service, fn)
        if len(name) > MAX_FUNCTION_NAME:
            raise DeployError(f"{subsystem.name}: function name {name!r} exceeds 63 characters")
        functions[name] = _function(service, fn)
    if FAULT_RECORDER in functions:
        raise DeployError(f"{subsystem.name}: {FAULT_RECORDER!r} is reserved for the kit")
    functions[FAULT_RECORDER] = _fault_recorder()
    return {
        "topics": sorted(t.value for t in Topic),
        "functions": functions,
        "firestore_indexes": [
            {
                "collection": index.collection,
                "fields": [{"field_path": f.field, "order": f.order} for f in index.fields],
            }
            for index in indexes
        ],
        "firestore_ttl_fields": [
            {"collection": collection, "field": EXPIRES}
            for collection in _ttl_collections(subsystem)
        ],
    }


def _ttl_collections(subsystem: Subsystem) -> list[str]:
    """The kit's idempotency keys, then the subsystem's own; one TTL policy each (a subsystem
    naming the kit's collection too would otherwise declare its policy twice)."""
    return list(dict.fromkeys((idempotency_keys.COLLECTION, *subsystem.ttl_collections)))


def _function(service: Service, fn: Function) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "target": fn.target(service),
        "service": service.name,
        "role": fn.role.value,
        "public": False,
        "publishes_to": [Topic.BUS.value, Topic.FAULTS.value],
        "secrets": sorted(fn.secrets),
        "verifies_tokens": False,
        "subscription": None,
        "collection": None,
        "schedule": None,
    }
    if isinstance(fn, Endpoint):
        return {
            **entry,
            "kind": "http",
            "public": fn.public,
            "publishes_to": [],
            "verifies_tokens": service.kind is ServiceKind.BFF,
        }
    if isinstance(fn, Consumer):
        topics = entry["publishes_to"] + ([Topic.EXTERNAL.value] if fn.publishes else [])
        return {
            **entry,
            "kind": "push",
            "publishes_to": sorted(topics),
            "subscription": _subscription(fn.subscription(service), fn.channel),
        }
    if isinstance(fn, Trigger):
        return {**entry, "kind": "trigger", "collection": fn.collection}
    assert isinstance(fn, Schedule), fn
    return {**entry, "kind": "schedule", "schedule": {"cron": cron(fn.every_s)}}


def _subscription(subscription_id: str, channel: Channel) -> dict[str, Any]:
    return {
        "id": subscription_id,
        "topic": channel.topic.value,
        "producer": channel.subsystem,
        "filter": channel.rule.to_filter(),
        "ordered": channel.ordered,
        "ack_deadline_s": channel.ack_deadline_s,
        "min_backoff_s": _number(channel.min_backoff_s),
        "max_backoff_s": _number(channel.max_backoff_s),
        "max_delivery_attempts": channel.max_delivery_attempts,
    }


def _fault_recorder() -> dict[str, Any]:
    return {
        "target": FAULT_RECORDER.replace("-", "_"),
        "service": "kit",
        "role": "listener",
        "kind": "push",
        "public": False,
        "publishes_to": [],
        "secrets": [],
        "verifies_tokens": False,
        "subscription": {
            "id": FAULT_RECORDER,
            "topic": Topic.FAULTS.value,
            "producer": None,
            "filter": "",
            "ordered": False,
            "ack_deadline_s": 60,
            "min_backoff_s": RECORDER_BACKOFF_S[0],
            "max_backoff_s": RECORDER_BACKOFF_S[1],
            "max_delivery_attempts": None,
        },
        "collection": None,
        "schedule": None,
    }


def _number(value: float) -> int | float:
    """``1.0`` as ``1`` so durations render as ``"1s"``."""
    return int(value) if float(value).is_integer() else value
