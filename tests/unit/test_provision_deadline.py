"""Provisioning has one deadline: a Pub/Sub that stops answering (the emulator hung, or
gone from under it) fails ``fooddelivery dev``'s start within it, with a message naming
it, instead of holding the start for the minutes each admin call retries."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.provisioning import provision
from shared.hub.provision import Deadline, ProvisionTimeout, provision_subscription
from shared.system import load_subsystems
from shared.topology.model import Topic

TIMEOUT_S = 2.0
PATIENCE_S = 20.0
"""Far beyond the deadline, far below what the calls retry without it (60 to 600 s)."""


@pytest.fixture(params=["silent", "gone"])
def unanswering(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """PUBSUB_EMULATOR_HOST pointing at an emulator that stopped: one that accepts
    connections but never answers (hung), or a port nothing listens on any more."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    if request.param == "silent":
        sock.listen(16)  # the kernel accepts; nobody answers
    host = f"127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", host)
    try:
        yield host
    finally:
        sock.close()


def outcome_of(call: Any) -> BaseException | None:
    """What ``call`` raised, asserting it returned within :data:`PATIENCE_S`."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    began = time.monotonic()
    thread.start()
    thread.join(PATIENCE_S)
    assert not thread.is_alive(), f"still provisioning after {PATIENCE_S:.0f} s"
    assert time.monotonic() - began < TIMEOUT_S + 5
    return raised[0] if raised else None


def test_the_dev_stack_gives_up_on_a_pubsub_that_stopped_answering(unanswering: str) -> None:
    apps = load_subsystems()
    hosts = {app.name: "http://127.0.0.1:1" for app in apps}
    error = outcome_of(lambda: provision(apps, hosts, lake=True, timeout_s=TIMEOUT_S))
    assert isinstance(error, ProvisionTimeout)
    assert f"Pub/Sub at {unanswering} did not answer within 2 s" in str(error)


def test_one_deadline_bounds_kit_subscriptions_too(unanswering: str) -> None:
    deadline = Deadline.after(TIMEOUT_S)
    error = outcome_of(
        lambda: provision_subscription("p", "fault-recorder", Topic.FAULTS, deadline=deadline)
    )
    assert isinstance(error, ProvisionTimeout)
