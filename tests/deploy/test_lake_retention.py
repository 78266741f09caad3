"""The lake keeps personal data only as long as ``lake_retention_days`` says, checked without
the provider: the bucket's delete rules evaluated by ``terraform console``, the variable
validated alike and passed on from each environment down to the bucket."""

from __future__ import annotations

from typing import Any

import pytest

from .test_drift import ENVIRONMENTS
from .test_first_apply import console

LAKE = "google_storage_bucket.lake"
LAYERS = ("modules/subsystem", "modules/system", "environments/dev", "environments/prod")


def delete_rules(modules: dict[str, Any], days: int | None, tmp_path: Any) -> list[dict[str, Any]]:
    """The lake bucket's ``Delete`` lifecycle rules with ``lake_retention_days = days``: each
    dynamic rule's ``for_each`` evaluated, its content's condition filled in."""
    rules = []
    for dynamic in modules["modules/subsystem"]["resource"][LAKE].get("dynamic", []):
        if "lifecycle_rule" not in dynamic:
            continue
        rule = dynamic["lifecycle_rule"]
        [content] = rule["content"]
        [action] = content["action"]
        if action["type"] != "Delete":
            continue
        [condition] = content["condition"]
        values = console(rule["for_each"][2:-1], {"lake_retention_days": days}, tmp_path)
        for value in values:
            filled = {k: value for k, v in condition.items() if v == "${lifecycle_rule.value}"}
            rules.append(filled)
    return rules


def test_without_a_retention_the_lake_deletes_nothing(modules, tmp_path):
    assert delete_rules(modules, None, tmp_path) == []


def test_a_retention_deletes_events_and_then_their_old_versions(modules, tmp_path):
    assert delete_rules(modules, 30, tmp_path) == [
        {"age": 30},
        {"days_since_noncurrent_time": 7},
    ]


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize(
    ("days", "valid"), [(None, True), (1, True), (400, True), (0, False), (2.5, False)]
)
def test_every_layer_takes_whole_days_or_null(modules, tmp_path, layer, days, valid):
    variable = modules[layer]["variable"]["lake_retention_days"]
    assert variable["type"] == "number"
    [validation] = variable["validation"]
    condition = validation["condition"][2:-1]
    assert console(condition, {"lake_retention_days": days}, tmp_path) is valid


def test_the_retention_reaches_the_bucket_from_each_environment(modules):
    assert modules["modules/system"]["module"]["subsystem"]["lake_retention_days"] == (
        "${var.lake_retention_days}"
    )
    for env in ENVIRONMENTS:
        system = modules[f"environments/{env}"]["module"]["system"]
        assert system["lake_retention_days"] == "${var.lake_retention_days}"


def test_every_event_is_kept_for_good_unless_an_owner_sets_a_retention(modules):
    for env in ENVIRONMENTS:
        assert modules[f"environments/{env}"]["variable"]["lake_retention_days"]["default"] is None


def soft_delete_seconds(modules: dict[str, Any], days: int | None, tmp_path: Any) -> list[Any]:
    """The lake bucket's ``soft_delete_policy`` durations with ``lake_retention_days = days``
    (none: the bucket keeps its default, which is seven days)."""
    bucket = modules["modules/subsystem"]["resource"][LAKE]
    durations = [
        block["retention_duration_seconds"] for block in bucket.get("soft_delete_policy", [])
    ]
    for dynamic in bucket.get("dynamic", []):
        if "soft_delete_policy" in dynamic:
            block = dynamic["soft_delete_policy"]
            [content] = block["content"]
            assert content["retention_duration_seconds"] == "${soft_delete_policy.value}"
            durations += console(block["for_each"][2:-1], {"lake_retention_days": days}, tmp_path)
    return durations


def test_with_a_retention_no_soft_deleted_copy_outlives_the_week_of_old_versions(modules, tmp_path):
    assert soft_delete_seconds(modules, 30, tmp_path) == [0]
    assert soft_delete_seconds(modules, None, tmp_path) == []  # the bucket's default stays
