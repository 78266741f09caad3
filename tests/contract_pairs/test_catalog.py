"""The generated contract files: fresh, valid AsyncAPI, and guarded by the compatibility gate."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from order.contracts import OrderStatusChanged
from shared.catalog.gate import check, export, generate
from shared.catalog.schemas import example, schema_of
from shared.catalog.yamltext import to_yaml
from shared.cli import main
from shared.contracts import Contract
from shared.hub.topic_schemas import ENVELOPE_SCHEMA_ID
from tests.contract_pairs.conftest import APPS, CONTRACTS, EVENTS, ROOT

ASYNCAPI_SCHEMA = "3.0.0-without-$id.json"


def asyncapi_schema() -> dict[str, Any]:
    """The official AsyncAPI 3.0.0 JSON Schema, fetched by ``make test`` (npm @asyncapi/specs)."""
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
    assert message["headers"]["properties"]["schemaVersion"] == {
        "const": "2",
        "description": "The contract's major version; ingress rules select on it.",
    }


def test_the_diagram_shows_every_subsystem_its_hubs_and_gateways() -> None:
    diagram = (CONTRACTS / "topology.mmd").read_text(encoding="utf-8")
    for app in APPS:
        assert f'subgraph {app.name}["{app.name}"]' in diagram
        assert f'{app.name}_external[("{app.name} external")]' in diagram
        assert f'{app.name}_bus[("{app.name} bus")]' in diagram
    assert '-->|"order.order-status-changed v1"| restaurant_order_esg' in diagram
    assert diagram in (CONTRACTS / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("event", EVENTS, ids=[e.key for e in EVENTS])
def test_each_catalog_example_fits_its_schema_and_its_contract(event: Any) -> None:
    schema = schema_of(event)
    body = example(schema)
    assert Draft202012Validator(schema).is_valid(body)
    assert event.contract.model_validate(body).model_dump(mode="json", by_alias=True) == body


def test_generation_is_deterministic() -> None:
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
    for channel in document["channels"].values():
        settings = channel["bindings"]["googlepubsub"]["schemaSettings"]
        assert settings == {
            "encoding": "json",
            "name": f"projects/{{project}}/schemas/{ENVELOPE_SCHEMA_ID}",
        }
    messages = document["components"]["messages"]
    assert len({m["name"] for m in messages.values()}) == len(messages)
    for message in messages.values():
        assert message["correlationId"]["location"] == "$message.payload#/metadata/correlationId"
