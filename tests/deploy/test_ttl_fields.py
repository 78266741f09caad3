"""A TTL field is kept out of Firestore's single-field indexes.

Every document of a TTL collection carries ``expireAt``, a timestamp a fixed time after it
was written: a monotonically increasing value. Firestore limits a collection whose documents
hold a sequential indexed value to 500 writes per second, and lifts the limit for a field no
query uses once it is not indexed (Firestore, "Sharded timestamps"). The provider's own
example of a TTL field pairs ``ttl_config {}`` with an empty ``index_config {}``, which
disables every single-field index on it (``google_firestore_field``). No query filters or
orders on a TTL field, and no declared composite index names one.
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_drift import ENVIRONMENTS, committed

TTL_FIELD = "google_firestore_field.ttl"


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A resource's nested blocks of one type, without python-hcl2's bookkeeping keys."""
    return [{k: v for k, v in b.items() if not k.startswith("__")} for b in body.get(name, [])]


def test_a_ttl_field_has_its_policy_and_no_single_field_index(modules):
    field = modules["modules/subsystem"]["resource"][TTL_FIELD]
    assert blocks(field, "ttl_config") == [{}]
    assert blocks(field, "index_config") == [{}], "index_config {} exempts the TTL field"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_declared_index_uses_a_ttl_field(env):
    used = {
        (name, index["collection"], f["field_path"])
        for name, sub in committed(env).items()
        for index in sub["firestore_indexes"]
        for f in index["fields"]
    }
    ttl = {
        (name, t["collection"], t["field"])
        for name, sub in committed(env).items()
        for t in sub["firestore_ttl_fields"]
    }
    assert sorted(used & ttl) == []
