"""A tethered process group does not outlive its parent, even one killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from shared import tether

PARENT = """
import time
from shared import tether
child = tether.popen(["sh", "-c", "sleep 60 & sleep 60"])
print(child.pid, flush=True)
time.sleep(60)
"""


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pgid: int, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return True
        time.sleep(0.1)
    return False


def test_the_group_is_stopped_when_the_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pgid = int(parent.stdout.readline())
    try:
        time.sleep(0.5)
        assert group_alive(pgid)  # the command (and what it forked) runs while the parent lives
        parent.kill()
        parent.wait()
        assert wait_gone(pgid), "the tethered group outlived its parent"
    finally:
        if group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)


def test_the_command_keeps_the_pid_and_its_exit_code() -> None:
    child = tether.popen(["sh", "-c", "echo $$; exit 3"], stdout=subprocess.PIPE)
    started = time.monotonic()
    out, _ = child.communicate(timeout=15)
    assert child.returncode == 3
    assert int(out) == child.pid
    assert time.monotonic() - started < 0.9  # the watcher holds none of the command's output


def test_the_command_gets_the_default_signal_dispositions() -> None:
    child = tether.popen(["sh", "-c", "yes | head -1"], stderr=subprocess.PIPE)
    _, err = child.communicate(timeout=15)
    assert child.returncode == 0
    assert err == b""  # SIGPIPE ends `yes` quietly, as it would without the tether


def test_the_group_lives_on_while_the_parent_does() -> None:
    child = tether.popen(["sleep", "60"])
    try:
        time.sleep(1.5)  # longer than a watcher's poll
        assert child.poll() is None and group_alive(child.pid)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)


def test_a_command_that_cannot_start_exits_127_with_a_message() -> None:
    child = tether.popen(["/nonexistent/tool"], stderr=subprocess.PIPE)
    _, err = child.communicate(timeout=15)
    assert child.returncode == 127
    assert b"cannot start /nonexistent/tool" in err


def test_a_bad_command_line_gets_usage_and_a_non_zero_exit() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shared.tether", "not-a-fd"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "usage: python -m shared.tether FD -- COMMAND" in done.stderr
