"""A busy port's message suggests only what would free it: ``--free-ports`` moves the ports
the user did not give, never one given with ``--pubsub-port`` and the like (and is no
advice to a command that passed it already)."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.command import options_from, register
from devstack.layout import FAKES, HOST_OFFSET
from devstack.stack import DevError, DevStack
from shared import emulators as emu
from shared.system import load_subsystems


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["dev", *argv])


def free_base() -> int:
    """A base port whose fakes' and hosts' ports are all free."""
    for _ in range(50):
        base = emu.free_port()
        wanted = [base + 1 + n for n in range(len(FAKES))]
        wanted += [base + HOST_OFFSET + n for n in range(len(load_subsystems()))]
        if all(port < 65536 and emu.port_is_free(port) for port in wanted):
            return base
    raise AssertionError("no free base port")


@pytest.fixture
def busy() -> Iterator[int]:
    """A port another process listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def refusal(tmp_path: Path, *argv: str) -> str:
    """The message of a stack started with ``argv`` that finds a port in use."""
    stack = DevStack(options_from(parse("--state-dir", str(tmp_path), *argv)))
    try:
        with pytest.raises(DevError) as refused:
            stack._resolve_ports(list(emu.ALL))
    finally:
        stack.stop()
    return str(refused.value)


def others(*names: str) -> list[str]:
    """Free ports for the emulators ``names``."""
    return [arg for name in names for arg in (f"--{name}-port", str(emu.free_port()))]


def test_a_busy_port_given_with_free_ports_is_not_answered_with_free_ports(
    tmp_path: Path, busy: int
) -> None:
    message = refusal(tmp_path, "--free-ports", "--pubsub-port", str(busy))

    assert message.startswith(f"port(s) already in use: {busy} (the Pub/Sub emulator). ")
    assert "--free-ports" not in message
    assert message.endswith("or give --pubsub-port another port")


def test_a_busy_port_the_user_gave_is_not_answered_with_free_ports(
    tmp_path: Path, busy: int
) -> None:
    argv = ["--base-port", str(free_base()), "--pubsub-port", str(busy)]
    message = refusal(tmp_path, *argv, *others("firestore", "storage"))

    assert "--free-ports" not in message
    assert message.endswith("or give --pubsub-port another port")


def test_a_busy_port_the_user_did_not_give_is_answered_with_free_ports(
    tmp_path: Path, busy: int
) -> None:
    message = refusal(
        tmp_path, "--base-port", str(busy - 1), *others("pubsub", "firestore", "storage")
    )

    assert f"{busy} (the fake payments)" in message.split(". ")[0]
    assert message.endswith("or pass --free-ports")


def test_free_ports_is_said_to_move_only_the_busy_ports_the_user_did_not_give(
    tmp_path: Path, busy: int
) -> None:
    with socket.socket() as also:
        also.bind(("127.0.0.1", 0))
        also.listen()
        argv = ["--base-port", str(busy - 1), "--pubsub-port", str(also.getsockname()[1])]
        message = refusal(tmp_path, *argv, *others("firestore", "storage"))

    moves = message.split("; --free-ports would move ")[1]
    assert f"{busy} (the fake payments)" in moves
    assert moves.endswith(", not the port you gave --pubsub-port")
