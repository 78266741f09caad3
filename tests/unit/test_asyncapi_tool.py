"""``tools/asyncapi/validate.mjs`` (``make asyncapi-check``): what it says about a document
it cannot read."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "asyncapi"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (TOOL / "node_modules" / "@asyncapi").is_dir(),
    reason="needs node and the parser installed (make asyncapi-check installs it)",
)


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
