"""An emulator whose port another process takes first comes up on another port, or fails clearly.

The emulators take no inherited socket, so their port is picked before they
start and, on a busy machine, another process can take it while gcloud and the
JVM start. Here a thief (:mod:`tests.integration.port_thief`) takes the port in
that moment every time.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import emulators, tether
from shared.emulators import PUBSUB, STORAGE, EmulatorError, EmulatorSpec, RunningEmulator
from shared.procfs import Owner, group_pids, owner
from tests.integration.port_thief import PortThief

pytestmark = pytest.mark.emulator


@pytest.fixture
def thief(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[PortThief]:
    """A thief on every emulator start of the test (``how`` from indirect parametrization)."""
    thief = PortThief(getattr(request, "param", "listens"))
    monkeypatch.setattr(tether, "popen", thief.wrap(tether.popen))
    for spec in emulators.ALL:  # the test's own emulators, not the session's
        monkeypatch.delenv(spec.env_var, raising=False)
    yield thief
    thief.release()


def port_of(emulator: RunningEmulator) -> int:
    return int(emulator.host_port.rsplit(":", 1)[1])


def answers(emulator: RunningEmulator) -> bool:
    try:
        with urllib.request.urlopen(emulator.url + emulator.spec.ready_path, timeout=5) as got:
            return bool(got.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def gone(pgid: int, timeout_s: float = 10.0) -> bool:
    """Whether every process of group ``pgid`` has exited (within ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while group_pids(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not group_pids(pgid)


@pytest.mark.parametrize(
    ("spec", "thief"),
    [
        (STORAGE, "listens"),
        (STORAGE, "answers"),  # it must not be taken for the emulator
        (STORAGE, "binds"),  # not listening: only the emulator's log tells
        (PUBSUB, "listens"),
    ],
    ids=["storage-listens", "storage-answers", "storage-binds", "pubsub-listens"],
    indirect=["thief"],
)
def test_an_emulator_whose_picked_port_is_taken_comes_up_on_another(
    spec: EmulatorSpec, thief: PortThief, tmp_path: Path
) -> None:
    emulator = emulators.start(spec, log_dir=tmp_path, timeout_s=30)
    try:
        stolen, port = thief.stolen[spec.name], port_of(emulator)
        assert thief.ports_started(spec.name) == [stolen, port]  # lost one port, then came up
        assert port != stolen
        assert emulator.process is not None
        assert owner(port, emulator.process.pid) is Owner.GROUP
        assert answers(emulator), f"the {spec.name} emulator does not answer at {emulator.url}"
        assert thief.holds(stolen)
        _, _, loser = thief.starts[0]
        assert gone(loser.pid), f"the emulator that lost port {stolen} still runs"
    finally:
        emulator.stop()


@pytest.mark.parametrize("thief", ["listens", "answers"], indirect=True)
def test_a_given_port_another_process_takes_fails_at_once_and_names_the_port(
    thief: PortThief, tmp_path: Path
) -> None:
    port = emulators.free_port()
    began = time.monotonic()
    with pytest.raises(EmulatorError) as refused:
        emulators.start(STORAGE, port, log_dir=tmp_path, timeout_s=30)
    assert time.monotonic() - began < 10, "it waited for an answer"
    assert str(refused.value) == (
        f"port {port} for the storage emulator is in use by another process: stop what "
        "listens there, or choose another port (or none, to have a free one picked)"
    )
    assert thief.ports_started("storage") == [port]  # not started again on another port
    assert thief.holds(port)
    assert gone(thief.starts[0][2].pid)


def test_a_given_port_already_taken_is_refused_before_anything_starts(
    thief: PortThief, tmp_path: Path
) -> None:
    port = emulators.free_port()
    thief.take(port)
    with pytest.raises(EmulatorError, match=f"port {port} for the storage emulator is in use"):
        emulators.start(STORAGE, port, log_dir=tmp_path)
    assert thief.starts == []


def test_an_emulator_that_keeps_losing_its_port_gives_up_after_a_few_ports(
    thief: PortThief, tmp_path: Path
) -> None:
    thief.every_start = True
    with pytest.raises(EmulatorError) as refused:
        emulators.start(STORAGE, log_dir=tmp_path, timeout_s=30)
    ports = thief.ports_started("storage")
    assert len(ports) == emulators.PICK_ATTEMPTS == len(set(ports))
    assert str(refused.value).startswith(
        f"the storage emulator did not start on any of {emulators.PICK_ATTEMPTS} free ports ("
    )
    assert all(f"took port {port} of the storage emulator" in str(refused.value) for port in ports)
    assert all(gone(process.pid) for _, _, process in thief.starts)
