"""The generated contract files: fresh, valid AsyncAPI, and guarded by the compatibility gate."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from order.contracts import OrderStatusChanged
from shared.catalog.gate import check, export, generate
from shared.catalog.inventory import Published
from shared.catalog.schemas import example, schema_of
from shared.catalog.yamltext import to_yaml
from shared.cli import main
from shared.contracts import SCHEMA_VERSION_TAG, Contract
from shared.envelope import Envelope
from shared.hub.message import Message, from_message
from shared.hub.topic_schemas import ENVELOPE_SCHEMA_ID
from shared.topology.model import Role
from tests.contract_pairs.conftest import APPS, CONTRACTS, EVENTS, ROOT, committed_schema

ASYNCAPI_SCHEMA = "3.1.0-without-$id.json"
SUBSYSTEMS = ("customer", "delivery", "order", "restaurant")
SUPERSEDED = "order.order-status-changed.v1"
NAMED_EVENTS = frozenset(
    {
        "customer.order-placed.v1",
        "delivery.delivery-status-changed.v1",
        SUPERSEDED,
        "order.order-status-changed.v2",
        "restaurant.menu-updated.v1",
        "restaurant.restaurant-updated.v1",
    }
)
"""Events these tests name: the inventory holds them, so a loop over it cannot run empty."""
NAMED_INGRESSES = frozenset(
    {
        "customer.order-esg.ingress",
        "delivery.order-esg.ingress",
        "order.intake-esg.from-customer",
        "restaurant.order-esg.ingress",
    }
)


def events() -> list[Published]:
    """Every published event, the ones these tests name among them."""
    assert {e.key for e in EVENTS} >= NAMED_EVENTS
    return EVENTS


def asyncapi_schema() -> dict[str, Any]:
    """The official AsyncAPI 3.1.0 JSON Schema, fetched by ``make test`` (npm @asyncapi/specs)."""
    found = sorted((ROOT / ".venv" / "asyncapi-specs").glob(f"*/schemas/{ASYNCAPI_SCHEMA}"))
    if not found:
        message = "the AsyncAPI specs are missing: run `make test` (it fetches them)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    schema: dict[str, Any] = json.loads(found[-1].read_text(encoding="utf-8"))
    return schema


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    """A copy of the committed contracts directory to change."""
    return Path(shutil.copytree(CONTRACTS, tmp_path / "contracts"))


def with_order_contracts(*contracts: type[Contract]) -> list[Any]:
    return [replace(a, contracts=contracts) if a.name == "order" else a for a in APPS]


class TotalAsText(OrderStatusChanged):
    """v1 with ``total`` turned into text: a breaking change."""

    total: str  # type: ignore[assignment]


class WithNote(OrderStatusChanged):
    """v1 with a new optional field: a compatible change."""

    note: str | None = None


def test_the_committed_files_are_up_to_date() -> None:
    report = check(APPS, CONTRACTS)
    assert report.lines() == []


def test_a_breaking_change_names_the_field_the_rule_and_the_way_out(committed: Path) -> None:
    apps = with_order_contracts(TotalAsText, *[e.contract for e in EVENTS if e.version == 2])

    report = check(apps, committed)

    assert report.breaking == [
        "order.order-status-changed v1: $.total: type-changed: integer -> string "
        "(bump the major version: publish v2 beside v1)"
    ]


def test_a_compatible_change_only_asks_for_an_export(committed: Path) -> None:
    apps = with_order_contracts(WithNote, *[e.contract for e in EVENTS if e.version == 2])

    report = check(apps, committed)
    assert (report.breaking, report.retired) == ([], [])
    assert report.lines() == [
        "contracts/schemas/order.order-status-changed.v1.json is stale: "
        "run `fooddelivery contracts export`",
        "contracts/asyncapi.yaml is stale: run `fooddelivery contracts export`",
        "contracts/README.md is stale: run `fooddelivery contracts export`",
    ]

    export(apps, committed)
    assert check(apps, committed).ok


def test_a_version_nobody_publishes_any_more_is_an_error_until_its_file_is_deleted(
    committed: Path,
) -> None:
    apps = with_order_contracts(*[e.contract for e in EVENTS if e.version == 2])

    report = check(apps, committed)

    assert report.retired == [
        "order.order-status-changed v1: committed but no longer published; consumers may "
        "still read it: publish it again, or delete schemas/order.order-status-changed.v1.json "
        "once no consumer reads it"
    ]


def test_the_command_fails_on_a_stale_file_and_passes_after_export(
    committed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (committed / "topology.mmd").write_text("flowchart LR\n", encoding="utf-8")

    assert main(["contracts", "check", "--dir", str(committed)]) == 1
    assert "contracts/topology.mmd is stale" in capsys.readouterr().err

    assert main(["contracts", "export", "--dir", str(committed)]) == 0
    assert main(["contracts", "check", "--dir", str(committed)]) == 0
    assert capsys.readouterr().out.endswith("catalog up to date\n")


def test_export_refuses_to_write_a_breaking_change(
    committed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apps = with_order_contracts(TotalAsText, *[e.contract for e in EVENTS if e.version == 2])
    monkeypatch.setattr("shared.catalog.command.load_subsystems", lambda: apps)
    before = (committed / "schemas" / "order.order-status-changed.v1.json").read_text()

    assert main(["contracts", "export", "--dir", str(committed)]) == 1
    assert main(["contracts", "check", "--dir", str(committed)]) == 1

    err = capsys.readouterr().err
    assert "$.total: type-changed: integer -> string" in err
    assert (committed / "schemas" / "order.order-status-changed.v1.json").read_text() == before


def test_the_asyncapi_document_is_valid_against_the_official_schema() -> None:
    spec = asyncapi_schema()
    validator = validator_for(spec)(spec)
    document = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8"))

    assert [e.message for e in validator.iter_errors(document)] == []
    broken = {**document, "operations": {"x": {"action": "publish"}}}
    assert not validator.is_valid(broken)


def test_the_asyncapi_document_has_a_channel_per_producer_and_an_operation_per_function() -> None:
    document = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert sorted(document["channels"]) == [
        "customer-external",
        "delivery-external",
        "order-external",
        "restaurant-external",
    ]
    operations = document["operations"]
    assert operations["order.status-esg.egress"]["action"] == "send"
    assert operations["restaurant.order-esg.ingress"]["messages"] == [
        {"$ref": "#/channels/order-external/messages/order.order-status-changed.v1"}
    ]
    message = document["components"]["messages"]["order.order-status-changed.v2"]
    assert message["headers"]["allOf"] == [
        {"$ref": "#/components/schemas/attributes"},
        {
            "type": "object",
            "properties": {
                "type": {"const": "order.order-status-changed"},
                "schemaVersion": {"const": "2"},
                "partitionKey": {"description": "The value of the payload's `id`."},
                "status": {
                    "type": "string",
                    "description": "The payload's `status`, to filter on.",
                },
            },
            "required": ["status"],
        },
    ]


def test_the_diagram_shows_every_subsystem_its_hubs_and_gateways() -> None:
    diagram = (CONTRACTS / "topology.mmd").read_text(encoding="utf-8")
    assert sorted(app.name for app in APPS) == list(SUBSYSTEMS)
    for name in SUBSYSTEMS:
        assert f'subgraph {name}["{name}"]' in diagram
        assert f'{name}_external[("{name} external")]' in diagram
        assert f'{name}_bus[("{name} bus")]' in diagram
    assert '-->|"order.order-status-changed v1"| restaurant_order_esg' in diagram
    assert diagram in (CONTRACTS / "README.md").read_text(encoding="utf-8")


def test_the_tests_parametrized_by_event_run_on_the_events_they_are_meant_for() -> None:
    # an empty parameter set is a skip, which would pass unseen
    assert {e.key for e in EVENTS} >= NAMED_EVENTS


@pytest.mark.parametrize("event", EVENTS, ids=[e.key for e in EVENTS])
def test_each_catalog_example_fits_its_schema_and_its_contract(event: Any) -> None:
    schema = schema_of(event)
    body = example(schema)
    assert Draft202012Validator(schema).is_valid(body)
    assert event.contract.model_validate(body).model_dump(mode="json", by_alias=True) == body


def test_generation_is_deterministic() -> None:
    assert sorted(app.name for app in APPS) == list(SUBSYSTEMS)
    assert generate(APPS) == generate(list(reversed(APPS)))


@pytest.mark.parametrize(
    "value",
    [
        {"a": "1", "b": [1, 2.5, True, None], "c": {}, "d": []},
        {"$ref": "#/x", "key with space": "yes", "no": "no", "multi": "a\nb: c"},
        [{"x": [{"y": "z"}]}, "- not a list"],
    ],
)
def test_the_yaml_writer_round_trips(value: Any) -> None:
    assert yaml.safe_load(to_yaml(value)) == value


def test_the_asyncapi_document_names_the_topic_schema_and_the_correlation() -> None:
    document = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert sorted(document["channels"]) == [f"{name}-external" for name in SUBSYSTEMS]
    for channel in document["channels"].values():
        settings = channel["bindings"]["googlepubsub"]["schemaSettings"]
        assert settings == {
            "encoding": "json",
            "name": f"projects/{{project}}/schemas/{ENVELOPE_SCHEMA_ID}",
        }
    messages = document["components"]["messages"]
    assert sorted(messages) == sorted(e.key for e in events())
    assert len({m["name"] for m in messages.values()}) == len(messages)
    for message in messages.values():
        assert message["correlationId"]["location"] == "$message.payload#/metadata/correlationId"


# -- the AsyncAPI document says what it refers to, and its examples are what is published --


def asyncapi_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(
        (CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8")
    )
    return document


def refs(value: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """``(where, $ref)`` for every reference in a JSON value, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield where, item
            else:
                yield from refs(item, f"{where}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from refs(item, f"{where}/{i}")


def pointed(document: Any, pointer: str) -> Any:
    """What a JSON pointer (``/a/b``) names in ``document``; LookupError if nothing."""
    for token in filter(None, pointer.split("/")):
        token = token.replace("~1", "/").replace("~0", "~")
        document = document[int(token) if isinstance(document, list) else token]
    return document


def test_every_ref_in_the_asyncapi_document_and_its_schemas_resolves() -> None:
    pending: list[tuple[Path, Any]] = [(CONTRACTS / "asyncapi.yaml", asyncapi_document())]
    reached: set[Path] = set()
    problems: list[str] = []
    while pending:
        path, document = pending.pop()
        for where, ref in refs(document):
            target, _, pointer = ref.partition("#")
            try:
                if target:
                    file = (path.parent / target).resolve()
                    referenced = json.loads(file.read_text(encoding="utf-8"))
                    if file not in reached:
                        reached.add(file)
                        pending.append((file, referenced))
                else:
                    referenced = document
                pointed(referenced, pointer)
            except (OSError, ValueError, LookupError, TypeError) as e:
                problems.append(f"{path.name} {where}: {ref} ({type(e).__name__})")
    assert problems == []
    schemas = {(CONTRACTS / "schemas" / f"{e.key}.json").resolve() for e in events()}
    assert reached == schemas


def registry(document: dict[str, Any]) -> tuple[str, Registry[Any]]:
    """The document's URI and a registry holding it and every committed schema file."""
    uri = (CONTRACTS / "asyncapi.yaml").as_uri()
    resources = [(uri, Resource.from_contents(document, default_specification=DRAFT202012))]
    for path in sorted((CONTRACTS / "schemas").glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(contents)
        resources += [(path.as_uri(), resource), (contents["$id"], resource)]
    return uri, Registry().with_resources(resources)


def message_validators(event_key: str) -> tuple[Draft202012Validator, Draft202012Validator]:
    """Validators of the message's headers and of its payload, every $ref followed."""
    uri, schemas = registry(asyncapi_document())
    where = f"{uri}#/components/messages/{event_key}"
    headers = Draft202012Validator({"$ref": f"{where}/headers"}, registry=schemas)
    payload = Draft202012Validator({"$ref": f"{where}/payload/schema"}, registry=schemas)
    return headers, payload


@pytest.mark.parametrize("event", EVENTS, ids=[e.key for e in EVENTS])
def test_each_message_example_fits_its_headers_and_payload_schemas(event: Any) -> None:
    [sample] = asyncapi_document()["components"]["messages"][event.key]["examples"]
    headers, payload = message_validators(event.key)

    assert [e.message for e in headers.iter_errors(sample["headers"])] == []
    assert [e.message for e in payload.iter_errors(sample["payload"])] == []
    assert sample["payload"][event.entity] == example(committed_schema(event))
    assert sample["headers"]["partitionKey"] == sample["payload"]["partitionKey"]
    # The validators follow the references: what the payload schema refers to is applied.
    body = sample["payload"][event.entity]
    assert not payload.is_valid({**sample["payload"], "timestamp": "1767225600000"})
    assert not payload.is_valid(
        {**sample["payload"], event.entity: {**body, event.partition_key: 1}}
    )
    assert not headers.is_valid({**sample["headers"], SCHEMA_VERSION_TAG: "0"})


def test_every_message_of_the_story_fits_its_asyncapi_message(
    external: dict[str, list[Message]],
) -> None:
    events = {(e.type, str(e.version)): e for e in EVENTS}
    seen: set[str] = set()
    for messages in external.values():
        for message in messages:
            envelope = from_message(message)
            event = events[(envelope.type, message.attributes[SCHEMA_VERSION_TAG])]
            headers, payload = message_validators(event.key)
            assert [e.message for e in headers.iter_errors(dict(message.attributes))] == []
            assert [e.message for e in payload.iter_errors(json.loads(message.data))] == []
            assert envelope.partition_key == envelope.body[event.partition_key]
            assert message.ordering_key == envelope.partition_key
            seen.add(event.key)
    assert {"delivery.delivery-status-changed.v1", "restaurant.menu-updated.v1"} <= seen


# -- the published schemas say what the fields mean, and what consumers must tolerate --


def properties(schema: dict[str, Any], where: str = "$") -> Iterator[tuple[str, Any]]:
    """``(path, schema)`` of every property declared in ``schema``, at any depth."""
    for name, sub in schema.get("$defs", {}).items():
        yield from properties(sub, f"$defs.{name}")
    for name, sub in schema.get("properties", {}).items():
        yield f"{where}.{name}", sub
        yield from properties(sub, f"{where}.{name}")


@pytest.mark.parametrize("event", EVENTS, ids=[e.key for e in EVENTS])
def test_every_published_field_has_a_description(event: Any) -> None:
    declared = list(properties(committed_schema(event)))
    undescribed = [path for path, sub in declared if len(sub.get("description", "").split()) < 2]
    assert event.partition_key in {path.rpartition(".")[2] for path, _ in declared}
    assert undescribed == []


@pytest.mark.parametrize(
    ("event_key", "field", "words"),
    [
        ("delivery.delivery-status-changed.v1", "changedAt", "epoch milliseconds"),
        ("order.order-status-changed.v1", "total", "minor unit (cents)"),
        ("order.order-status-changed.v1", "currency", "ISO 4217"),
        ("order.order-status-changed.v2", "readyBy", "epoch milliseconds"),
        ("restaurant.restaurant-updated.v1", "deliveryRadiusM", "in metres"),
        ("customer.order-placed.v1", "id", "never empty"),
    ],
)
def test_units_and_meanings_reach_the_published_schema(
    event_key: str, field: str, words: str
) -> None:
    [event] = [e for e in EVENTS if e.key == event_key]
    description = committed_schema(event)["properties"][field]["description"]
    assert words.lower() in description.lower()


def test_no_generated_file_shows_restructuredtext() -> None:
    role, literal = re.compile(r":[a-z]+:`"), re.compile(r"``[^`\n]+``")
    generated = generate(APPS)
    named = {f"schemas/{key}.json" for key in NAMED_EVENTS}
    assert {"README.md", "asyncapi.yaml", "topology.mmd", *named} <= generated.keys()
    for name, text in generated.items():
        assert not role.search(text), name
        assert not literal.search(text), name


def closes(value: Any) -> bool:
    """Whether any object in a JSON Schema refuses properties it does not declare."""
    if isinstance(value, dict):
        return value.get("additionalProperties") is False or any(map(closes, value.values()))
    return isinstance(value, list) and any(map(closes, value))


def test_a_schema_published_before_a_field_was_added_accepts_the_new_events() -> None:
    [v1] = [e for e in EVENTS if e.key == "order.order-status-changed.v1"]
    published_before = committed_schema(v1)
    new_event = WithNote.model_validate({**example(published_before), "note": "ring twice"})
    body = new_event.model_dump(mode="json", by_alias=True)

    assert Draft202012Validator(published_before).is_valid(body)
    assert not any(closes(committed_schema(e)) for e in events())


def test_a_superseded_version_is_deprecated_in_its_schema_and_its_message() -> None:
    messages = asyncapi_document()["components"]["messages"]
    for event in events():
        superseded = event.key == SUPERSEDED
        assert committed_schema(event).get("deprecated", False) is superseded, event.key
        assert messages[event.key].get("deprecated", False) is superseded, event.key


def test_each_ingress_operation_shows_the_subscription_filter_that_selects_its_versions() -> None:
    operations = asyncapi_document()["operations"]
    checked: set[str] = set()
    for app in APPS:
        for service, fn in app.topology.consumers():
            if fn.role is not Role.INGRESS:
                continue
            checked.add(f"{app.name}.{service.name}.{fn.name}")
            operation = operations[f"{app.name}.{service.name}.{fn.name}"]
            assert operation["action"] == "receive"
            assert operation["x-subscription-filter"] == fn.channel.rule.to_filter()
            assert f"`{fn.channel.rule.to_filter()}`" in operation["description"]
    assert checked >= NAMED_INGRESSES
    v1_filter = operations["restaurant.order-esg.ingress"]["x-subscription-filter"]
    assert 'attributes.schemaVersion = "1"' in v1_filter


# -- the envelope is generated from the code, so the gate sees it change --


def partition_key_renamed(original: Any) -> Any:
    def to_json(self: Envelope) -> dict[str, Any]:
        doc: dict[str, Any] = original(self)
        doc["orderingKey"] = doc.pop("partitionKey")
        return doc

    return to_json


@pytest.mark.parametrize("change", ["partitionKey renamed on the wire", "version tag renamed"])
def test_a_change_to_the_envelope_or_the_version_tag_makes_the_catalog_stale(
    change: str, committed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if change == "version tag renamed":
        monkeypatch.setattr("shared.contracts.SCHEMA_VERSION_TAG", "contractVersion")
    else:
        monkeypatch.setattr(Envelope, "to_json", partition_key_renamed(Envelope.to_json))

    report = check(APPS, committed)

    assert report.stale == ["contracts/asyncapi.yaml", "contracts/README.md"]
