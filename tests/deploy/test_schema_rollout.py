"""A new envelope schema replaces the old one without a moment in which `external` refuses
every publish.

A changed envelope schema comes under a new id (:data:`shared.hub.topic_schemas.ENVELOPE_SCHEMA_ID`,
``-v2``), so Terraform replaces ``google_pubsub_schema.envelope`` and updates the
``external`` topic's ``schema_settings`` in place. Replaced in Terraform's default order, the
old schema is deleted first, and while the topic still names it Pub/Sub fails every publish
("Schema associated with topic deleted", measured on the emulator): the egress gateways'
events are retried and, after their channel's attempts, dead-lettered.
"""

from __future__ import annotations

import json


def test_the_new_schema_exists_and_is_attached_before_the_old_one_goes(modules):
    subsystem = modules["modules/subsystem"]["resource"]
    schema = subsystem["google_pubsub_schema.envelope"]
    assert schema["name"] == "${var.envelope_schema.id}"  # a new id replaces the schema
    [lifecycle] = schema.get("lifecycle", [{}])
    assert lifecycle.get("create_before_destroy") is True
    topic = json.dumps(subsystem["google_pubsub_topic.this"])
    assert "google_pubsub_schema.envelope.id" in topic  # so the topic is updated in between
