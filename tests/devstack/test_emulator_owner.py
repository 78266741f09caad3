"""One running stack per Pub/Sub emulator: a second one refuses, a dead owner does not block.

A stack started in a shell that sourced a running stack's ``env.sh`` used to point every
subscription of that stack's emulator at its own hosts ("23 found with other settings and
updated"): the first stack got no more pushes, even after the second stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.emulator_owner import OWNER_TOPIC, EmulatorTaken, Owner, claim, release
from devstack.layout import project_of
from shared import emulators as emu
from shared.hub.provision import subscription_path
from tests.devstack.conftest import (
    EMULATOR_VARS,
    DevProcess,
    dev_env,
    kill_everything,
    require_emulators,
    start_dev,
)

pytestmark = pytest.mark.emulator

HOLD = """
import sys, time
from pathlib import Path
from devstack.state_lock import StateDirLock
StateDirLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture(scope="module")
def publisher() -> Iterator[Any]:
    """An admin client of a Pub/Sub emulator of this module's own."""
    require_emulators()
    saved = {var: os.environ.pop(var, None) for var in EMULATOR_VARS}
    try:
        with emu.running(emu.PUBSUB):
            from google.cloud import pubsub_v1

            client = pubsub_v1.PublisherClient()
            yield client
            client.transport.close()
    finally:
        for var, value in saved.items():
            if value is not None:
                os.environ[var] = value


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A process that holds the lock of ``tmp_path / "a"``, as a running stack does."""
    state_dir = tmp_path / "a"
    state_dir.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state_dir)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    yield process
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(10)


def record(publisher: Any, owner: Owner) -> None:
    """Leave ``owner``'s record on the emulator, as its stack would."""
    publisher.create_topic(request={"name": OWNER_TOPIC, "labels": owner.labels()})


def test_a_running_owner_keeps_the_emulator_and_a_killed_one_does_not(
    publisher: Any, holder: subprocess.Popen[str], tmp_path: Path
) -> None:
    first = Owner.this_process(tmp_path / "a")
    first = Owner(first.state_dir, holder.pid, first.host)
    record(publisher, first)

    with pytest.raises(EmulatorTaken) as taken:
        claim(tmp_path / "b", publisher)
    assert taken.value.owner == first

    os.kill(holder.pid, signal.SIGKILL)  # no chance to delete its record
    holder.wait(10)
    ours = claim(tmp_path / "b", publisher)
    assert ours == Owner.this_process(tmp_path / "b")
    found = publisher.get_topic(request={"topic": OWNER_TOPIC})
    assert Owner.from_labels(found.labels) == ours
    release(ours, publisher)
    assert claim(tmp_path / "c", publisher) == Owner.this_process(tmp_path / "c")
    release(Owner.this_process(tmp_path / "c"), publisher)


def test_the_owner_of_another_host_counts_as_running(publisher: Any, tmp_path: Path) -> None:
    elsewhere = Owner(str(tmp_path / "a"), 1, "another-host")
    record(publisher, elsewhere)
    try:
        with pytest.raises(EmulatorTaken) as taken:
            claim(tmp_path / "b", publisher)
        assert taken.value.owner == elsewhere
    finally:
        publisher.delete_topic(request={"topic": OWNER_TOPIC})


def test_a_stack_on_a_running_stack_s_emulators_refuses_and_changes_nothing(
    dev_stack: DevProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud import pubsub_v1

    manifest = dev_stack.manifest()
    env = dev_env(tmp_path / "dev-key.pem")
    env |= {var: manifest.env[var] for var in EMULATOR_VARS if var in manifest.env}
    second = start_dev(tmp_path / "b", "--free-ports", env=env)  # as after `source A/env.sh`
    try:
        code = second.process.wait(60)
    finally:
        kill_everything(second)

    assert code == 2, second.output
    pubsub = manifest.env["PUBSUB_EMULATOR_HOST"]
    assert (
        f"fooddelivery dev: the Pub/Sub emulator at {pubsub} is used by the stack at "
        f"{dev_stack.state_dir} (pid {dev_stack.process.pid}), whose pushes this stack "
        "would take. Stop that stack; or unset PUBSUB_EMULATOR_HOST"
    ) in second.output
    assert "--scenario --attach --state-dir" in second.output
    assert "provisioned" not in second.output
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub)
    subscriber = pubsub_v1.SubscriberClient()
    try:
        for name, base in manifest.hosts.items():
            path = subscription_path(project_of(name), "fault-recorder")
            got = subscriber.get_subscription(request={"subscription": path})
            assert got.push_config.push_endpoint == f"{base}/_faults"
    finally:
        subscriber.close()
