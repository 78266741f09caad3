"""A BFF's unexpected failure is logged by the kit, in the format the function logs in: on
GCP one JSON entry with its traceback, not Flask's plain lines on stderr (Cloud Logging
makes an entry of each line, none saying which request failed)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from shared import logs
from shared.api import HttpApi
from shared.auth import LocalIssuer, Principal

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}


@pytest.fixture
def kit_logging_restored() -> Iterator[None]:
    root = logging.getLogger(logs.ROOT)
    handlers, level, propagate = list(root.handlers), root.level, root.propagate
    yield
    root.handlers[:], root.level, root.propagate = handlers, level, propagate


def test_a_crash_is_one_json_entry_naming_the_request(
    kit_logging_restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("json", project="customer-dev")  # as on GCP; to capsys's stdout
    api = HttpApi("Notes", ISSUER)

    @api.route("GET", "/notes/{note_id}", actors={"customer"})
    def read(caller: Principal, note_id: str) -> dict[str, Any]:
        """Read a note."""
        raise RuntimeError("the disk is on fire")

    answer = api.flask_app().test_client().get("/notes/n-7", headers=ALICE)

    assert answer.status_code == 500
    out, err = capsys.readouterr()
    [entry] = [json.loads(line) for line in out.splitlines()]
    assert entry["severity"] == "ERROR"
    assert entry["message"] == "GET /notes/n-7 failed; answered 500"
    assert "RuntimeError: the disk is on fire" in entry["stack_trace"]
    assert "the disk is on fire" not in err
