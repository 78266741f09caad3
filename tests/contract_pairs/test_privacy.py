"""Privacy at the boundary: what leaves the customer subsystem is the contract, nothing more.

The published schemas are open (a consumer must accept fields added within a
major version), so they cannot be the guard against a leak. The guard is the
producer: every contract refuses fields it does not declare, at any depth,
and no contract declares a private field. The demo story runs embedded (see
the ``external`` fixture); every message on the customer's ``external``
topic must be exactly its contract (what its committed schema documents,
nothing more) and carry no private key, and the customer's delivery address
must leave only in ``customer.order-placed``.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from shared.catalog.inventory import Published
from shared.catalog.schemas import example
from shared.contracts import SCHEMA_VERSION_TAG
from shared.hub.message import Message, from_message
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


def closed(schema: Any) -> Any:
    """``schema`` with every object closed: only the properties it documents are allowed."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: closed(value) for key, value in schema.items()}
    if "properties" in schema:
        out["additionalProperties"] = False
    return out


def models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``model`` and every model its fields hold, at any depth."""
    yield model
    for field in model.model_fields.values():
        for inner in _types(field.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from models(inner)


def _types(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _types(arg)


def test_every_customer_message_is_exactly_its_contract(
    external: dict[str, list[Message]],
) -> None:
    events = {(e.type, str(e.version)): e for e in EVENTS}
    messages = external["customer"]
    assert {m.attributes["type"] for m in messages} == {ORDER_PLACED}
    for message in messages:
        envelope = from_message(message)
        event = events[(envelope.type, message.attributes[SCHEMA_VERSION_TAG])]
        documented = Draft202012Validator(closed(committed_schema(event)))
        errors = [e.message for e in documented.iter_errors(envelope.body)]
        assert errors == [], errors
        contract = event.contract.model_validate(envelope.body)  # refuses any extra field
        assert contract.model_dump(mode="json", by_alias=True) == envelope.body


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


@pytest.mark.parametrize("event", EVENTS, ids=[e.key for e in EVENTS])
def test_no_contract_declares_a_private_field_or_lets_an_extra_one_through(
    event: Published,
) -> None:
    for model in models(event.contract):
        assert model.model_config.get("extra") == "forbid", model.__name__
        wire = {f.alias or name for name, f in model.model_fields.items()}
        assert not {name for name in wire if name.lower() in PRIVATE_KEYS}, model.__name__


def test_the_customer_contract_refuses_a_private_field_at_any_depth() -> None:
    [placed] = [e for e in EVENTS if e.type == ORDER_PLACED]
    body = example(committed_schema(placed))
    placed.contract.model_validate(body)

    with pytest.raises(ValidationError, match="email"):
        placed.contract.model_validate({**body, "email": "alice@example.com"})
    with pytest.raises(ValidationError, match="phone"):
        placed.contract.model_validate(
            {**body, "deliveryAddress": {**body["deliveryAddress"], "phone": "1"}}
        )
