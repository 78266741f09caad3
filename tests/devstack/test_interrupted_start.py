"""Ctrl-C while the emulators start: every emulator started is stopped, and it is a Ctrl-C.

The emulators start side by side on threads. Ctrl-C came to the command while it waited
for the first one: it was taken for that emulator's failure ("an emulator did not
start: ", exit 2), the command waited for the others to answer, and an emulator that
answered after the interrupt was never stopped by the stack (only by its tether, after
the command had said every process had exited).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devstack.layout import Ports
from devstack.stack import DevOptions, DevStack
from shared import emulators as emu


class FakeEmulator:
    """What :func:`shared.emulators.start` returns, minus the process."""

    def __init__(self, spec: emu.EmulatorSpec) -> None:
        self.spec, self.stopped = spec, False
        self.env_value = "127.0.0.1:1"
        self.process = None

    def stop(self) -> None:
        self.stopped = True


class SlowStarts:
    """Pub/Sub answers at once; Firestore takes 3 s to answer, or stops when cancelled."""

    def __init__(self) -> None:
        self.started: list[FakeEmulator] = []
        self.lock = threading.Lock()
        self.firestore_starting = threading.Event()
        """Set once Firestore's start is under way (the moment for the Ctrl-C)."""

    def __call__(self, spec: emu.EmulatorSpec, port: Any = None, **kwargs: Any) -> FakeEmulator:
        emulator = FakeEmulator(spec)
        with self.lock:
            self.started.append(emulator)
        if spec is emu.FIRESTORE:
            cancel = kwargs.get("cancel")
            self.firestore_starting.set()
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                if cancel is not None and cancel.is_set():
                    emulator.stop()  # as emu.start stops what it started
                    raise emu.EmulatorError("the firestore emulator's start was cancelled")
                time.sleep(0.01)
        return emulator


def test_ctrl_c_while_the_emulators_start_stops_every_one_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts = SlowStarts()
    monkeypatch.setattr(emu, "start", starts)
    stack = DevStack(DevOptions(Ports(0, 0, 0, {}, {}), tmp_path, tmp_path / "k.pem"), apps=[])
    interrupted_at: list[float] = []

    def ctrl_c_while_firestore_starts() -> None:
        if starts.firestore_starting.wait(30):  # not a fixed delay: on a busy machine the
            # starts may not have begun by then, and a Ctrl-C before them proves nothing
            interrupted_at.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    ctrl_c = threading.Thread(target=ctrl_c_while_firestore_starts, daemon=True)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ctrl_c.start()
        # WHEN Ctrl-C comes while Firestore is still starting
        with pytest.raises(KeyboardInterrupt):
            stack._start_emulators(Ports(0, 0, 0, {}, {}), [emu.PUBSUB, emu.FIRESTORE])
        # THEN the command hears a Ctrl-C (above), without waiting for Firestore to answer
        heard_at = time.monotonic()
        assert interrupted_at, "Firestore's start never began"
        assert heard_at - interrupted_at[0] < 2
    finally:
        signal.signal(signal.SIGINT, previous)
    # AND after the stack stops, no emulator that started is left running
    stack.stop()
    assert sorted(e.spec.name for e in starts.started) == ["firestore", "pubsub"]  # side by side
    assert all(e.stopped for e in starts.started)
