"""One ``fooddelivery dev`` stack for the whole package, started as a user would start it.

The stack runs as a subprocess in its own process group on free ports, with
its own emulators (any ``*_EMULATOR_HOST`` of the test session is removed from
its environment). It is stopped with SIGINT, as Ctrl-C would, and the teardown
checks that no process of any group it started is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devstack.layout import MANIFEST, Manifest
from shared import emulators
from shared.procfs import group_members
from tests.conftest import _in_ci

READY_TIMEOUT_S = 120.0
EMULATOR_VARS = tuple(spec.env_var for spec in emulators.ALL)


@dataclass
class DevProcess:
    """A ``fooddelivery dev`` subprocess and what it printed."""

    process: subprocess.Popen[str]
    state_dir: Path
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def manifest(self) -> Manifest:
        return Manifest.read(self.state_dir / MANIFEST)

    def interrupt(self, timeout_s: float = 60.0) -> int:
        """Ctrl-C as a terminal sends it (to the command's process group); the exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout_s)


def dev_env(dev_key: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in EMULATOR_VARS}
    env["FOODDELIVERY_DEV_KEY"] = str(dev_key)
    return env


def start_dev(state_dir: Path, *args: str, env: dict[str, str] | None = None) -> DevProcess:
    """Start ``fooddelivery dev --free-ports`` and read its output in a thread."""
    command = [sys.executable, "-m", "shared.cli", "dev", "--state-dir", str(state_dir), *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env or dev_env(state_dir / "dev-key.pem"),
        start_new_session=True,
    )
    dev = DevProcess(process, state_dir)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            dev.lines.append(line.rstrip("\n"))
            if line.startswith("READY"):
                dev.ready.set()

    threading.Thread(target=read, daemon=True).start()
    return dev


def wait_ready(dev: DevProcess) -> Manifest:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not dev.ready.wait(0.2):
        if dev.process.poll() is not None or time.monotonic() > deadline:
            kill_everything(dev)
            pytest.fail(f"fooddelivery dev did not get ready:\n{dev.output[-5000:]}")
    return dev.manifest()


def kill_everything(dev: DevProcess) -> None:
    """SIGKILL every process of the command's group and of each group its manifest names
    (if it wrote one yet): killing the command alone leaves its children running."""
    groups = [dev.process.pid]
    with contextlib.suppress(OSError, ValueError, TypeError):
        groups += list(dev.manifest().groups.values())
    for pid, _, _ in group_members(groups):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    dev.process.wait(10)


def stop_and_check(dev: DevProcess) -> tuple[int, list[tuple[int, int, str]]]:
    """SIGINT the command; its exit code and whatever of its process groups is still alive."""
    groups = [dev.process.pid, *dev.manifest().groups.values()]
    try:
        code = dev.interrupt()
    except subprocess.TimeoutExpired:
        code = -1
    time.sleep(0.5)
    left = group_members(groups)
    for pid, _, _ in left:  # never leave anything behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    return code, left


def require_emulators() -> None:
    missing = emulators.missing_tools()
    if missing:
        message = f"the emulators need {', '.join(missing)}"
        if _in_ci():
            pytest.fail(f"{message}, and CI=true forbids skipping emulator tests")
        pytest.skip(message)


@pytest.fixture(scope="package")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    """The package's stack (started on first use, stopped after the package's last test)."""
    require_emulators()
    dev = start_dev(tmp_path_factory.mktemp("devstack"), "--free-ports")
    wait_ready(dev)
    yield dev
    code, left = stop_and_check(dev)
    assert code == 0, dev.output[-3000:]
    assert left == [], f"processes left behind: {left}"


@pytest.fixture
def manifest(dev_stack: DevProcess) -> Manifest:
    return dev_stack.manifest()


def eventually(check: Callable[[], Any], timeout_s: float = 30.0, every_s: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout_s} s: {check.__doc__ or check}")
        time.sleep(every_s)
