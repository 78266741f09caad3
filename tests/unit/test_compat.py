"""Schema compatibility rules, on schemas generated from real pydantic models."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from shared.compat import breaking_changes


class Address(BaseModel):
    street: str
    city: str


class V1(BaseModel):
    id: str
    total: int = Field(ge=0)
    status: Literal["placed", "delivered", "cancelled"]
    note: str | None = None
    address: Address
    tags: list[str] = []


def rules(new: type[BaseModel]) -> set[tuple[str, str]]:
    return {
        (b.path, b.rule) for b in breaking_changes(V1.model_json_schema(), new.model_json_schema())
    }


def test_identical_and_additive_changes_are_compatible():
    class Additive(V1):
        extra: str | None = None
        status: Literal["placed", "delivered", "cancelled", "refunded"]  # type: ignore[assignment]

    assert rules(V1) == set()
    assert rules(Additive) == set()


def test_removing_a_field_is_breaking():
    class Removed(BaseModel):
        id: str
        total: int = Field(ge=0)
        status: Literal["placed", "delivered", "cancelled"]
        address: Address
        tags: list[str] = []

    assert rules(Removed) == {("$.note", "field-removed")}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"total": (str, ...)}, ("$.total", "type-changed")),
        ({"note": (str, ...)}, ("$.note", "made-required")),
        ({"currency": (str, ...)}, ("$.currency", "required-added")),
        ({"status": (Literal["placed", "delivered"], ...)}, ("$.status", "enum-value-removed")),
        ({"total": (int, Field(ge=1))}, ("$.total", "constraint-tightened")),
        ({"note": (str, None)}, ("$.note", "nullability-removed")),
        ({"total": (int | None, Field(ge=0))}, ("$.total", "nullability-added")),
        ({"id": (str, "")}, ("$.id", "made-optional")),
        (
            {"id": (str, Field(json_schema_extra={"format": "uuid"}))},
            ("$.id", "constraint-tightened"),
        ),
        ({"total": (int, Field(ge=0, multiple_of=5))}, ("$.total", "constraint-tightened")),
    ],
)
def test_each_rule_names_the_field(change, expected):
    from pydantic import create_model

    new = create_model("New", __base__=V1, **change)
    assert expected in rules(new)


def test_nested_objects_are_compared_through_refs():
    class Address2(BaseModel):
        street: str

    class Nested(V1):
        address: Address2  # type: ignore[assignment]

    assert rules(Nested) == {("$.address.city", "field-removed")}


def test_a_recursive_definition_is_compared_without_looping():
    class Option(BaseModel):
        name: str
        options: list[Option] = []

    class Menu(BaseModel):
        options: list[Option]

    class OptionV2(BaseModel):
        name: int
        options: list[OptionV2] = []

    class MenuV2(BaseModel):
        options: list[OptionV2]

    same = breaking_changes(Menu.model_json_schema(), Menu.model_json_schema())
    changed = breaking_changes(Menu.model_json_schema(), MenuV2.model_json_schema())
    assert same == []
    assert [(b.path, b.rule) for b in changed] == [("$.options[].name", "type-changed")]
