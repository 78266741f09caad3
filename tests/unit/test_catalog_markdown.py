"""The human catalog's field tables: what each field's values may be, as a consumer reads them."""

from __future__ import annotations

from typing import ClassVar, Literal

from shared.catalog import markdown
from shared.catalog.inventory import Published
from shared.contracts import Contract, ContractModel, Id


class Part(ContractModel):
    """A part."""

    name: str
    """The part's name."""


class Assembled(Contract):
    """Something was assembled."""

    TYPE: ClassVar[str] = "order.assembled"
    ENTITY: ClassVar[str] = "assembly"
    id: Id
    """The assembly's id."""
    labels: list[Literal["fragile", "cold"]]
    """How to handle it."""
    parts: list[Part] | None = None
    """What it is made of."""
    checked: Literal[True] = True
    """Always checked."""


def rows() -> list[str]:
    event = Published(Assembled, "order", "status-esg", "egress", ())
    return [line for line in markdown.render([event], "flowchart LR\n").splitlines()]


def test_the_values_of_an_arrays_items_are_listed() -> None:
    assert (
        "| `labels` | array of string | yes | each one of `fragile`, `cold` | How to handle it. |"
        in rows()
    )


def test_the_fields_of_a_nullable_arrays_objects_are_named_as_items() -> None:
    assert "| `parts[].name` | string | yes |  | The part's name. |" in rows()


def test_constants_are_shown_as_the_json_a_consumer_receives() -> None:
    assert (
        "| `checked` | boolean | no | always `true`; default `true` | Always checked. |" in rows()
    )
