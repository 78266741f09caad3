"""The package's helper for a stack that never gets ready leaves none of its processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shared.procfs import group_members
from tests.devstack import conftest
from tests.devstack.conftest import DevProcess, wait_ready

NEVER_READY = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print("child started", flush=True)
time.sleep(120)
"""
"""A command that starts a child in its own process group and never prints READY."""


def test_a_command_that_never_gets_ready_is_stopped_with_its_whole_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conftest, "READY_TIMEOUT_S", 0.5)
    process = subprocess.Popen(
        [sys.executable, "-c", NEVER_READY],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "child started\n"
        with pytest.raises(pytest.fail.Exception, match="did not get ready"):
            wait_ready(DevProcess(process, tmp_path))
        left = group_members([process.pid])
    finally:
        for pid, _, _ in group_members([process.pid]):  # never leave anything behind
            os.kill(pid, signal.SIGKILL)
        process.wait(10)
    assert left == [], f"processes left behind: {left}"
