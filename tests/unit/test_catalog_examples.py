"""The catalog's examples, generated from contract schemas."""

from __future__ import annotations

from pydantic import BaseModel

from shared.catalog.schemas import example


class Option(BaseModel):
    name: str
    options: list[Option] = []


def test_a_recursive_contract_gets_a_finite_example() -> None:
    assert example(Option.model_json_schema()) == {"name": "name-1", "options": []}
