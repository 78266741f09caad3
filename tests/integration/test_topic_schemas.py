"""The envelope schema on a topic, against the Pub/Sub emulator: the broker refuses non-envelopes.

Every valid envelope passes, whatever its type, version, payload, ``raw`` or
``metadata``; a message that is not an envelope fails at publish time.
Every test works in a project of its own (``p<run>-schema<n>``).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1
from google.pubsub_v1 import Encoding, Schema

from shared.catalog.schemas import example, parse_schema_file
from shared.contracts import SCHEMA_VERSION_TAG
from shared.envelope import Envelope, new_event
from shared.exceptions import EnvelopeError, PublishError
from shared.hub.message import Message, from_message, to_message
from shared.hub.provision import subscription_path, topic_path
from shared.hub.pubsub import PubSubPublisher
from shared.hub.pubsub_pull import PubSubBatchPuller
from shared.hub.topic_schemas import (
    ENVELOPE_SCHEMA_ID,
    TopicSchemaError,
    attach_envelope_schema,
    envelope_avro_schema,
    schema_path,
)
from shared.topology.model import Topic

RUN = uuid.uuid4().hex[:6]
SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
_projects = itertools.count()


def new_project() -> str:
    return f"p{RUN}-schema{next(_projects)}"


class Admin:
    """Admin clients on the emulator."""

    def __init__(self) -> None:
        self.pub = pubsub_v1.PublisherClient()
        self.sub = pubsub_v1.SubscriberClient()
        self.schemas = pubsub_v1.SchemaServiceClient()

    def reader(self, project: str) -> str:
        """A pull subscription on ``project``'s ``external`` topic; returns its path."""
        path = subscription_path(project, "read-external")
        self.sub.create_subscription(
            request={"name": path, "topic": topic_path(project, Topic.EXTERNAL)}
        )
        return path


@pytest.fixture(scope="module")
def admin() -> Iterator[Admin]:
    clients = Admin()
    yield clients
    clients.pub.transport.close()
    clients.sub.close()
    clients.schemas.transport.close()


@pytest.fixture
def guarded(admin: Admin) -> Iterator[tuple[str, PubSubPublisher]]:
    """A fresh project whose ``external`` topic has the envelope schema, and a publisher."""
    project = new_project()
    attach_envelope_schema(project, Topic.EXTERNAL.value)
    publisher = PubSubPublisher(project)
    yield project, publisher
    publisher.close()


def published_contracts() -> list[Envelope]:
    """One external event per committed contract (type and major version), as egresses emit."""
    events = []
    for file in sorted(SCHEMAS.glob("*.json")):
        identity = parse_schema_file(file.name)
        assert identity is not None, file
        event_type, version = identity
        schema = json.loads(file.read_text())
        events.append(
            new_event(
                event_type,
                schema["x-entity"],
                example(schema),
                partition_key=f"k-{file.stem}",
                tags={"source": "egress", SCHEMA_VERSION_TAG: str(version)},
            )
        )
    return events


def with_optional_fields() -> list[Envelope]:
    """Envelopes using ``raw`` and ``metadata``, and one with no tags at all."""
    cause = new_event("order-placed", "order", {"id": "o-1"}, partition_key="o-1")
    return [
        new_event(
            "restaurant.menu-updated",
            "menu",
            {"items": []},
            partition_key="r-1",
            raw={"native": [1, "two", None], "vendor": "pos-system"},
        ),
        new_event("order-accepted", "order", {"id": "o-1"}, partition_key="o-1", cause=cause),
        new_event(
            "delivery.delivery-status-changed",
            "delivery",
            {"id": "d-1", "nested": {"deep": [1.5, True]}},
            partition_key="d-1",
            tags={"source": "tracker"},
            raw="a native string",
            metadata={"correlationId": "flow-1", "retries": 2},
        ),
        Envelope(
            id="e-bare", type="tick", timestamp=1, partition_key="clock", entity="tick", body={}
        ),
    ]


def read_back(path: str, count: int, timeout_s: float = 30.0) -> list[Message]:
    """Pull from ``path`` until ``count`` messages arrived (acknowledging them)."""
    puller = PubSubBatchPuller(path)
    got: dict[str, Message] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < count and time.monotonic() < deadline:
            batch = puller.pull()
            puller.ack([ack_id for ack_id, _ in batch])
            got.update((m.message_id, m) for _, m in batch)
    finally:
        puller.close()
    return list(got.values())


# -- what passes ---------------------------------------------------------------------------


def test_every_envelope_passes_unchanged(
    admin: Admin, guarded: tuple[str, PubSubPublisher]
) -> None:
    project, publisher = guarded
    reader = admin.reader(project)
    events = published_contracts() + with_optional_fields()
    assert len({e.type for e in events}) >= 8  # many types, and order status in v1 and v2

    ids = publisher.publish(Topic.EXTERNAL, [to_message(e) for e in events])

    assert len(set(ids)) == len(events)
    received = {m.message_id: m for m in read_back(reader, len(events))}
    assert set(received) == set(ids)
    for event, message_id in zip(events, ids, strict=True):
        message = received[message_id]
        assert message.data == event.to_bytes()
        assert from_message(message) == event
        # the broker adds attributes naming the schema it checked against
        attributes = dict(message.attributes)
        assert attributes.items() >= to_message(event).attributes.items()
        assert attributes["googclient_schemaname"] == schema_path(project)
        assert attributes["googclient_schemaencoding"] == "JSON"


# -- what is refused -----------------------------------------------------------------------

VALID = new_event("customer.order-placed", "order", {"id": "o-7"}, partition_key="o-7").to_json()


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in VALID.items() if k != name}


NOT_ENVELOPES = {
    "type missing": json.dumps(without("type")).encode(),
    "id missing": json.dumps(without("id")).encode(),
    "partitionKey missing": json.dumps(without("partitionKey")).encode(),
    "tags missing": json.dumps(without("tags")).encode(),
    "timestamp a string": json.dumps({**VALID, "timestamp": "1764150000000"}).encode(),
    "timestamp a boolean": json.dumps({**VALID, "timestamp": True}).encode(),
    "type not a string": json.dumps({**VALID, "type": 7}).encode(),
    "type null": json.dumps({**VALID, "type": None}).encode(),
    "tag value not a string": json.dumps({**VALID, "tags": {"source": 1}}).encode(),
    "a JSON array": json.dumps([VALID]).encode(),
    "not JSON": b"order placed, see you soon",
    "cut inside the envelope fields": json.dumps(VALID).encode()[:30],
}


@pytest.mark.parametrize("data", NOT_ENVELOPES.values(), ids=NOT_ENVELOPES.keys())
def test_a_message_that_is_not_an_envelope_is_refused(
    guarded: tuple[str, PubSubPublisher], data: bytes
) -> None:
    project, publisher = guarded
    refused = Message(data, {"type": "customer.order-placed"}, ordering_key="o-7")

    with pytest.raises(PublishError, match="Could not parse message") as failure:
        publisher.publish(Topic.EXTERNAL, [refused])

    assert isinstance(failure.value.__cause__, api_exceptions.InvalidArgument)
    # the refusal paused the ordering key only until the publisher resumed it
    again = new_event("customer.order-placed", "order", {"id": "o-7"}, partition_key="o-7")
    assert len(publisher.publish(Topic.EXTERNAL, [to_message(again)])) == 1


def test_the_broker_checks_the_envelope_fields_only(guarded: tuple[str, PubSubPublisher]) -> None:
    """What follows the last declared field (``tags``) is skipped unparsed, even broken JSON.

    The consumer's :func:`from_message` still refuses it: the schema is a first
    line of defence, not the envelope's full check.
    """
    project, publisher = guarded
    cut = json.dumps(VALID).encode()[:-3]  # the payload's closing braces are missing

    assert publisher.publish(Topic.EXTERNAL, [Message(cut, {})])
    with pytest.raises(EnvelopeError, match="not JSON"):
        from_message(Message(cut, {}))


def test_without_the_schema_the_same_topic_takes_anything(admin: Admin) -> None:
    project = new_project()
    admin.pub.create_topic(request={"name": topic_path(project, Topic.EXTERNAL)})
    publisher = PubSubPublisher(project)
    try:
        assert publisher.publish(Topic.EXTERNAL, [Message(b"not JSON", {})])
    finally:
        publisher.close()


# -- attaching -----------------------------------------------------------------------------


def test_attaching_sets_the_schema_on_an_existing_topic_and_is_idempotent(admin: Admin) -> None:
    project = new_project()
    topic = topic_path(project, Topic.EXTERNAL)
    admin.pub.create_topic(request={"name": topic})

    attach_envelope_schema(
        project, Topic.EXTERNAL.value, schema_client=admin.schemas, publisher_client=admin.pub
    )
    attach_envelope_schema(
        project, Topic.EXTERNAL.value, schema_client=admin.schemas, publisher_client=admin.pub
    )

    settings = admin.pub.get_topic(request={"topic": topic}).schema_settings
    assert settings.schema == schema_path(project)
    assert settings.encoding == Encoding.JSON
    schema = admin.schemas.get_schema(request={"name": schema_path(project)})
    assert schema.type_ == Schema.Type.AVRO
    assert json.loads(schema.definition) == envelope_avro_schema()
    publisher = PubSubPublisher(project)
    try:
        with pytest.raises(PublishError, match="Could not parse message"):
            publisher.publish(Topic.EXTERNAL, [Message(b"not JSON", {})])
        assert publisher.publish(Topic.EXTERNAL, [to_message(published_contracts()[0])])
    finally:
        publisher.close()


def test_one_schema_serves_every_topic_of_the_project(admin: Admin) -> None:
    project = new_project()

    attach_envelope_schema(project, "external")
    attach_envelope_schema(project, "external-mirror")

    for name in ("external", "external-mirror"):
        topic = admin.pub.get_topic(request={"topic": f"projects/{project}/topics/{name}"})
        assert topic.schema_settings.schema == schema_path(project)
    schemas = admin.schemas.list_schemas(request={"parent": f"projects/{project}"})
    assert [s.name for s in schemas] == [schema_path(project)]


def test_a_schema_of_the_same_id_with_another_definition_is_refused(admin: Admin) -> None:
    project = new_project()
    other = {"type": "record", "name": "Other", "fields": [{"name": "id", "type": "string"}]}
    admin.schemas.create_schema(
        request={
            "parent": f"projects/{project}",
            "schema_id": ENVELOPE_SCHEMA_ID,
            "schema": {"type_": Schema.Type.AVRO, "definition": json.dumps(other)},
        }
    )

    with pytest.raises(TopicSchemaError, match=f"{schema_path(project)} exists"):
        attach_envelope_schema(project, Topic.EXTERNAL.value)

    with pytest.raises(api_exceptions.NotFound):  # nothing was half-made
        admin.pub.get_topic(request={"topic": topic_path(project, Topic.EXTERNAL)})
