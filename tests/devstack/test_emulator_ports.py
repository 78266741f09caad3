"""The stack's emulators: a port the user did not give is picked, and picked again if taken.

An emulator takes no socket from the stack, so its port can be taken by another
process while it starts; :func:`shared.emulators.start` then starts it on another
port, and everything the stack hands out (the functions' environment, the
manifest, provisioning) names the port it runs on. A port the user gave is
used as given, or refused.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.layout import Ports
from devstack.stack import DevOptions, DevStack
from shared import emulators, tether
from tests.devstack.conftest import EMULATOR_VARS, require_emulators
from tests.integration.port_thief import PortThief


def options(tmp_path: Path, ports: Ports) -> DevOptions:
    return DevOptions(
        ports=ports,
        state_dir=tmp_path,
        dev_key=tmp_path / "dev-key.pem",
        host_logs_to_files=True,
    )


@pytest.fixture
def thief(monkeypatch: pytest.MonkeyPatch) -> Iterator[PortThief]:
    thief = PortThief()
    monkeypatch.setattr(tether, "popen", thief.wrap(tether.popen))
    yield thief
    thief.release()


@pytest.mark.emulator
def test_the_stack_runs_on_the_ports_its_emulators_got_when_theirs_were_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, thief: PortThief
) -> None:
    require_emulators()
    for var in EMULATOR_VARS:  # its own emulators, as `fooddelivery dev` in a fresh shell
        monkeypatch.delenv(var, raising=False)
    dev = DevStack(options(tmp_path, Ports(0, 0, 0, {}, {})))
    try:
        manifest = dev.start()  # provisions Pub/Sub and creates the lake bucket on them
        assert set(thief.stolen) == {"pubsub", "firestore", "storage"}
        for name, emulator in dev.emulators.items():
            stolen = thief.stolen[name]
            port = int(emulator.host_port.rsplit(":", 1)[1])
            assert thief.ports_started(name) == [stolen, port]
            assert manifest.env[emulator.spec.env_var] == emulator.env_value
            assert f":{stolen}" not in manifest.env[emulator.spec.env_var]
            with urllib.request.urlopen(emulator.url + emulator.spec.ready_path) as answer:
                assert answer.status == 200, name
            assert thief.holds(stolen)
    finally:
        dev.stop()


def test_the_user_s_emulator_ports_are_used_as_given_and_the_others_left_to_pick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: dict[str, int | None] = {}

    def start(spec: emulators.EmulatorSpec, port: int | None, **kwargs: Any) -> Any:
        asked[spec.name] = port
        return emulators.RunningEmulator(spec, f"{emulators.HOST}:{port or 1}")

    monkeypatch.setattr(emulators, "start", start)
    for var in EMULATOR_VARS:
        monkeypatch.delenv(var, raising=False)
    given = Ports(emulators.free_port(), 0, emulators.free_port(), {}, {})
    dev = DevStack(options(tmp_path, given))
    try:
        ports = dev._resolve_ports(list(emulators.ALL))
        assert (ports.pubsub, ports.firestore, ports.storage) == (given.pubsub, 0, given.storage)
        dev._start_emulators(ports, list(emulators.ALL))
    finally:
        dev.stop()
    assert asked == {"pubsub": given.pubsub, "firestore": None, "storage": given.storage}


def test_an_emulators_data_left_by_a_stack_killed_outright_is_removed_at_the_next_start(
    tmp_path: Path,
) -> None:
    left = tmp_path / "pubsub-emulator-left"
    (left / "data").mkdir(parents=True)
    other = tmp_path / "firestore-emulator-running"
    other.mkdir()

    fresh = emulators._data_dir(emulators.PUBSUB, tmp_path)

    assert not left.exists()
    assert other.exists()  # another emulator's
    assert Path(fresh.name).parent == tmp_path
    fresh.cleanup()
