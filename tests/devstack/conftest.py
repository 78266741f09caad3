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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devstack.layout import MANIFEST, Manifest
from shared import emulators
from shared.procfs import PROC, group_members
from tests.conftest import _in_ci

READY_TIMEOUT_S = 120.0
EMULATOR_VARS = tuple(spec.env_var for spec in emulators.ALL)


Proc = tuple[int, int]
"""A process as (pid, start time in clock ticks since boot): a pid used again since is not it."""


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a process; ``None`` once it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command may hold spaces and ')'
    return int(fields[1]), fields[0], int(fields[19])


def descendants(pid: int) -> set[Proc]:
    """Every live process below ``pid``: its children, theirs, and so on."""
    children: dict[int, list[Proc]] = {}
    for entry in PROC.iterdir():
        found = _stat(int(entry.name)) if entry.name.isdigit() else None
        if found is not None and found[1] != "Z":
            children.setdefault(found[0], []).append((int(entry.name), found[2]))
    below: set[Proc] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            below.add(child)
            todo.append(child[0])
    return below


def still_alive(procs: Iterable[Proc]) -> list[Proc]:
    """Those of ``procs`` that still run (not a zombie, not a new process on the same pid)."""
    alive = []
    for pid, started in sorted(procs):
        found = _stat(pid)
        if found is not None and found[1] != "Z" and found[2] == started:
            alive.append((pid, started))
    return alive


@dataclass
class DevProcess:
    """A ``fooddelivery dev`` subprocess and what it printed."""

    process: subprocess.Popen[str]
    state_dir: Path
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    groups: set[int] = field(default_factory=set)
    """Every process group its manifests named so far (a restarted host gets a new one)."""

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def manifest(self) -> Manifest:
        return Manifest.read(self.state_dir / MANIFEST)

    def known_groups(self) -> list[int]:
        """The command's own process group and every one it is known to have started:
        those its manifest names now (if it wrote one) and those it named before."""
        with contextlib.suppress(OSError, ValueError, TypeError):
            self.groups.update(self.manifest().groups.values())
        return [self.process.pid, *sorted(self.groups - {self.process.pid})]

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
    try:
        manifest = dev.manifest()
    except BaseException:
        kill_everything(dev)
        raise
    dev.known_groups()  # recorded: a later manifest may name other groups, or be gone
    return manifest


def kill_everything(dev: DevProcess, also: Iterable[Proc] = ()) -> None:
    """SIGKILL every process of the command's group and of each group it is known to have
    started, and every one of ``also`` still alive: killing the command alone leaves its
    children running. Returns once they are gone (at most about 10 s): a killed process
    dies a moment after the signal, later on a loaded machine."""
    groups = dev.known_groups()
    doomed = [pid for pid, _, _ in group_members(groups)]
    doomed += [pid for pid, _ in still_alive(also)]
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        dev.process.wait(10)
    deadline = time.monotonic() + 10
    while (group_members(groups) or still_alive(also)) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_and_check(
    dev: DevProcess, how: signal.Signals = signal.SIGINT
) -> tuple[int, list[tuple[int, int, str]]]:
    """Stop the command as Ctrl-C does (SIGINT to its process group) or as ``kill PID`` does
    (SIGTERM to the command alone); its exit code, and whatever is still alive of the
    process groups it is known to have started and of the processes that ran below it, the
    moment the command has exited (each tether would stop its group a moment later).

    Whatever is left is killed, even when the test then fails."""
    groups = dev.known_groups()
    below = descendants(dev.process.pid)
    try:
        if how == signal.SIGINT:
            code = dev.interrupt()
        else:
            dev.process.send_signal(how)
            code = dev.process.wait(60)
    except subprocess.TimeoutExpired:
        code = -1
    finally:  # at once: the command said every process had exited, not its tethers later
        left = group_members(groups)
        seen = {pid for pid, _, _ in left}
        left += [
            (pid, -1, "outside its groups") for pid, _ in still_alive(below) if pid not in seen
        ]
        kill_everything(dev, below)
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
