"""Stopping a dev stack signals every process group before it waits for any, so Ctrl-C
returns after the slowest process, not after all of them one by one; and nothing of
any group is left behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.layout import Ports
from devstack.processes import Child, signal_group, stop_groups
from devstack.stack import DevOptions, DevStack
from shared import emulators as emu
from shared.procfs import group_members

SLOW_EXIT_S = 1.0
SLOW = f"""
import pathlib, signal, subprocess, sys, time
def leave(*_):
    time.sleep({SLOW_EXIT_S})
    sys.exit(0)
signal.signal(signal.SIGTERM, leave)
if sys.argv[2] == "grandchild":  # one that ignores SIGTERM: only the sweep stops it
    subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
pathlib.Path(sys.argv[1]).touch()
time.sleep(60)
"""
STUBBORN = """
import pathlib, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path(sys.argv[1]).touch()
time.sleep(60)
"""


def started(tmp_path: Path, name: str, script: str, extra: str = "-") -> list[str]:
    return [sys.executable, "-c", script, str(tmp_path / f"{name}.ready"), extra]


def wait_ready(tmp_path: Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("*.ready"))) < count:
        assert time.monotonic() < deadline, "the test's processes did not start"
        time.sleep(0.05)


def test_a_stack_stops_its_processes_side_by_side(tmp_path: Path) -> None:
    options = DevOptions(Ports(), tmp_path / "state", tmp_path / "key")
    stack = DevStack(options, apps=[])
    for n in range(3):
        argv = started(tmp_path, f"host-{n}", SLOW, "grandchild" if n == 0 else "-")
        stack.hosts[f"h{n}"] = Child(f"host-{n}", argv, {})
        stack.hosts[f"h{n}"].start()
    stack.fakes["pos"] = Child("fake-pos", started(tmp_path, "fake-pos", SLOW), {})
    stack.fakes["pos"].start()
    for spec in (emu.PUBSUB, emu.FIRESTORE):
        process = subprocess.Popen(started(tmp_path, spec.name, SLOW), start_new_session=True)
        stack.emulators[spec.name] = emu.RunningEmulator(spec, "127.0.0.1:1", process)
    groups = list(stack.groups().values())
    assert len(groups) == 6
    wait_ready(tmp_path, 6)

    began = time.monotonic()
    stack.stop()
    took = time.monotonic() - began

    # one after another it took 6 x SLOW_EXIT_S; side by side the hosts and fakes, then
    # the emulators
    assert took < 3.5 * SLOW_EXIT_S, f"stopping took {took:.1f} s"
    assert group_members(groups) == []


def test_stragglers_share_one_grace_period(tmp_path: Path) -> None:
    processes = [
        subprocess.Popen(started(tmp_path, f"stubborn-{n}", STUBBORN), start_new_session=True)
        for n in range(3)
    ]
    wait_ready(tmp_path, 3)
    began = time.monotonic()
    stop_groups(processes, timeout_s=1.0)
    took = time.monotonic() - began
    assert all(p.returncode is not None for p in processes)
    assert 1.0 <= took < 2.5, f"stopping took {took:.1f} s"
    assert group_members([p.pid for p in processes]) == []


def test_stopping_returns_only_once_no_process_of_the_groups_lives_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process killed with SIGKILL ends a moment after the signal: `dev` says "every
    # process the stack started has exited" right after stop_groups returns.
    process = subprocess.Popen(started(tmp_path, "quick", SLOW), start_new_session=True)
    wait_ready(tmp_path, 1)
    looks: list[list[int]] = []
    dying = [[(process.pid + 1, process.pid, "python3")]] * 2  # a grandchild, seen twice

    def members(pgids: list[int]) -> list[tuple[int, int, str]]:
        looks.append(list(pgids))
        return dying.pop() if dying else group_members(pgids)

    try:
        monkeypatch.setattr("devstack.processes.group_members", members)
        stop_groups([process], timeout_s=5.0)
    finally:
        signal_group(process.pid, signal.SIGKILL)  # nothing left, whatever failed

    assert looks == [[process.pid]] * 3  # twice still there, then gone
