"""tracking-bff: its OpenAPI document states the bounds the history's query string is held to,
in the words of JSON Schema, so that a client generated from it knows them."""

from __future__ import annotations

from typing import Any

from shared.clock import LATEST_MS
from tests.customer.conftest import Customer

NOT_JSON_SCHEMA = frozenset({"ge", "gt", "le", "lt"})
"""pydantic's names of bounds, which JSON Schema does not know (it ignores them)."""


def keywords(schema: Any) -> set[str]:
    """Every keyword used anywhere in ``schema``."""
    if isinstance(schema, dict):
        found = set(schema)
        for value in schema.values():
            found |= keywords(value)
        return found
    if isinstance(schema, list):
        return set().union(*(keywords(item) for item in schema))
    return set()


def test_the_history_query_states_its_bounds_as_json_schema_does(customer: Customer) -> None:
    document = customer.call("tracking-bff", "GET", "/openapi.json", subject=None).get_json()
    parameters = {p["name"]: p for p in document["paths"]["/orders"]["get"]["parameters"]}

    time = parameters["before"]["schema"]
    assert (time["type"], time["minimum"], time["maximum"]) == ("integer", 0, LATEST_MS)
    assert parameters["before"]["description"].startswith("Instead of `after`")
    schemas = [p["schema"] for p in parameters.values()]
    assert keywords(schemas) & NOT_JSON_SCHEMA == set()


def test_a_time_past_the_bound_is_still_refused(customer: Customer) -> None:
    for before in (str(LATEST_MS + 1), "-1", "1e3"):
        answer = customer.call("tracking-bff", "GET", f"/orders?before={before}")
        assert answer.status_code == 400
        assert list(answer.get_json()["fields"]) == ["before"]
    assert customer.call("tracking-bff", "GET", f"/orders?before={LATEST_MS}").status_code == 200
