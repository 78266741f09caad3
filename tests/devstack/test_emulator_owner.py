"""One running stack per emulator: a second one refuses, a dead owner does not block.

A stack started in a shell that sourced a running stack's ``env.sh`` used to point every
subscription of that stack's emulator at its own hosts ("23 found with other settings and
updated"): the first stack got no more pushes, even after the second stopped. One given
only the Firestore or Storage emulator of a running stack mixed its data with that one's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.emulator_owner import EmulatorTaken, Owner, claim, release
from devstack.layout import project_of
from devstack.owner_records import Labels, Records, records_of
from devstack.state_lock import StateDirLock
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
def emulators() -> Iterator[dict[str, emu.RunningEmulator]]:
    """Emulators of this module's own."""
    require_emulators()
    saved = {var: os.environ.pop(var, None) for var in EMULATOR_VARS}
    try:
        with emu.running(*emu.ALL) as running:
            yield running
    finally:
        for var, value in saved.items():
            if value is not None:
                os.environ[var] = value


@pytest.fixture(params=[spec.name for spec in emu.ALL])
def records(
    request: pytest.FixtureRequest, emulators: dict[str, emu.RunningEmulator]
) -> Iterator[Records]:
    """The owner records of one of the module's emulators, none left by the test."""
    found = records_of(emulators[request.param])
    yield found
    for generation in found.read():
        found.delete(generation)
    found.close()


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


def record(records: Records, owner: Owner) -> None:
    """Leave ``owner``'s record on the emulator, as its stack would."""
    assert records.create(max(records.read(), default=0) + 1, owner.labels())


def newest(records: Records) -> Labels | None:
    """The labels of the newest record."""
    found = records.read()
    return found[max(found)]


def test_a_running_owner_keeps_the_emulator_and_a_killed_one_does_not(
    records: Records, holder: subprocess.Popen[str], tmp_path: Path
) -> None:
    first = Owner.this_process(tmp_path / "a")
    first = Owner(first.state_dir, holder.pid, first.host)
    record(records, first)

    with pytest.raises(EmulatorTaken) as taken:
        claim(tmp_path / "b", records)
    assert (taken.value.emulator, taken.value.owner) == (records.emulator, first)

    os.kill(holder.pid, signal.SIGKILL)  # no chance to delete its record
    holder.wait(10)
    ours = claim(tmp_path / "b", records)
    assert ours == Owner.this_process(tmp_path / "b")
    assert list(records.read().values()) == [ours.labels()]  # the gone owner's deleted
    release(ours, records)
    assert list(records.read().values()) == [{}]  # names no one
    assert claim(tmp_path / "c", records) == Owner.this_process(tmp_path / "c")
    assert newest(records) == Owner.this_process(tmp_path / "c").labels()


def test_the_owner_of_another_host_counts_as_running(records: Records, tmp_path: Path) -> None:
    elsewhere = Owner(str(tmp_path / "a"), 1, "another-host")
    record(records, elsewhere)
    with pytest.raises(EmulatorTaken) as taken:
        claim(tmp_path / "b", records)
    assert taken.value.owner == elsewhere


class ReadsAfter:
    """``records`` whose first :meth:`read` tells ``read`` it happened, then returns only
    once ``go`` is set."""

    def __init__(self, records: Records, read: threading.Event, go: threading.Event) -> None:
        self._records, self._read, self._go = records, read, go
        self.emulator = records.emulator

    def read(self) -> dict[int, Labels | None]:
        found = self._records.read()
        if not self._read.is_set():
            self._read.set()
            assert self._go.wait(30)
        return found

    def create(self, generation: int, labels: Labels) -> bool:
        return self._records.create(generation, labels)

    def delete(self, generation: int) -> None:
        self._records.delete(generation)

    def close(self) -> None:
        pass


def test_of_two_stacks_that_replace_a_gone_owner_at_once_one_wins(
    records: Records, tmp_path: Path
) -> None:
    gone = Owner(str(tmp_path / "gone"), 1, Owner.this_process(tmp_path).host)
    record(records, gone)
    locks = [StateDirLock(tmp_path / name) for name in ("a", "b")]
    for lock in locks:
        lock.path.parent.mkdir()
        lock.acquire()  # as the stacks that claim hold theirs
    b_read, a_done = threading.Event(), threading.Event()
    results: dict[str, Owner | EmulatorTaken] = {}

    def run(name: str, records: Records) -> None:
        try:
            results[name] = claim(tmp_path / name, records)
        except EmulatorTaken as taken:
            results[name] = taken
        finally:
            if name == "a":
                a_done.set()

    # b reads the gone owner's record; a reads it too and claims; then b goes on
    b = threading.Thread(target=run, args=("b", ReadsAfter(records, b_read, a_done)))
    b.start()
    try:
        assert b_read.wait(30)
        run("a", records)
    finally:
        a_done.set()
        b.join(30)
        for lock in locks:
            lock.release()

    assert results["a"] == Owner.this_process(tmp_path / "a")
    lost = results["b"]
    assert isinstance(lost, EmulatorTaken) and lost.owner == results["a"]
    assert newest(records) == results["a"].labels()


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


@pytest.mark.parametrize(
    ("variable", "emulator", "whose"),
    [
        (
            "FIRESTORE_EMULATOR_HOST",
            "Firestore",
            "whose documents and change feeds this stack would mix with its own",
        ),
        ("STORAGE_EMULATOR_HOST", "Storage", "whose event lake this stack would mix with its own"),
    ],
)
def test_a_stack_given_only_another_emulator_of_a_running_stack_refuses(
    dev_stack: DevProcess, tmp_path: Path, variable: str, emulator: str, whose: str
) -> None:
    manifest = dev_stack.manifest()
    env = dev_env(tmp_path / "dev-key.pem") | {variable: manifest.env[variable]}
    second = start_dev(tmp_path / "b", "--free-ports", env=env)  # its other emulators its own
    try:
        code = second.process.wait(60)
    finally:
        kill_everything(second)

    assert code == 2, second.output
    where = manifest.env[variable].removeprefix("http://")
    assert (
        f"fooddelivery dev: the {emulator} emulator at {where} is used by the stack at "
        f"{dev_stack.state_dir} (pid {dev_stack.process.pid}), {whose}. Stop that stack; or "
        f"unset PUBSUB_EMULATOR_HOST"
    ) in second.output
    assert "provisioned" not in second.output


def test_a_claimant_that_read_records_deleted_since_does_not_take_the_emulator(
    records: Records, tmp_path: Path
) -> None:
    gone = Owner(str(tmp_path / "gone"), 1, Owner.this_process(tmp_path).host)
    record(records, gone)
    locks = [StateDirLock(tmp_path / name) for name in ("w", "f", "s")]
    for lock in locks:
        lock.path.parent.mkdir()
        lock.acquire()
    s_read, go = threading.Event(), threading.Event()
    results: dict[str, Owner | EmulatorTaken] = {}

    def run_s() -> None:
        try:
            results["s"] = claim(tmp_path / "s", ReadsAfter(records, s_read, go))
        except EmulatorTaken as taken:
            results["s"] = taken

    # s reads the gone owner's record; meanwhile w replaces it and stops (its records
    # deleted but the one that names no one), f takes the emulator; then s goes on
    s = threading.Thread(target=run_s)
    s.start()
    try:
        assert s_read.wait(30)
        release(claim(tmp_path / "w", records), records)
        f = claim(tmp_path / "f", records)
    finally:
        go.set()
        s.join(30)
        for lock in locks:
            lock.release()

    lost = results["s"]
    assert isinstance(lost, EmulatorTaken) and lost.owner == f
    assert newest(records) == f.labels()


def test_a_storage_record_whose_owner_could_not_be_written_is_not_left_behind(
    emulators: dict[str, emu.RunningEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its bucket stayed, a record "being written" for ever: every later stack refused.
    from google.cloud.storage.blob import Blob  # type: ignore[import-untyped, unused-ignore]

    storage = records_of(emulators["storage"])

    def cut_off(*args: object, **kwargs: object) -> None:
        raise TimeoutError("upload of owner.json timed out")

    try:
        with monkeypatch.context() as patched:
            patched.setattr(Blob, "upload_from_string", cut_off)
            with pytest.raises(TimeoutError):
                storage.create(1, {"pid": "1"})

        assert storage.read() == {}
        assert storage.create(1, {"pid": "2"})
        assert storage.read() == {1: {"pid": "2"}}
    finally:
        for generation in storage.read():
            storage.delete(generation)
        storage.close()
