"""The catalog read as a team in another company reads it: enough to subscribe and consume.

Nothing here checks the code's behaviour; it checks that the generated documents say what
a consumer cannot build without: where the events are and how to select them, what
delivery guarantees, what a field left out means, every bound a reader may rely on.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import yaml
from pydantic import Field

from order.contracts import OrderStatusChanged
from shared.catalog.envelope import envelope_schema
from shared.catalog.gate import generate
from shared.contracts import Id
from tests.contract_pairs.conftest import APPS, EVENTS

README: str = generate(APPS)["README.md"]
ASYNCAPI: dict[str, Any] = yaml.safe_load(generate(APPS)["asyncapi.yaml"])


def row(section: str, field: str) -> str:
    """The table row of ``field`` in the README section headed ``section``."""
    text = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return next(line for line in text.splitlines() if line.startswith(f"| `{field}` |"))


def test_the_readme_says_where_the_events_are_and_how_to_select_them() -> None:
    assert "`projects/<project>/topics/external`" in README
    assert "`roles/pubsub.subscriber`" in README
    assert "`attributes.type` and\n`attributes.schemaVersion`" in README
    assert "receives every fact once per version" in README
    assert "create a\nsecond subscription beside the first" in README


def test_the_readme_says_what_delivery_guarantees() -> None:
    assert "**Delivery.** At least once" in README
    assert "drops an id it has processed already" in README
    assert "only on a subscription with message ordering\nenabled" in README


def test_a_validating_consumer_is_told_that_enum_values_may_be_added() -> None:
    assert "must not\nrefuse an event only because such a value is not in its copy's `enum`" in (
        README
    )


def test_an_optional_field_shows_what_its_absence_means() -> None:
    assert "default `null`" in row("`restaurant.restaurant-updated` v1", "revision")
    assert "default `true`" in row("`customer.order-placed` v1", "notifyCustomer")


class WithTags(OrderStatusChanged):
    """v1 with a bounded list: a reader may rely on its bound, so the catalog shows it."""

    labels: list[Id] = Field(default_factory=list, max_length=5)
    """Labels."""


def test_every_bound_of_a_list_reaches_the_catalog() -> None:
    v2 = [e.contract for e in EVENTS if e.type == WithTags.TYPE and e.version == 2]
    apps = [replace(a, contracts=(WithTags, *v2)) if a.name == "order" else a for a in APPS]
    readme = generate(apps)["README.md"]

    labels = readme.split("| `labels` |", 1)[1].split("\n", 1)[0]
    assert "items <= 5" in labels
    assert "default `[]`" in labels


def test_each_kitchen_answer_says_how_to_order_one_orders_answers() -> None:
    answers = [e for e in EVENTS if e.type.startswith("restaurant.order-")]

    assert len(answers) == 3
    for event in answers:
        schema = json.loads(generate(APPS)[f"schemas/{event.key}.json"])
        assert "out of order" in schema["description"]
        assert "envelope's `timestamp`" in schema["description"]


def test_each_server_names_the_topic_a_consumer_subscribes_to() -> None:
    for producer, server in ASYNCAPI["servers"].items():
        assert "`projects/<project>/topics/external`" in server["description"], producer
        assert "Terraform output `projects`" in server["description"], producer


def test_the_partition_key_promises_order_only_to_an_ordered_subscription() -> None:
    described = envelope_schema()["properties"]["partitionKey"]["description"]

    assert "to a subscription with message ordering enabled" in described
