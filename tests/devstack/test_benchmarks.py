"""The emulator benchmark still runs: two orders through a stack of its own, its checks
passed (every order delivered, paid once, notified once per status); timing is not judged."""

from __future__ import annotations

import subprocess
import sys

from shared.paths import PROJECT_ROOT
from tests.devstack.conftest import require_emulators


def test_the_emulator_benchmark_delivers_its_orders_and_passes_its_checks() -> None:
    require_emulators()
    process = subprocess.Popen(
        [sys.executable, "benchmarks/orders_emulators.py", "--orders", "2", "--timeout", "120"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.terminate()  # the benchmark stops the stack it started (its tethers too)
        output, _ = process.communicate(timeout=60)

    assert process.returncode == 0, output
    assert "delivered:       2" in output
    assert "result:" in output
