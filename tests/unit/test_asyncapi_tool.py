"""``tools/asyncapi/validate.mjs`` (``make asyncapi-check``): what it says about a document
it cannot read."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "asyncapi"


@pytest.fixture(autouse=True)
def parser_installed() -> None:
    """Node and the parser, or a skip; but not under ``CI``: ``make test`` installs them
    (``asyncapi-check``), so a check skipped there would pass unseen."""
    if shutil.which("node") is None or not (TOOL / "node_modules" / "@asyncapi").is_dir():
        message = "needs node and the parser installed (make asyncapi-check installs it)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{message}, and CI=true forbids skipping this check")
        pytest.skip(message)


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "validate.mjs", str(path)],
        cwd=TOOL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", ["missing.yaml", "."], ids=["missing", "a-directory"])
def test_a_document_it_cannot_read_is_one_line_and_exit_2(tmp_path, name):
    path = tmp_path / name
    done = validate(path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"{path}: cannot read: ")
    assert done.stderr.count("\n") == 1
