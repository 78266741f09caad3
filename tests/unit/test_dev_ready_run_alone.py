"""READY's "run one function alone" example names functions of the system that runs.

It served and routed ``order``'s ``lifecycle_control_collector`` whatever was registered,
so in a copy of the template without ``order`` both commands failed as shown. It shows the
first BFF API and the first listener of the first subsystem that has one.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from devstack import command
from devstack.layout import Manifest
from shared.runtime.app import SubsystemApp
from shared.sample import alpha, beta
from shared.system import load_subsystems
from shared.topology.model import Consumer, Endpoint, Role, ServiceKind

SAMPLE = [alpha.APP, beta.APP]


def a_manifest(apps: list[SubsystemApp[Any]]) -> Manifest:
    base = "http://127.0.0.1:8711"
    endpoints = {
        fn.target(s): f"{base}/{fn.target(s)}" for a in apps for s, fn in a.topology.endpoints()
    }
    return Manifest({a.name: base for a in apps}, {}, endpoints, {}, "key.pem")


def alone(apps: list[SubsystemApp[Any]], tmp_path: Path) -> list[list[str]]:
    """The commands under "Run one function alone", each split as the shell would."""
    lines = command.banner(a_manifest(apps), 1.0, tmp_path, apps=apps).splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("Run one function alone"))
    end = next(n for n, line in enumerate(lines) if line.startswith("Mint a token"))
    return [shlex.split(line) for line in lines[start + 1 : end] if not line.startswith("  and")]


def served(commands: list[list[str]]) -> list[tuple[str, str]]:
    """(source, target) of each functions-framework command."""
    return [
        (c[c.index("--source") + 1], c[c.index("--target") + 1])
        for c in commands
        if "--source" in c
    ]


def test_a_system_without_order_shows_its_own_bff_and_listener(tmp_path: Path) -> None:
    commands = alone(SAMPLE, tmp_path)
    assert served(commands) == [
        ("alpha/main.py", "cart_bff_api"),
        ("alpha/main.py", "cart_bff_listener"),
    ]
    route = next(c for c in commands if "devstack.route" in c)
    assert route[route.index("devstack.route") + 1 :][:3] == [
        "alpha",
        "cart_bff_listener",
        "http://127.0.0.1:8091",
    ]
    assert not any(part in ("order", "order/main.py") for c in commands for part in c)


def test_the_demo_s_example_is_a_bff_and_a_listener_of_a_registered_subsystem(
    tmp_path: Path,
) -> None:
    apps = {app.name: app for app in load_subsystems()}
    commands = alone(list(apps.values()), tmp_path)
    (bff_source, bff), (listener_source, listener) = served(commands)
    route = next(c for c in commands if "devstack.route" in c)
    subsystem = route[route.index("devstack.route") + 1]
    assert (bff_source, listener_source) == (f"{subsystem}/main.py", f"{subsystem}/main.py")
    assert Path(bff_source).exists()  # the tests run from the project's root
    service, fn = apps[subsystem].topology.find(bff)
    assert isinstance(fn, Endpoint) and service.kind is ServiceKind.BFF
    _, fn = apps[subsystem].topology.find(listener)
    assert isinstance(fn, Consumer) and fn.role is Role.LISTENER


def test_a_system_with_no_bff_nor_subscription_shows_no_example(tmp_path: Path) -> None:
    assert command.run_alone([], "source env.sh", []) == []
