"""A fault record's documents keep every value's type (shared.stores.stored_json)."""

from __future__ import annotations

import json

from google.cloud.firestore_v1 import GeoPoint

from shared.stores import stored_json
from tests.contracts.firestore_values import AS_READ, EVERY_VALUE, typed


def test_every_value_comes_back_as_the_firestore_client_reads_it() -> None:
    kept = json.loads(json.dumps(stored_json.to_json(EVERY_VALUE)))

    assert typed(stored_json.from_json(kept)) == typed(AS_READ)


def test_a_geo_point_comes_back_as_one() -> None:
    kept = json.loads(json.dumps(stored_json.to_json({"at": GeoPoint(52.5, 13.4)})))

    assert stored_json.from_json(kept) == {"at": GeoPoint(52.5, 13.4)}


def test_a_tag_that_does_not_parse_stays_the_map_it_is() -> None:
    odd = {"__bytes__": "not base64!", "__timestamp__": 7, "other": {"__geopoint__": [1]}}

    assert stored_json.from_json({"one": {"__bytes__": "not base64!"}}) == {
        "one": {"__bytes__": "not base64!"}
    }
    assert stored_json.from_json(odd) == odd
