"""How the stack starts each of its children: their command lines and environments.

Every child is this interpreter running a module: a third-party fake
(:data:`~devstack.layout.FAKE_MODULES`) or a subsystem's host
(:mod:`devstack.host`), each serving on a listening socket it inherits. The
hosts run with the environment every function needs (:func:`function_env`),
which is also what ``env.sh`` exports.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.layout import ENV, FAKE_KEYS, FAKE_MODULES, LAKE_BUCKET, Ports, project_of, url
from devstack.third_parties import fake_settings
from shared.settings import PREFIX

if TYPE_CHECKING:
    from shared.emulators import RunningEmulator
    from shared.runtime.app import SubsystemApp


def fake_argv(name: str, listen_fd: int, auto_pos: float | None) -> list[str]:
    """The command line of fake ``name`` (payments, pos, push) serving on ``listen_fd``, with
    its keys (:data:`~devstack.layout.FAKE_KEYS`).

    ``auto_pos``: the fake point of sale answers by itself after this many seconds.
    """
    argv = [sys.executable, "-m", FAKE_MODULES[name], "--listen-fd", str(listen_fd)]
    for option, (_, value) in FAKE_KEYS[name].items():
        argv += [option, value]
    if name == "pos" and auto_pos is not None:
        argv += ["--auto-answer-s", str(auto_pos)]
    return argv


def host_args(name: str, listen: int | socket.socket, state_dir: Path, lake: bool) -> list[str]:
    """The interpreter's arguments that run ``name``'s host as the stack runs it.

    ``listen``: the port to listen on, or a listening socket the host inherits.
    """
    if isinstance(listen, socket.socket):
        where = ["--listen-fd", str(listen.fileno())]
    else:
        where = ["--port", str(listen)]
    args = ["-m", "devstack.host", name, *where, "--state-dir", str(state_dir)]
    if lake:
        args += ["--lake-bucket", LAKE_BUCKET]
    return args


def function_env(
    apps: Iterable[SubsystemApp[Any]],
    ports: Ports,
    dev_key: Path,
    emulators: Iterable[RunningEmulator],
    inherited: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment every function of the stack runs with (and ``env.sh`` exports).

    The fakes' URLs and keys are there for the third parties some function of ``apps``
    uses (:func:`~devstack.third_parties.fake_settings`). ``inherited`` (default: this
    process's environment) gives the settings a subsystem reads that the stack does not
    set itself (``FOODDELIVERY_PARTNER_URL``, exported before ``fooddelivery dev``): the
    hosts inherit them, and ``env.sh`` carries them too, so a function run alone after
    sourcing it has them as well. The stack's own values win.
    """
    given = os.environ if inherited is None else inherited
    env = {k: v for k, v in given.items() if k.startswith(PREFIX)}
    env |= {
        "FOODDELIVERY_MODE": "emulator",
        "FOODDELIVERY_ENV": ENV,
        "FOODDELIVERY_LOG_FORMAT": "text",
        "FOODDELIVERY_DEV_KEY": str(dev_key.resolve()),
    }
    apps = list(apps)
    env |= fake_settings(apps, ports.fakes, ports.hosts)
    for app in apps:
        env[f"FOODDELIVERY_PROJECT_{app.name.upper()}"] = project_of(app.name)
        # where `fooddelivery faults resubmit` hands a fault back to the function
        env[f"FOODDELIVERY_HOST_{app.name.upper()}"] = url(ports.hosts[app.name])
    for running in emulators:
        env[running.spec.env_var] = running.env_value
    return env


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus ``extra``, with unbuffered Python output."""
    return {**os.environ, **extra, "PYTHONUNBUFFERED": "1"}
