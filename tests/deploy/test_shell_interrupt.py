"""Ctrl-C during a command the deploy runs waits for it, as Terraform stops gracefully."""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

from shared.deploy import tools
from shared.deploy.tfvars import DeployError


def interrupt_soon(after_s: float = 0.3) -> threading.Timer:
    """SIGINT this process (as Ctrl-C would) while the command runs."""
    timer = threading.Timer(after_s, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_an_interrupted_command_is_waited_for_not_killed(tmp_path):
    # Terraform, interrupted, finishes what it started and writes its state: a kill would
    # leave resources created but unrecorded, and the state locked.
    done = tmp_path / "state-written"
    script = f"import time, pathlib; time.sleep(1.2); pathlib.Path({str(done)!r}).touch()"
    timer = interrupt_soon()
    try:
        code = tools.Shell().run([sys.executable, "-c", script])
    except KeyboardInterrupt:
        pytest.fail("the interrupt killed the command instead of waiting for it")
    finally:
        timer.cancel()
    assert done.exists()
    assert code == tools.INTERRUPTED


def test_an_interrupted_apply_fails_saying_so(tmp_path):
    class Interrupted(tools.Shell):
        def run(self, argv):
            return tools.INTERRUPTED

    with pytest.raises(DeployError, match="`terraform apply` was interrupted: dev may be"):
        tools.check(Interrupted(), ["terraform", "apply"], "dev may be partly updated")
