"""No other process can take a port the stack picked before the server meant for it listens.

A busy CI machine once gave a host's port to another process between the stack
choosing it and the host starting on it; the stack never got ready. Here a
thief takes whatever port it can where the stack used to leave one open: the
port a server is told to serve on, just before it starts, the hosts' ports
while the push subscriptions naming them are provisioned, and a host's port
while the host is down for a restart.
"""

from __future__ import annotations

import os
import signal
import socket
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.layout import HOST, Ports
from devstack.processes import Child
from devstack.provisioning import provision
from devstack.stack import DevOptions, DevStack
from tests.devstack.conftest import EMULATOR_VARS, eventually, require_emulators

pytestmark = pytest.mark.emulator


class Thief:
    """Another process on the machine: listens on every port it can get of those it tries."""

    def __init__(self) -> None:
        self.tried: list[int] = []
        self.taken: list[socket.socket] = []

    def take(self, ports: Iterable[int]) -> None:
        for port in ports:
            self.tried.append(port)
            sock = socket.socket()
            try:
                sock.bind((HOST, port))
                sock.listen()
            except OSError:
                sock.close()
            else:
                self.taken.append(sock)

    @property
    def ports(self) -> list[int]:
        """The ports it got."""
        return [sock.getsockname()[1] for sock in self.taken]

    def release(self) -> None:
        for sock in self.taken:
            sock.close()


def port_of(base_url: str) -> int:
    port = urllib.parse.urlsplit(base_url).port
    assert port is not None, base_url
    return port


def port_on_command_line(argv: list[str]) -> list[int]:
    """The port a server is told to serve on: ``--port N``, or that of ``--listen-fd FD``."""
    if "--port" in argv:
        port = int(argv[argv.index("--port") + 1])
        return [port] if port else []
    if "--listen-fd" in argv:
        fd = int(argv[argv.index("--listen-fd") + 1])
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as inherited:  # a dup
            return [inherited.getsockname()[1]]
    return []


def serves(base_url: str, subsystem: str) -> bool:
    """Whether ``subsystem``'s host (and nothing else) answers at ``base_url``."""
    try:
        health = requests.get(f"{base_url}/healthz", timeout=2)
    except requests.RequestException:
        return False
    return health.ok and health.json().get("subsystem") == subsystem


@pytest.fixture
def thief() -> Iterator[Thief]:
    thief = Thief()
    yield thief
    thief.release()


@pytest.fixture
def dev_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DevStack]:
    """A stack on free ports in this process, not started yet; stopped after the test."""
    require_emulators()
    for var in EMULATOR_VARS:  # its own emulators, as `fooddelivery dev` in a fresh shell
        monkeypatch.delenv(var, raising=False)
    options = DevOptions(
        ports=Ports(0, 0, 0, {}, {}),
        state_dir=tmp_path,
        dev_key=tmp_path / "dev-key.pem",
        lake=False,
        host_logs_to_files=True,
    )
    dev = DevStack(options)
    yield dev
    dev.stop()


def test_no_server_of_the_stack_loses_its_port_to_another_process(
    dev_stack: DevStack, thief: Thief, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_child = Child.start

    def steal_then_start(child: Child) -> None:
        thief.take(port_on_command_line(child.argv))
        start_child(child)

    def steal_then_provision(apps: Any, hosts: dict[str, str], **kwargs: Any) -> None:
        thief.take(port_of(base) for base in hosts.values())
        provision(apps, hosts, **kwargs)

    monkeypatch.setattr(Child, "start", steal_then_start)
    monkeypatch.setattr("devstack.stack.provision", steal_then_provision)

    manifest = dev_stack.start()

    servers = [*manifest.hosts.values(), *manifest.fakes.values()]
    assert set(thief.tried) >= {port_of(base) for base in servers}
    assert thief.ports == [], "the thief got a port the stack had picked"
    for name, base in manifest.hosts.items():
        assert serves(base, name), f"the {name} host does not answer at {base}"
    for name, base in manifest.fakes.items():
        assert requests.get(f"{base}/healthz", timeout=2).ok, f"the fake {name} at {base}"


def test_a_host_restarts_on_its_port_though_another_process_wanted_it(
    dev_stack: DevStack, thief: Thief
) -> None:
    manifest = dev_stack.start()
    order = dev_stack.hosts["order"]
    os.kill(order.pid, signal.SIGKILL)
    assert order.process is not None
    order.process.wait(10)

    thief.take([port_of(manifest.hosts["order"])])  # while nothing serves there
    dev_stack.supervise()

    assert order.restarts == 1
    assert thief.ports == [], "the thief got the port of a host being restarted"
    eventually(lambda: serves(manifest.hosts["order"], "order"), timeout_s=60)
