"""Every route of every BFF sent bodies its OpenAPI document's request schema admits.

The fuzz tests (:mod:`tests.e2e.test_bff_fuzz`) send what a document refuses; these send
what it accepts, so the answers cover successes and the refusals only the handlers make
(a dish that is not on the menu, a revision that is not the latest). Whatever the body, a
BFF answers below 500, and (as in every e2e test) with a status and a body its document
lists for the operation.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis_jsonschema import from_schema

from tests.e2e.test_bff_fuzz import FUZZ, WITH_BODY, Operation, Seeded, encoded, seeded

__all__ = ["seeded"]  # the fixture, imported to be used here


@pytest.mark.parametrize("operation", WITH_BODY, ids=str)
def test_a_body_its_schema_admits_is_answered_as_documented(
    seeded: Seeded, operation: Operation
) -> None:
    assert operation.body is not None

    @FUZZ
    @given(from_schema(operation.body))
    def send(body: Any) -> None:
        seeded.call(
            operation, seeded.path(operation), data=encoded(body), content_type="application/json"
        )

    send()
