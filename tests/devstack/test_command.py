"""The ``fooddelivery dev`` command: clear failures, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devstack.layout import HOST_OFFSET
from shared.procfs import group_members
from tests.devstack.conftest import (
    DevProcess,
    descendants,
    dev_env,
    kill_everything,
    require_emulators,
    start_dev,
    stop_and_check,
    wait_ready,
)


def dev(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "dev", "--state-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or dev_env(tmp_path / "key.pem"),
    )


def test_missing_gcloud_and_java_give_a_clear_message(tmp_path: Path) -> None:
    env = dev_env(tmp_path / "key.pem")
    env["PATH"] = str(tmp_path / "empty")
    run = dev(tmp_path, "--free-ports", env=env)
    assert run.returncode == 2
    assert run.stderr.startswith("fooddelivery dev: the emulators need gcloud and java on PATH")
    assert "stopped:" not in run.stderr  # nothing had started
    assert "Traceback" not in run.stderr


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("options", "what"),
    [
        (lambda port: ["--free-ports", "--pubsub-port", str(port)], "the Pub/Sub emulator"),
        (lambda port: ["--base-port", str(port - HOST_OFFSET)], "the customer host"),
    ],
    ids=["emulator", "host"],
)
def test_a_busy_port_gives_a_clear_message_and_starts_nothing(
    tmp_path: Path, options: Callable[[int], list[str]], what: str
) -> None:
    """A port the user gave is used or refused, never swapped for another."""
    require_emulators()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = dev(tmp_path, *options(port))
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith("fooddelivery dev: port(s) already in use: ")
    assert f"{port} ({what})" in run.stderr.splitlines()[0]
    assert "stopped:" not in run.stderr  # nothing had started
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "stack.json").exists()


@pytest.mark.emulator
def test_ctrl_c_stops_every_process_including_the_emulators_java(tmp_path: Path) -> None:
    require_emulators()
    started = start_dev(tmp_path, "--free-ports", "--no-lake")
    manifest = wait_ready(started)
    groups = manifest.groups
    java = [m for m in group_members(list(groups.values())) if m[2] == "java"]

    code, left = stop_and_check(started)  # first, so a failed check below leaves nothing running

    assert {"emulator-pubsub", "emulator-firestore", "host-order", "fake-pos"} <= set(groups)
    assert "emulator-storage" not in groups, "without a lake there is no Storage emulator"
    assert "STORAGE_EMULATOR_HOST" not in manifest.env
    assert len(java) == 2, f"expected the Pub/Sub and Firestore emulators' java: {java}"
    assert code == 0, started.output[-3000:]
    assert left == [], f"processes left behind: {left}"
    assert "stopped: every process the stack started has exited" in started.output
    assert not (tmp_path / "stack.json").exists(), "a stopped stack leaves no manifest behind"


@pytest.mark.emulator
def test_a_dev_command_killed_outright_leaves_nothing_running(tmp_path: Path) -> None:
    """SIGKILL gives the command no chance to clean up: each tethered group stops itself."""
    require_emulators()
    started = start_dev(tmp_path, "--free-ports", "--no-lake")
    try:
        groups = list(wait_ready(started).groups.values())
        running = group_members(groups)

        started.process.kill()
        started.process.wait(10)
        deadline, left = time.monotonic() + 30, group_members(groups)
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = group_members(groups)
    finally:
        kill_everything(started)  # never leave anything behind, even when the test fails
    assert len(running) >= len(groups)
    assert left == [], f"processes outlived the killed command: {left}"


@pytest.mark.emulator
def test_sigterm_stops_every_process_the_stack_started(tmp_path: Path) -> None:
    """As ``kill PID`` or a service manager sends it: to the command alone, not its group.
    What is left is told by the process groups the stack recorded and by the processes
    seen below the command, not by their names."""
    require_emulators()
    started = start_dev(tmp_path, "--free-ports", "--no-lake")
    manifest = wait_ready(started)
    below = descendants(started.process.pid)

    code, left = stop_and_check(started, signal.SIGTERM)

    assert {"emulator-pubsub", "emulator-firestore", "host-order", "fake-pos"} <= set(
        manifest.groups
    )
    assert len(below) > len(manifest.groups), "the emulators' java and the tethers' watchers"
    assert code == 0, started.output[-3000:]
    assert left == [], f"processes left behind: {left}"
    assert started.output.rstrip().endswith("stopped: every process the stack started has exited")
    assert not (tmp_path / "stack.json").exists(), "a stopped stack leaves no manifest behind"


def files(state_dir: Path) -> dict[str, object]:
    """The manifest's and env.sh's text, and which checkpoint files (by inode) are there."""
    found: dict[str, object] = {
        n: (state_dir / n).read_text() if (state_dir / n).exists() else None
        for n in ("stack.json", "env.sh")
    }
    found.update({p.name: p.stat().st_ino for p in state_dir.glob("*-triggers.jsonl")})
    return found


@pytest.mark.emulator
def test_a_second_stack_on_a_running_stack_s_state_dir_is_refused(tmp_path: Path) -> None:
    """Even on free ports: it would overwrite the first one's stack.json and env.sh and
    delete the checkpoints its hosts resume from."""
    require_emulators()
    first = start_dev(tmp_path, "--free-ports", "--no-lake")
    second: DevProcess | None = None
    try:
        wait_ready(first)
        before = files(tmp_path)
        second = start_dev(tmp_path, "--free-ports", "--no-lake")
        try:
            code: int | None = second.process.wait(60)
        except subprocess.TimeoutExpired:
            code = None
        after = files(tmp_path)
    finally:  # never leave anything behind, even when the test fails
        if second is not None and second.process.poll() is None:
            stop_and_check(second)  # it started: stop it, and everything it started
        first_code, left = stop_and_check(first)

    assert second is not None
    assert code == 2, second.output[-3000:]
    assert second.output.startswith(
        f"fooddelivery dev: a stack is already running at {tmp_path} "
        f"(pid {first.process.pid}): use it"
    ), second.output
    assert len(second.output.strip().splitlines()) == 1, second.output
    assert after == before, "the running stack's files were changed"
    assert first_code == 0, first.output[-3000:]
    assert left == [], f"processes left behind: {left}"
