"""Privacy at the boundary: what leaves the customer subsystem is the contract, nothing more.

The demo story runs embedded (every subsystem, every gateway, the third-party
fakes over in-process HTTP); every message on the customer's ``external``
topic must fit its committed schema exactly (no extra field anywhere) and
carry no private key, and the customer's delivery address must leave only in
``customer.order-placed``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scenario.stack import EmbeddedStack
from scenario.story import Story
from shared.contracts import SCHEMA_VERSION_TAG
from shared.hub.message import Message, from_message
from shared.topology import Topic
from tests.contract_pairs.conftest import EVENTS, committed_schema

PRIVATE_KEYS = {"paymentmethod", "email", "phone", "customerid", "token"}
ORDER_PLACED = "customer.order-placed"


def keys(value: Any) -> Iterator[str]:
    """Every object key in a JSON value, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys(item)


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Message]]:
    """Every message each subsystem published on its ``external`` topic during the story."""
    stack = EmbeddedStack(dev_key=tmp_path_factory.mktemp("privacy") / "key.pem")
    seen: dict[str, list[Message]] = {}

    def observe(project: str, topic: str, message: Message) -> None:
        if topic == Topic.EXTERNAL:
            seen.setdefault(project, []).append(message)

    stack.system.hub.observers.append(observe)
    try:
        outcome = Story(stack, 4, seed=3).run()
    finally:
        stack.close()
    assert len(outcome.orders) == 4
    return seen


def test_every_customer_message_fits_its_committed_schema_exactly(
    external: dict[str, list[Message]],
) -> None:
    schemas = {(e.type, str(e.version)): committed_schema(e) for e in EVENTS}
    messages = external["customer"]
    assert {m.attributes["type"] for m in messages} == {ORDER_PLACED}
    for message in messages:
        event = from_message(message)
        schema = schemas[(event.type, message.attributes[SCHEMA_VERSION_TAG])]
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(event.body)]
        assert errors == [], errors


def test_no_private_key_or_value_leaves_the_customer_subsystem(
    external: dict[str, list[Message]],
) -> None:
    for message in external["customer"]:
        document = json.loads(message.data)
        leaked = {k for k in keys(document) if k.lower() in PRIVATE_KEYS}
        leaked |= {k for k in message.attributes if k.lower() in PRIVATE_KEYS}
        assert leaked == set()
        for secret in (b"@", b"pm_card", b"+49"):
            assert secret not in message.data


def test_the_delivery_address_leaves_the_customer_only_in_order_placed(
    external: dict[str, list[Message]],
) -> None:
    streets: set[str] = set()
    for message in external["customer"]:
        event = from_message(message)
        if "deliveryAddress" in set(keys(event.body)):
            assert event.type == ORDER_PLACED
            streets.add(event.body["deliveryAddress"]["street"])
    assert streets
    for producer in ("restaurant", "delivery"):
        data = b"".join(m.data for m in external[producer]).decode()
        assert not {s for s in streets if s in data}, producer


def test_every_external_message_of_the_story_fits_its_committed_schema(
    external: dict[str, list[Message]],
) -> None:
    schemas = {(e.type, str(e.version)): committed_schema(e) for e in EVENTS}
    seen: set[tuple[str, str]] = set()
    for messages in external.values():
        for message in messages:
            event = from_message(message)
            version = message.attributes[SCHEMA_VERSION_TAG]
            seen.add((event.type, version))
            errors = list(
                Draft202012Validator(schemas[(event.type, version)]).iter_errors(event.body)
            )
            assert errors == [], (event.type, version, errors[0].message)
    assert ("order.order-status-changed", "1") in seen
    assert ("order.order-status-changed", "2") in seen


def test_the_committed_schemas_refuse_extra_fields(tmp_path: Path) -> None:
    [placed] = [e for e in EVENTS if e.type == ORDER_PLACED]
    validator = Draft202012Validator(committed_schema(placed))
    from shared.catalog.schemas import example

    body = example(committed_schema(placed))
    assert validator.is_valid(body)
    assert not validator.is_valid({**body, "email": "alice@example.com"})
    assert not validator.is_valid(
        {**body, "deliveryAddress": {**body["deliveryAddress"], "phone": "1"}}
    )
