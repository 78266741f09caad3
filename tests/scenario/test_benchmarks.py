"""The embedded benchmark still runs: a few orders through the whole embedded system, all
of them finished; timing is not judged."""

from __future__ import annotations

import subprocess
import sys

from shared.paths import PROJECT_ROOT


def test_the_embedded_benchmark_finishes_its_orders() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/orders_embedded.py", "--orders", "6", "--per-round", "3"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "orders:            6 in" in done.stdout
    assert "delivered:       5, cancelled 1" in done.stdout  # the story's one rejection
    assert "result:" in done.stdout
