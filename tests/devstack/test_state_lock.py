"""One stack per state dir: the lock refuses a second one and dies with its holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.state_lock import StateDirBusy, StateDirLock

HOLD = """
import sys, time
from pathlib import Path
from devstack.state_lock import StateDirLock
StateDirLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_lock_on_a_state_dir_is_refused_naming_the_holder(tmp_path: Path) -> None:
    first = StateDirLock(tmp_path)
    first.acquire()
    with pytest.raises(StateDirBusy) as busy:
        StateDirLock(tmp_path).acquire()
    assert busy.value.pid == os.getpid()
    first.release()
    again = StateDirLock(tmp_path)
    again.acquire()
    assert again.held
    again.release()


def test_a_state_dir_whose_stack_was_killed_outright_is_free(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(StateDirBusy) as busy:
            StateDirLock(tmp_path).acquire()
        assert busy.value.pid == holder.pid
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    lock = StateDirLock(tmp_path)
    lock.acquire()  # no stale lock to clear by hand
    assert lock.held
    lock.release()
