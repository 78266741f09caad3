"""``fooddelivery contracts``: what it says about directories and files it cannot use."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field, field_validator

from order.contracts import OrderStatusChanged
from shared.catalog.inventory import inventory
from shared.cli import main
from shared.system import load_subsystems
from tests.unit.unreadable import refuse_reads

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
SCHEMA = "schemas/order.order-status-changed.v1.json"


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    """A copy of the committed contracts directory to change."""
    return Path(shutil.copytree(CONTRACTS, tmp_path / "contracts"))


class TotalAsText(OrderStatusChanged):
    """v1 with ``total`` turned into text: a breaking change."""

    total: str  # type: ignore[assignment]


def with_breaking_change() -> list[Any]:
    apps = load_subsystems()
    v2 = [e.contract for e in inventory(apps) if e.type == "order.order-status-changed"][1:]
    return [replace(a, contracts=(TotalAsText, *v2)) if a.name == "order" else a for a in apps]


def test_check_finds_the_committed_contracts_from_any_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["contracts", "check"]) == 0
    assert capsys.readouterr().out.startswith("contracts OK")


@pytest.mark.parametrize("action", ["check", "export"])
def test_a_file_as_the_directory_is_a_usage_error(tmp_path, capsys, action):
    afile = tmp_path / "contracts.txt"
    afile.write_text("x")
    assert main(["contracts", action, "--dir", str(afile)]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"fooddelivery contracts {action}: {afile} is not a directory: --dir names the "
        + ("committed contracts directory\n" if action == "check" else "contracts directory\n")
    )


def test_check_of_a_missing_directory_says_so_instead_of_stale(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["contracts", "check", "--dir", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"{missing} does not exist" in err
    assert "stale" not in err


def test_export_into_an_unwritable_place_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "plain").write_text("x")
    target = tmp_path / "plain" / "contracts"
    assert main(["contracts", "export", "--dir", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fooddelivery contracts export: cannot write ") and err.count("\n") == 1


def test_a_malformed_committed_schema_is_reported_not_a_traceback(committed, capsys):
    (committed / SCHEMA).write_text('{"type": "object",\n', encoding="utf-8")

    assert main(["contracts", "check", "--dir", str(committed)]) == 1
    err = capsys.readouterr().err
    assert f"contracts/{SCHEMA} is not valid JSON" in err
    assert "restore it from version control" in err
    assert f"contracts/{SCHEMA} is stale" not in err

    assert main(["contracts", "export", "--dir", str(committed)]) == 1  # it may hide a break
    assert "nothing written" in capsys.readouterr().err
    assert (committed / SCHEMA).read_text(encoding="utf-8") == '{"type": "object",\n'


DANGLING_REF = '{"type": "object", "properties": {"total": {"$ref": "#/$defs/Gone"}}}'


@pytest.mark.parametrize("text", ["[1, 2]", DANGLING_REF], ids=["not-an-object", "dangling-ref"])
def test_a_committed_schema_the_gate_cannot_compare_is_reported(committed, capsys, text):
    (committed / SCHEMA).write_text(text, encoding="utf-8")
    assert main(["contracts", "check", "--dir", str(committed)]) == 1
    assert "is not a JSON Schema the gate can compare" in capsys.readouterr().err


DEEP = 100_000
"""Deeper than Python's JSON parser (and the gate's comparison) can recurse."""


@pytest.mark.parametrize("action", ["check", "export"])
def test_a_committed_schema_nested_too_deeply_is_reported_not_a_traceback(
    committed, capsys, action
):
    (committed / SCHEMA).write_text("[" * DEEP + "]" * DEEP, encoding="utf-8")

    assert main(["contracts", action, "--dir", str(committed)]) == 1

    err = capsys.readouterr().err
    assert f"contracts/{SCHEMA} is nested too deeply to read: restore it" in err
    assert "Traceback" not in err


def test_a_committed_asyncapi_document_nested_too_deeply_is_reported(committed, capsys):
    (committed / "asyncapi.yaml").write_text("- " * DEEP + "1\n", encoding="utf-8")

    assert main(["contracts", "check", "--dir", str(committed)]) == 1

    err = capsys.readouterr().err
    assert "contracts/asyncapi.yaml has no envelope and attributes the gate can compare" in err


def test_after_a_breaking_change_check_gives_only_the_breaking_advice(
    committed, monkeypatch, capsys
):
    monkeypatch.setattr("shared.catalog.command.load_subsystems", with_breaking_change)

    assert main(["contracts", "check", "--dir", str(committed)]) == 1

    err = capsys.readouterr().err
    assert "bump the major version: publish v2 beside v1" in err
    assert "stale" not in err
    assert "after a compatible change" not in err


def test_a_renamed_payload_field_is_a_breaking_change(committed, monkeypatch, capsys):
    class UnderAnotherName(OrderStatusChanged):
        """v1 travelling under another envelope field: the JSON on the wire changes."""

        ENTITY = "purchase"

    def renamed() -> list[Any]:
        apps = load_subsystems()
        v2 = [e.contract for e in inventory(apps) if e.type == "order.order-status-changed"][1:]
        return [
            replace(a, contracts=(UnderAnotherName, *v2)) if a.name == "order" else a for a in apps
        ]

    monkeypatch.setattr("shared.catalog.command.load_subsystems", renamed)

    assert main(["contracts", "check", "--dir", str(committed)]) == 1

    err = capsys.readouterr().err
    assert "entity-renamed: the payload travels under 'purchase', not 'order'" in err


def test_a_renamed_type_is_retired_and_not_called_a_compatible_change(
    committed, monkeypatch, capsys
):
    class Renamed(OrderStatusChanged):
        """v1 under a new type name."""

        TYPE = "order.order-changed"

    def renamed() -> list[Any]:
        apps = load_subsystems()
        v2 = [e.contract for e in inventory(apps) if e.type == "order.order-status-changed"][1:]
        return [replace(a, contracts=(Renamed, *v2)) if a.name == "order" else a for a in apps]

    monkeypatch.setattr("shared.catalog.command.load_subsystems", renamed)

    assert main(["contracts", "check", "--dir", str(committed)]) == 1

    err = capsys.readouterr().err
    assert "order.order-status-changed v1: committed but no longer published" in err
    assert "after a compatible change" not in err


@pytest.mark.parametrize("ci", ["true", "1"])
def test_ci_refuses_to_export_a_breaking_change_on_purpose(committed, monkeypatch, capsys, ci):
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr("shared.catalog.command.load_subsystems", with_breaking_change)
    before = (committed / SCHEMA).read_text(encoding="utf-8")

    assert main(["contracts", "export", "--allow-breaking", "--dir", str(committed)]) == 2

    assert "--allow-breaking is refused when CI=true" in capsys.readouterr().err
    assert (committed / SCHEMA).read_text(encoding="utf-8") == before


def test_outside_ci_a_breaking_change_can_be_exported_on_purpose(committed, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("shared.catalog.command.load_subsystems", with_breaking_change)
    before = (committed / SCHEMA).read_text(encoding="utf-8")

    assert main(["contracts", "export", "--allow-breaking", "--dir", str(committed)]) == 0
    assert (committed / SCHEMA).read_text(encoding="utf-8") != before


def test_check_help_says_what_against_branch_falls_back_to(capsys):
    """Only origin's branch in a repository with no remote falls back to the previous
    commit; any other branch that names nothing is refused."""
    with pytest.raises(SystemExit):
        main(["contracts", "check", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "on BRANCH itself or for origin's BRANCH in a repository with no remote, the "
        "previous commit; a BRANCH that names nothing, or a shallow clone, is refused"
    ) in help_text


def test_files_of_the_current_directory_are_named_from_it(tmp_path, monkeypatch, capsys):
    """``--dir .``: a path has no name to start with, so files are not shown as ``/README.md``."""
    monkeypatch.chdir(tmp_path)
    assert main(["contracts", "export", "--dir", "."]) == 0
    written = capsys.readouterr().out.splitlines()
    assert "wrote README.md" in written and "wrote schemas/" in "\n".join(written)
    (tmp_path / "README.md").write_text("edited\n", encoding="utf-8")

    assert main(["contracts", "check", "--dir", "."]) == 1

    assert capsys.readouterr().err.startswith("contracts: README.md is stale")


@pytest.mark.parametrize("listing_only", [False, True], ids=["folder", "listing"])
def test_a_schemas_folder_that_cannot_be_read_is_named_not_every_schema_stale(
    committed, monkeypatch, capsys, listing_only
):
    refuse_reads(monkeypatch, committed / "schemas", listing_only=listing_only)

    assert main(["contracts", "check", "--dir", str(committed)]) == 1

    err = capsys.readouterr().err
    assert err == (
        "contracts: contracts/schemas cannot be read (Permission denied): make it readable "
        "(the gate cannot check it)\n"
    )


@pytest.mark.parametrize("name", ["README.md", "asyncapi.yaml", "topology.mmd", SCHEMA])
def test_a_committed_file_that_cannot_be_read_is_named_not_stale(
    committed, monkeypatch, capsys, name
):
    refuse_reads(monkeypatch, committed / name)

    assert main(["contracts", "check", "--dir", str(committed)]) == 1

    err = capsys.readouterr().err
    assert err == (
        f"contracts: contracts/{name} cannot be read (Permission denied): make it readable "
        "(the gate cannot check it)\n"
    )


@pytest.mark.parametrize("action", ["export", "check"])
def test_a_contract_without_a_possible_example_is_one_line_naming_the_event(
    committed, monkeypatch, capsys, action
):
    class Coded(OrderStatusChanged):
        code: str = Field(pattern="^[A-Z]+$")

    apps = load_subsystems()
    v2 = [e.contract for e in inventory(apps) if e.type == "order.order-status-changed"][1:]
    apps = [replace(a, contracts=(Coded, *v2)) if a.name == "order" else a for a in apps]
    monkeypatch.setattr("shared.catalog.command.load_subsystems", lambda: apps)

    assert main(["contracts", action, "--dir", str(committed)]) == 2

    assert capsys.readouterr().err == (
        f"fooddelivery contracts {action}: "
        "order.order-status-changed v1: no example for the catalog: field "
        "'code' has a pattern: give it examples=[...]\n"
    )


def test_a_json_file_in_schemas_that_is_no_schema_file_is_refused(committed, capsys):
    """A version left behind under another name is neither written nor checked: refused."""
    shutil.copy(committed / SCHEMA, committed / "schemas" / "order.order-status-changed.json")

    assert main(["contracts", "check", "--dir", str(committed)]) == 1

    assert capsys.readouterr().err == (
        "contracts: contracts/schemas/order.order-status-changed.json is not a schema file "
        "the export writes (<type>.v<major>.json), so the gate cannot check it: delete it "
        "(a retired version's schema goes with its class)\n"
    )


def test_an_example_the_contract_refuses_is_one_line_naming_the_event_and_field(
    committed, monkeypatch, capsys
):
    """A rule the schema cannot state (a validator) refuses the example made from it."""

    class Referenced(OrderStatusChanged):
        @field_validator("customer_ref")
        @classmethod
        def _prefixed(cls, value: str) -> str:
            if not value.startswith("ref-"):
                raise ValueError("a customer reference starts with 'ref-'")
            return value

    apps = load_subsystems()
    v2 = [e.contract for e in inventory(apps) if e.type == "order.order-status-changed"][1:]
    apps = [replace(a, contracts=(Referenced, *v2)) if a.name == "order" else a for a in apps]
    monkeypatch.setattr("shared.catalog.command.load_subsystems", lambda: apps)

    assert main(["contracts", "export", "--dir", str(committed)]) == 2

    assert capsys.readouterr().err == (
        "fooddelivery contracts export: "
        "order.order-status-changed v1: the catalog's example does not fit the "
        "contract (customerRef: Value error, a customer reference starts with 'ref-'): give "
        "the field examples=[...]\n"
    )


def test_export_names_the_schema_of_a_version_no_longer_published(committed, monkeypatch, capsys):
    """The file is left for a person to delete, but not silently: `check` refuses it."""
    apps = load_subsystems()
    v2 = [e.contract for e in inventory(apps) if e.type == "order.order-status-changed"][1:]
    apps = [replace(a, contracts=tuple(v2)) if a.name == "order" else a for a in apps]
    monkeypatch.setattr("shared.catalog.command.load_subsystems", lambda: apps)

    assert main(["contracts", "export", "--dir", str(committed)]) == 0

    assert capsys.readouterr().err == (
        "contracts: order.order-status-changed v1: committed but no longer published; "
        "consumers may still read it: publish it again, or delete "
        "schemas/order.order-status-changed.v1.json once no consumer reads it\n"
    )
    assert (committed / SCHEMA).exists()
