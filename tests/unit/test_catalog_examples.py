"""The catalog's examples, generated from contract schemas."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from shared.catalog.schemas import example


class Option(BaseModel):
    name: str
    options: list[Option] = []


def test_a_recursive_contract_gets_a_finite_example() -> None:
    assert example(Option.model_json_schema()) == {"name": "name-1", "options": []}


class Bounded(BaseModel):
    share: float = Field(gt=0, le=0.5)
    step: float = Field(gt=0, lt=0.1)
    pack: int = Field(ge=3, le=12, multiple_of=5)
    below: int = Field(lt=0, multiple_of=3)
    none_yet: list[str] = Field(max_length=0)
    counts: dict[str, int] = Field(min_length=1)
    pair: tuple[int, str]


def test_an_example_keeps_to_every_bound_its_schema_sets() -> None:
    schema = Bounded.model_json_schema()
    body = example(schema)

    assert [e.message for e in Draft202012Validator(schema).iter_errors(body)] == []
    assert Bounded.model_validate(body) is not None


class Stamped(BaseModel):
    at: datetime


class Stamps(BaseModel):
    at: set[int] = Field(min_length=2)


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        (Stamped, "field 'at' has a format: give it examples=[...]"),
        (Stamps, "field 'at' needs distinct items: give it examples=[...]"),
    ],
)
def test_an_example_it_cannot_make_up_is_asked_for(model: type[BaseModel], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        example(model.model_json_schema())
