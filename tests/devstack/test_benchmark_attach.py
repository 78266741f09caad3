"""``make bench-dev ARGS=--attach`` with no stack running: one line and exit code 2, as
``fooddelivery dev --scenario --attach`` says it, not a traceback; and its ``--state-dir``
means what it means to ``fooddelivery dev``, from any working directory. Needs no emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devstack.layout import STATE_DIR
from shared.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "benchmarks" / "orders_emulators.py"


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


def test_a_relative_state_dir_is_the_working_directory_s_wherever_the_script_runs(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--attach", "--orders", "1", "--state-dir", "rel/dev"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 2, run.stderr
    [line] = run.stderr.splitlines()
    where = elsewhere / "rel" / "dev"
    assert line.startswith(f"orders_emulators: no stack is running at {where}: start one"), line
    assert f"dev --state-dir {where}`" in line


def test_the_default_state_dir_is_fooddelivery_dev_s_wherever_the_script_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make bench-dev ARGS=--attach`` beside ``make dev``, whatever the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "benchmarks"))
    import orders_emulators

    try:
        assert orders_emulators.parse_args(["--attach"]).state_dir == STATE_DIR.resolve()
        relative = orders_emulators.parse_args(["--attach", "--state-dir", "rel"]).state_dir
        assert relative == tmp_path.resolve() / "rel"
    finally:
        sys.modules.pop("orders_emulators", None)
