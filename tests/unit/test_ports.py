"""Ports and emulator addresses: free when nothing listens, refused at once when named but dead."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared import tether
from shared.emulators import (
    HOST,
    PUBSUB,
    STORAGE,
    EmulatorError,
    EmulatorExited,
    EmulatorSpec,
    port_is_free,
    start,
)


def test_a_listening_port_is_busy() -> None:
    with socket.socket() as server:
        server.bind((HOST, 0))
        server.listen()
        assert not port_is_free(server.getsockname()[1])


def test_a_port_whose_server_just_stopped_is_free_though_its_connections_linger() -> None:
    # A stack stopped with Ctrl-C leaves its ports' closed connections in TIME_WAIT for
    # a minute; its servers may listen there again at once, so the stack may restart.
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as HTTP servers do
        server.bind((HOST, 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection((HOST, port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT
        client.close()
    assert port_is_free(port)


def test_an_emulator_named_by_the_environment_but_not_running_is_refused_at_once(
    monkeypatch,
) -> None:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"{HOST}:{port}")
    began = time.monotonic()
    with pytest.raises(EmulatorError) as refused:
        start(PUBSUB, timeout_s=60)
    assert time.monotonic() - began < 5
    assert f"PUBSUB_EMULATOR_HOST={HOST}:{port} is set, but nothing listens there" in str(
        refused.value
    )
    assert "unset PUBSUB_EMULATOR_HOST" in str(refused.value)


def test_an_emulator_named_by_an_ipv6_address_is_reached(monkeypatch) -> None:
    with socket.socket(socket.AF_INET6) as server:
        server.bind(("::1", 0))
        server.listen()
        port = server.getsockname()[1]
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"[::1]:{port}")
        with pytest.raises(EmulatorError) as refused:
            start(PUBSUB, timeout_s=1)  # something listens, but it is no emulator
    assert "did not answer" in str(refused.value)


@dataclass(frozen=True, slots=True)
class BrokenEmulator(EmulatorSpec):
    """An emulator that complains and exits before it answers, wherever it starts."""

    def command(self, port: int, data_dir: Path) -> list[str]:
        lines = [f"starting on {port}", *(f"noise {n}" for n in range(30)), "FATAL: no JDK"]
        script = f"print({chr(10).join(lines)!r}); raise SystemExit(3)"
        return [sys.executable, "-c", script]


def test_an_emulator_that_exits_on_its_own_is_started_once_and_shows_its_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(STORAGE.env_var, raising=False)
    started: list[list[str]] = []

    def popen(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        started.append(args)
        return real_popen(args, **kwargs)  # type: ignore[arg-type]

    real_popen = tether.popen
    monkeypatch.setattr(tether, "popen", popen)
    broken = BrokenEmulator("storage", STORAGE.env_var, "/", ())

    with pytest.raises(EmulatorExited) as failed:
        start(broken, log_dir=tmp_path, timeout_s=30)

    assert len(started) == 1, "a broken emulator was started again on another port"
    message = str(failed.value)
    assert message.startswith("the storage emulator exited with code 3 before it answered")
    assert message.endswith("  noise 29\n  FATAL: no JDK")
    assert "noise 15" not in message  # only the end of the log
