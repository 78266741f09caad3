"""A stack on a Firestore emulator of ``FIRESTORE_EMULATOR_HOST`` that was restarted empty
since its last start drops the trigger checkpoints its state dir kept, and says so.

Resumed, they announced every document they knew as deleted (the hosts ran their triggers
on deletions nobody made); dropped outright, a document written while no stack ran would be
taken for the initial snapshot and never handled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.layout import Ports, project_of
from devstack.live import LiveStack
from devstack.stack import DevOptions, DevStack
from devstack.store_marks import checkpoint_path
from shared import emulators as emu
from shared.system import load_subsystems
from tests.devstack.conftest import EMULATOR_VARS, eventually, require_emulators
from tests.devstack.world import TRATTORIA, World

pytestmark = pytest.mark.emulator


@pytest.fixture
def firestore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[emu.RunningEmulator]:
    """A Firestore emulator the user started: the stack uses it and leaves it running."""
    require_emulators()
    for var in EMULATOR_VARS:
        monkeypatch.delenv(var, raising=False)
    running = emu.start(emu.FIRESTORE, log_dir=tmp_path / "user")
    monkeypatch.setenv(emu.FIRESTORE.env_var, running.env_value)
    yield running
    running.stop()


def dev_stack(state_dir: Path) -> DevStack:
    options = DevOptions(
        ports=Ports(0, 0, 0, {}, {}),
        state_dir=state_dir,
        dev_key=state_dir / "dev-key.pem",
        lake=False,
        host_logs_to_files=True,
    )
    return DevStack(options)


def emptied(firestore: emu.RunningEmulator, subsystems: list[str]) -> None:
    """Every document of the subsystems' projects gone, as when the emulator restarts."""
    for subsystem in subsystems:
        path = f"projects/{project_of(subsystem)}/databases/(default)/documents"
        url = f"http://{firestore.env_value}/emulator/v1/{path}"
        requests.delete(url, timeout=10).raise_for_status()


def records(state_dir: Path, subsystem: str) -> list[dict[str, Any]]:
    """What the subsystem's triggers handled since its checkpoint was last compacted."""
    lines = checkpoint_path(state_dir, subsystem).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def handled_keys(state_dir: Path, subsystem: str) -> set[str]:
    """The keys the subsystem's triggers handled as existing."""
    return {r["k"] for r in records(state_dir, subsystem) if r["d"] is not None}


def deletions(state_dir: Path, subsystem: str) -> list[str]:
    """The keys the subsystem's triggers handled as deleted."""
    return [r["k"] for r in records(state_dir, subsystem) if r["d"] is None]


def test_a_restarted_external_firestore_drops_the_stale_checkpoints(
    tmp_path: Path,
    firestore: emu.RunningEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from shared.stores.firestore import FirestoreDocumentStore

    first = dev_stack(tmp_path)
    try:
        World(LiveStack(first.start()))  # restaurants published: the triggers handled them
    finally:
        first.stop()
    assert checkpoint_path(tmp_path, "restaurant").stat().st_size
    restaurants = FirestoreDocumentStore(project_of("restaurant"))
    profile = restaurants.get("restaurants", TRATTORIA)
    restaurants.close()
    assert profile is not None

    emptied(firestore, [app.name for app in load_subsystems()])  # as restarted
    restaurants = FirestoreDocumentStore(project_of("restaurant"))
    restaurants.put("restaurants", TRATTORIA, profile)  # while no stack ran
    restaurants.close()
    second = dev_stack(tmp_path)
    try:
        with caplog.at_level(logging.WARNING, "fooddelivery.dev"):
            stack = LiveStack(second.start())

        def handled() -> bool:
            """the profile written while no stack ran is handled by its trigger"""
            return TRATTORIA in handled_keys(tmp_path, "restaurant")

        eventually(handled, timeout_s=60)
        stack.settle()
        deleted = deletions(tmp_path, "restaurant")
    finally:
        second.stop()

    assert deleted == [], "the triggers ran on deletions nobody made"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"the Firestore at {firestore.env_value} does not hold the mark" in w
        and "Dropped the trigger checkpoints of " in w
        and "restaurant" in w
        for w in warnings
    ), warnings
