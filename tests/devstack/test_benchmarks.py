"""The emulator benchmarks still run: two orders through a stack of its own, its checks
passed (every order delivered, paid once, notified once per status), and the kit's
throughput on a few messages; timing is not judged."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

from shared.paths import PROJECT_ROOT
from tests.devstack.conftest import descendants, require_emulators, still_alive


def test_the_emulator_benchmark_delivers_its_orders_and_passes_its_checks() -> None:
    require_emulators()
    process = subprocess.Popen(
        [sys.executable, "benchmarks/orders_emulators.py", "--orders", "2", "--timeout", "120"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.terminate()  # the benchmark stops the stack it started (its tethers too)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # never leave it running, even when the test fails
            below = descendants(process.pid)
            os.killpg(process.pid, signal.SIGKILL)
            for pid, _ in still_alive(below):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.wait(10)

    assert process.returncode == 0, output
    assert "delivered:       2" in output
    assert "result:" in output


def test_the_kit_throughput_benchmark_still_runs_and_prints_its_figures() -> None:
    require_emulators()
    run = subprocess.run(
        [
            sys.executable,
            "benchmarks/kit_throughput.py",
            "--messages",
            "100",
            "--rounds",
            "1",
            "--embedded-events",
            "300",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines if line.startswith(("publish", "consume"))] == [
        "publish",
        "consume",
    ]
    assert any(line.startswith("embedded hub: ") for line in lines), run.stdout
