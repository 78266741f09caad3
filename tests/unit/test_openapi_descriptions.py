"""The OpenAPI document carries the docstrings of handlers, models and fields, as prose."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.api import HttpApi
from shared.auth import LocalIssuer, Principal


class Sighting(BaseModel):
    """Where a bird was seen, as ``lat,lng``.

    See :class:`~birds.atlas.Atlas` for
    the grid.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    seen_at: int
    """When, in epoch ms (``0``: unknown)."""
    description: str = "``kept as sent``"
    """What the watcher wrote; its default is data, not a description."""


class Near(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")

    near: str | None = None
    """``<lat>,<lng>``: only sightings there."""


def document() -> dict:
    api = HttpApi("Birds", LocalIssuer())

    @api.route(
        "GET",
        "/sightings",
        actors={"customer", "driver"},
        response=Sighting,
        query=Near,
        refusals={404: "no ``bird`` there"},
    )
    def sightings(caller: Principal, query: Near) -> Sighting:
        """Sightings near a point, filtered by ``?near=``, with a first paragraph
        wrapped onto a second line.

        The ``near`` filter uses :func:`~shared.geo.distance_m`:
        a great-circle distance.

        * a list item keeps its line
        """
        raise AssertionError("not called")

    @api.route("GET", "/birds", actors={"customer"})
    def birds(caller: Principal) -> dict:
        """Every bird."""
        return {}

    return api.openapi()


def test_the_first_paragraph_is_the_summary_and_the_rest_the_description():
    operation = document()["paths"]["/sightings"]["get"]
    assert operation["summary"] == (
        "Sightings near a point, filtered by `?near=`, with a first paragraph "
        "wrapped onto a second line."
    )
    assert operation["description"] == (
        "The `near` filter uses `distance_m`: a great-circle distance.\n\n"
        "* a list item keeps its line\n\n"
        "Callers: customer, driver."
    )
    assert operation["responses"]["404"]["description"] == "no `bird` there"


def test_an_operation_without_more_docstring_is_described_by_its_callers():
    operation = document()["paths"]["/birds"]["get"]
    assert (operation["summary"], operation["description"]) == ("Every bird.", "Callers: customer.")


def test_model_and_field_docstrings_are_the_schemas_descriptions_as_prose():
    schema = document()["components"]["schemas"]["Sighting"]
    assert (
        schema["description"] == "Where a bird was seen, as `lat,lng`.\n\nSee `Atlas` for the grid."
    )
    assert schema["properties"]["seen_at"]["description"] == "When, in epoch ms (`0`: unknown)."
    described = schema["properties"]["description"]
    assert described["default"] == "``kept as sent``"
    assert described["description"].startswith("What the watcher wrote")


def test_a_query_field_docstring_is_its_parameters_description():
    [near] = document()["paths"]["/sightings"]["get"]["parameters"]
    assert near["name"] == "near"
    assert near["description"] == "`<lat>,<lng>`: only sightings there."
    assert "description" not in near["schema"]
