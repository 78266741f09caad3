"""The gate holds the envelope and the Pub/Sub attributes to the rules the payloads follow.

Every consumer reads the envelope, and selects events with a subscription filter on the
attributes: a field or attribute renamed there breaks every consumer at once, which the
gate must refuse rather than ask for an export.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from shared.catalog.gate import check
from shared.catalog.history import Baseline
from shared.envelope import Envelope
from tests.contract_pairs.conftest import APPS, CONTRACTS


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    """A copy of the committed contracts directory to change."""
    return Path(shutil.copytree(CONTRACTS, tmp_path / "contracts"))


def ordering_key_on_the_wire(original: Any) -> Any:
    def to_json(self: Envelope) -> dict[str, Any]:
        doc: dict[str, Any] = original(self)
        doc["orderingKey"] = doc.pop("partitionKey")
        return doc

    return to_json


def test_an_attribute_renamed_is_breaking(committed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "shared.runtime.context.KIT_TAGS", ("source", "function", "subsystem", "environment")
    )

    report = check(APPS, committed)

    assert not report.ok
    assert any(
        line.startswith("the attributes: $.env: field-removed") for line in report.breaking
    ), report.breaking
    assert all("publish a new envelope version" in line for line in report.breaking)
    assert not any("is stale" in line for line in report.lines())


def test_an_envelope_field_renamed_is_breaking(
    committed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Envelope, "to_json", ordering_key_on_the_wire(Envelope.to_json))

    report = check(APPS, committed)

    assert any(
        line.startswith("the envelope: $.partitionKey: field-removed") for line in report.breaking
    ), report.breaking


def test_the_envelope_is_held_to_the_baseline_too(
    committed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = (committed / "asyncapi.yaml").read_bytes()
    schemas = {p.name: p.read_bytes() for p in (committed / "schemas").glob("*.json")}
    baseline = Baseline("origin/main", "0" * 12, "contracts/", schemas, document)
    monkeypatch.setattr(
        "shared.runtime.context.KIT_TAGS", ("source", "function", "subsystem", "environment")
    )
    (committed / "asyncapi.yaml").write_text("{}\n", encoding="utf-8")  # "exported" meanwhile

    report = check(APPS, committed, baseline)

    assert any(
        line.startswith("the attributes against origin/main: $.env: field-removed")
        for line in report.breaking
    ), report.breaking


def test_a_committed_document_without_the_envelope_is_unreadable(committed: Path) -> None:
    (committed / "asyncapi.yaml").write_text("asyncapi: [unclosed\n", encoding="utf-8")

    report = check(APPS, committed)

    assert report.unreadable == [
        "contracts/asyncapi.yaml has no envelope and attributes the gate can compare: "
        "restore it from version control"
    ]
    assert "contracts/asyncapi.yaml" not in report.stale


def test_the_unchanged_envelope_and_attributes_pass(committed: Path) -> None:
    report = check(APPS, committed)

    assert report.ok, report.lines()
