"""Start and stop the Google emulators, each in its own process group.

Used by ``fooddelivery dev`` and by the integration tests. ``gcloud ... start``
is a wrapper that forks a ``java`` child, so an emulator is stopped by
signalling its whole process group, never the wrapper alone.

An emulator takes no inherited socket and does not report the port it bound,
so its port is picked (:func:`free_port`) before it starts, and another process
may take the port in the seconds a JVM needs to start. Then the emulator does
not fail: Pub/Sub logs a ``BindException`` and runs on, Storage's server thread
dies and the process runs on, Firestore exits with code 0. So while waiting for
an emulator :func:`start` checks that the socket listening on its port belongs
to the emulator's process group (:mod:`shared.procfs`, Linux ``/proc``;
elsewhere that check is skipped) and that its log does not say the address was
in use. An emulator that lost its port is stopped and started again on another
free port, up to :data:`PICK_ATTEMPTS` times. A port the caller gave is never
swapped: losing it is an error that names it. An emulator that exits for any
other reason is broken, not unlucky: it fails at once, with the end of its log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shared import tether
from shared.exceptions import KitError
from shared.procfs import Owner, owner

HOST = "127.0.0.1"
PICK_ATTEMPTS = 3
"""How many free ports :func:`start` tries for an emulator before it gives up."""
PORT_IN_USE = b"Address already in use"
"""What each emulator logs when it cannot bind its port (Java's BindException, Python's OSError)."""
LOG_TAIL_LINES = 15
"""How much of a dead emulator's log its error shows."""
_log = logging.getLogger("fooddelivery.emulators")


class EmulatorError(KitError):
    """An emulator could not be started (missing tool, busy port, timeout)."""


class PortTaken(EmulatorError):
    """Another process listens on the port an emulator was started on."""

    def __init__(self, spec: EmulatorSpec, port: int) -> None:
        super().__init__(f"another process took port {port} of the {spec.name} emulator")
        self.port = port


class EmulatorExited(EmulatorError):
    """An emulator exited before it answered."""


@dataclass(frozen=True, slots=True)
class EmulatorSpec:
    """How to start one emulator and which environment variable points clients at it."""

    name: str
    env_var: str
    ready_path: str
    requires: tuple[str, ...]

    def command(self, port: int, data_dir: Path) -> list[str]:
        """The command line that starts the emulator on ``port``."""
        if self.name == "pubsub":
            return [
                "gcloud",
                "beta",
                "emulators",
                "pubsub",
                "start",
                f"--host-port={HOST}:{port}",
                f"--data-dir={data_dir}",
                "--quiet",
            ]
        if self.name == "firestore":
            return [
                "gcloud",
                "emulators",
                "firestore",
                "start",
                f"--host-port={HOST}:{port}",
                "--quiet",
            ]
        return [
            sys.executable,
            "-m",
            "gcp_storage_emulator",
            "start",
            "--host",
            HOST,
            "--port",
            str(port),
            "--in-memory",
            "--quiet",
        ]


PUBSUB = EmulatorSpec("pubsub", "PUBSUB_EMULATOR_HOST", "/", ("gcloud", "java"))
FIRESTORE = EmulatorSpec("firestore", "FIRESTORE_EMULATOR_HOST", "/", ("gcloud", "java"))
STORAGE = EmulatorSpec("storage", "STORAGE_EMULATOR_HOST", "/storage/v1/b?project=local", ())
ALL = (PUBSUB, FIRESTORE, STORAGE)


@dataclass
class RunningEmulator:
    """An emulator this process started (``process`` set) or found already running."""

    spec: EmulatorSpec
    host_port: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _data_dir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The emulator's base URL."""
        return f"http://{self.host_port}"

    @property
    def env_value(self) -> str:
        """The value of the emulator's ``*_EMULATOR_HOST`` variable.

        google-cloud-storage expects a URL there; Pub/Sub and Firestore a bare host:port.
        """
        return self.url if self.spec is STORAGE else self.host_port

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the emulator's whole process group (no-op for one we did not start)."""
        if self.process is not None and self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait(timeout_s)
        if self.process is not None:
            # the java child may outlive the wrapper: sweep the group once more
            _signal_group(self.process, signal.SIGKILL)
        if self._data_dir is not None:
            self._data_dir.cleanup()
            self._data_dir = None


def missing_tools(specs: tuple[EmulatorSpec, ...] = ALL) -> list[str]:
    """Executables the given emulators need that are not on PATH."""
    return sorted({tool for s in specs for tool in s.requires if shutil.which(tool) is None})


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True when nothing listens on ``port`` on the loopback interface.

    Connections of a server that just stopped linger in TIME_WAIT; they do not
    stop a new server from listening (servers set ``SO_REUSEADDR``), so they do
    not make the port busy here either.
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


def start(
    spec: EmulatorSpec,
    port: int | None = None,
    *,
    log_dir: Path | None = None,
    timeout_s: float = 60.0,
    cancel: threading.Event | None = None,
) -> RunningEmulator:
    """Start ``spec`` on ``port`` (a free one if ``None``) and wait until it answers.

    ``cancel`` set while it waits stops the emulator it started and raises
    :class:`EmulatorError` (how a caller starting several at once on threads stops
    them all on Ctrl-C, without waiting for each to answer first).

    On a port it picked, an emulator that loses the port to another process is
    started again on another free port (:data:`PICK_ATTEMPTS` in all); the port it
    runs on is the returned emulator's ``host_port``. A given ``port`` that another
    process holds is an :class:`EmulatorError` at once, and so is an emulator that
    exits before it answers (:class:`EmulatorExited`, with the end of its log).
    An emulator already named by its ``*_EMULATOR_HOST`` variable is used as is.
    """
    existing = os.environ.get(spec.env_var)
    if existing:
        host_port = existing.split("://", 1)[-1].rstrip("/")
        if not listens(host_port):
            raise EmulatorError(
                f"{spec.env_var}={existing} is set, but nothing listens there: start that "
                f"emulator, or unset {spec.env_var} to have one started (a shell that "
                "sourced a stack's env.sh keeps its addresses after the stack stops)"
            )
        _wait_ready(spec, host_port, None, timeout_s, cancel=cancel)
        return RunningEmulator(spec, host_port)
    missing = missing_tools((spec,))
    if missing:
        raise EmulatorError(f"the {spec.name} emulator needs {', '.join(missing)} on PATH")
    if port is not None:
        try:
            return _start_on(spec, port, log_dir, timeout_s, cancel)
        except PortTaken as e:
            raise EmulatorError(
                f"port {port} for the {spec.name} emulator is in use by another process: "
                "stop what listens there, or choose another port (or none, to have a free "
                "one picked)"
            ) from e
    failures: list[str] = []
    for _ in range(PICK_ATTEMPTS):
        picked = free_port()
        try:
            return _start_on(spec, picked, log_dir, timeout_s, cancel)
        except PortTaken as e:
            failures.append(str(e))
            _log.warning("%s; starting it again on another port", e)
    raise EmulatorError(
        f"the {spec.name} emulator did not start on any of {PICK_ATTEMPTS} free ports "
        f"({'; '.join(failures)})"
    )


def _data_dir(spec: EmulatorSpec, log_dir: Path | None) -> tempfile.TemporaryDirectory[str]:
    """A fresh data directory for ``spec``: in ``log_dir`` when given, where one left by an
    emulator whose starter was killed outright is removed now, else in the system's temp."""
    prefix = f"{spec.name}-emulator-"
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        for left in log_dir.glob(f"{prefix}*"):
            if left.is_dir():
                shutil.rmtree(left, ignore_errors=True)
    return tempfile.TemporaryDirectory(prefix=prefix, dir=log_dir)


def _start_on(
    spec: EmulatorSpec,
    port: int,
    log_dir: Path | None,
    timeout_s: float,
    cancel: threading.Event | None = None,
) -> RunningEmulator:
    """Start ``spec`` on ``port``; raise :class:`PortTaken` when another process holds it."""
    if not port_is_free(port):
        raise PortTaken(spec, port)
    data_dir = _data_dir(spec, log_dir)
    log_path = Path(log_dir or data_dir.name) / f"{spec.name}-emulator.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = tether.popen(  # stops with this process, however it ends
            spec.command(port, Path(data_dir.name)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    running = RunningEmulator(spec, f"{HOST}:{port}", process, log_path, data_dir)
    try:
        _wait_ready(spec, running.host_port, process, timeout_s, log_path, cancel)
    except BaseException:
        running.stop()
        raise
    return running


@contextlib.contextmanager
def running(
    *specs: EmulatorSpec, log_dir: Path | None = None
) -> Iterator[dict[str, RunningEmulator]]:
    """Start ``specs`` one after another, export their ``*_EMULATOR_HOST``, stop them on exit."""
    started: dict[str, RunningEmulator] = {}
    saved = {s.env_var: os.environ.get(s.env_var) for s in specs}
    try:
        for spec in specs:
            started[spec.name] = start(spec, log_dir=log_dir)
            os.environ[spec.env_var] = started[spec.name].env_value
        yield started
    finally:
        for emulator in started.values():
            emulator.stop()
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def listens(host_port: str) -> bool:
    """Whether something accepts TCP connections at ``host:port`` (``[::1]:port`` too)."""
    try:
        address = urllib.parse.urlsplit(f"//{host_port}")
        with socket.create_connection((address.hostname or HOST, address.port or 80), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def _wait_ready(
    spec: EmulatorSpec,
    host_port: str,
    process: subprocess.Popen[bytes] | None,
    timeout_s: float,
    log_path: Path | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Wait until the emulator at ``host_port`` answers, or ``cancel`` is set.

    For an emulator this process started (``process``), only once the port is
    its own: raises :class:`PortTaken` as soon as another process holds it, and
    :class:`EmulatorExited` when it exits.
    """
    deadline = time.monotonic() + timeout_s
    url = f"http://{host_port}{spec.ready_path}"
    port = urllib.parse.urlsplit(url).port or 80
    while time.monotonic() < deadline:
        if cancel is not None and cancel.is_set():
            raise EmulatorError(f"the {spec.name} emulator's start was cancelled")
        if process is None or _may_answer(spec, port, process, log_path):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status < 500:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
        time.sleep(0.2)
    raise EmulatorError(
        f"the {spec.name} emulator at {host_port} did not answer in {timeout_s:.0f} s"
    )


def _may_answer(
    spec: EmulatorSpec, port: int, process: subprocess.Popen[bytes], log_path: Path | None
) -> bool:
    """Whether what answers on ``port`` can be the emulator ``process`` we started.

    False while nothing listens there yet; raises when it never will be.
    """
    listener = owner(port, process.pid, HOST)  # the process group's id is the leader's pid
    if listener is Owner.OTHER or (listener is not Owner.GROUP and _log_says_in_use(log_path)):
        raise PortTaken(spec, port)
    if process.poll() is not None:
        if _log_says_in_use(log_path):  # it exited since the log was read
            raise PortTaken(spec, port)
        raise EmulatorExited(
            f"the {spec.name} emulator exited with code {process.returncode} before it "
            f"answered; the end of its log:\n{_tail(log_path)}"
        )
    return listener is not Owner.NOBODY  # GROUP, or UNKNOWN: only its answer tells


def _tail(log_path: Path | None) -> str:
    """The last :data:`LOG_TAIL_LINES` lines of an emulator's log, indented."""
    try:
        lines = log_path.read_bytes().decode(errors="replace").splitlines() if log_path else []
    except OSError:
        lines = []
    shown = [f"  {line}" for line in lines[-LOG_TAIL_LINES:]]
    return "\n".join(shown) or "  (empty)"


def _log_says_in_use(log_path: Path | None) -> bool:
    """Whether the emulator logged that it could not bind its port."""
    try:
        return log_path is not None and PORT_IN_USE in log_path.read_bytes()
    except OSError:
        return False


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
