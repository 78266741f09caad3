"""``make bench-dev ARGS=--attach`` with no stack running: one line and exit code 2, as
``fooddelivery dev --scenario --attach`` says it, not a traceback. Needs no emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shared.paths import PROJECT_ROOT


def test_attaching_to_no_stack_says_so_in_one_line(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "benchmarks/orders_emulators.py",
            "--attach",
            "--orders",
            "1",
            "--state-dir",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 2, run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith(f"orders_emulators: no stack is running at {tmp_path}: start one"), line
    assert f"dev --state-dir {tmp_path}`" in line
