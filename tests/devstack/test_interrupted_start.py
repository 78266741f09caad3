"""Ctrl-C while the stack starts: every emulator, fake and host started is stopped, and it is
a Ctrl-C.

The emulators start side by side on threads. Ctrl-C came to the command while it waited
for the first one: it was taken for that emulator's failure ("an emulator did not
start: ", exit 2), the command waited for the others to answer, and an emulator that
answered after the interrupt was never stopped by the stack (only by its tether, after
the command had said every process had exited).
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devstack import stack as stack_module
from devstack.layout import FAKES, Ports
from devstack.processes import STOP_TIMEOUT_S, Child
from devstack.stack import DevOptions, DevStack
from shared import emulators as emu
from shared import tether
from shared.procfs import group_members


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


SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
"""Stands for a fake or a host: a process that runs until it is stopped."""


@pytest.mark.parametrize("part", ["fake", "host"])
def test_ctrl_c_just_after_a_fake_or_host_started_stops_it_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: str
) -> None:
    """The stack learnt of a child only once its start had returned: a Ctrl-C in between
    left it to its tether, after the command had said every process had exited."""
    monkeypatch.setattr(stack_module, "fake_argv", lambda *args: SLEEPER)
    monkeypatch.setattr(stack_module, "host_args", lambda *args: SLEEPER[1:])
    started: list[int] = []
    start = Child.start

    def start_then_ctrl_c(child: Child) -> None:
        start(child)
        started.append(child.pid)
        raise KeyboardInterrupt  # the moment the start returned

    monkeypatch.setattr(Child, "start", start_then_ctrl_c)
    stack = DevStack(DevOptions(Ports(0, 0, 0, {}, {}), tmp_path, tmp_path / "k.pem"), apps=[])
    try:
        if part == "fake":
            for name in FAKES:
                stack._listen(f"fake-{name}", 0)
            with pytest.raises(KeyboardInterrupt):
                stack._start_fakes(Ports(0, 0, 0, dict.fromkeys(FAKES, 0), {}))
        else:
            stack._listen("host-order", 0)
            with pytest.raises(KeyboardInterrupt):
                stack._start_host("order", {})
        stack.stop()
        left = group_members(started)
    finally:
        for pid, _, _ in group_members(started):  # never leave anything behind
            os.kill(pid, signal.SIGKILL)
    assert len(started) == 1
    assert left == [], f"the {part} started just before the Ctrl-C was left running: {left}"


def test_ctrl_c_as_the_last_emulator_start_is_handed_out_stops_every_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that came while the starts were being handed to their threads was not
    taken for one: no start was cancelled, none that started was the stack's to stop."""
    starts = SlowStarts()
    monkeypatch.setattr(emu, "start", starts)

    class CtrlCAfterTheLastSubmit(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            future = super().submit(fn, *args, **kwargs)
            if args and args[0] is emu.FIRESTORE:
                assert starts.firestore_starting.wait(30)
                raise KeyboardInterrupt  # just as its start was handed out
            return future

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", CtrlCAfterTheLastSubmit)
    stack = DevStack(DevOptions(Ports(0, 0, 0, {}, {}), tmp_path, tmp_path / "k.pem"), apps=[])
    with pytest.raises(KeyboardInterrupt):
        stack._start_emulators(Ports(0, 0, 0, {}, {}), [emu.PUBSUB, emu.FIRESTORE])
    stack.stop()
    assert sorted(e.spec.name for e in starts.started) == ["firestore", "pubsub"]
    assert [e.spec.name for e in starts.started if not e.stopped] == []


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # as `fooddelivery dev` takes SIGTERM


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_inside_the_start_of_a_child_stops_it_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    """A signal whose handler raised inside ``Popen``, after the fork, left a child that its
    start never returned, so the stack did not know it: left to its tether, after the
    command had said every process had exited."""
    monkeypatch.setattr(stack_module, "host_args", lambda *args: SLEEPER[1:])
    spawned: list[int] = []
    popen = tether.popen

    def popen_then_signal(argv: list[str], **kwargs: Any) -> Any:
        process = popen(argv, **kwargs)
        spawned.append(process.pid)
        signal.raise_signal(sig)  # the child runs; its start has not returned yet
        return process

    monkeypatch.setattr(tether, "popen", popen_then_signal)
    handlers = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: _interrupt}
    previous = {s: signal.signal(s, handler) for s, handler in handlers.items()}
    stack = DevStack(DevOptions(Ports(0, 0, 0, {}, {}), tmp_path, tmp_path / "k.pem"), apps=[])
    try:
        stack._listen("host-order", 0)
        with pytest.raises(KeyboardInterrupt):
            stack._start_host("order", {})
        assert {s: signal.getsignal(s) for s in handlers} == handlers
        stack.stop()
        left = group_members(spawned)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for pid, _, _ in group_members(spawned):  # never leave anything behind
            os.kill(pid, signal.SIGKILL)
    assert len(spawned) == 1
    assert left == [], f"the child started as {sig.name} came was left running: {left}"


def test_a_child_is_started_with_no_signal_blocked(tmp_path: Path) -> None:
    """Holding the signals during a start must not block them in the child: it would not
    stop on SIGTERM (a child inherits the signal mask)."""
    child = Child("host-order", SLEEPER, {})
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    child.start()
    try:
        status = Path(f"/proc/{child.pid}/status").read_text(encoding="utf-8")
        [blocked] = [line.split()[1] for line in status.splitlines() if line.startswith("SigBlk")]
        assert int(blocked, 16) & (1 << (signal.SIGINT - 1) | 1 << (signal.SIGTERM - 1)) == 0
        assert {s: signal.getsignal(s) for s in before} == before
    finally:
        began = time.monotonic()
        child.stop()
    assert time.monotonic() - began < STOP_TIMEOUT_S, "SIGTERM did not stop the child"
    assert group_members([child.pid]) == []
