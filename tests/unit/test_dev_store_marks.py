"""A stack keeps its trigger checkpoints only while the Firestore they describe is the one it
runs on: one restarted empty since (an emulator of ``FIRESTORE_EMULATOR_HOST``) holds no
mark of the state dir, and its checkpoints are emptied, with a warning, rather than resumed
(every document they know announced as deleted, a new one with a known key taken for a
change of the old)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from devstack.checkpoint import Checkpoint
from devstack.store_marks import checkpoint_path, reconcile
from shared.stores.base import DocumentChange
from shared.stores.memory import InMemoryDocumentStore

SUBSYSTEMS = ("order", "restaurant")


def handled(state_dir: Path, subsystem: str, key: str) -> None:
    """The subsystem's host handled a change of ``key`` (and stopped)."""
    checkpoint = Checkpoint(checkpoint_path(state_dir, subsystem))
    after = {"status": "new"}
    checkpoint.record("t", DocumentChange("tickets", key, None, after, "2026-01-01T00:00:01Z"))
    checkpoint.close()


def known(state_dir: Path, subsystem: str) -> dict[str, object]:
    checkpoint = Checkpoint(checkpoint_path(state_dir, subsystem))
    checkpoint.close()
    return dict(checkpoint.state("t"))


def start(state_dir: Path, stores: dict[str, InMemoryDocumentStore]) -> list[str]:
    return reconcile(state_dir, SUBSYSTEMS, stores.__getitem__, where="127.0.0.1:8086")


def fresh() -> dict[str, InMemoryDocumentStore]:
    return {name: InMemoryDocumentStore() for name in SUBSYSTEMS}


def test_checkpoints_are_kept_while_the_store_holds_the_state_dirs_mark(tmp_path: Path) -> None:
    stores = fresh()
    assert start(tmp_path, stores) == []
    handled(tmp_path, "order", "o-1")

    assert start(tmp_path, stores) == []

    assert set(known(tmp_path, "order")) == {"o-1"}


def test_checkpoints_of_a_store_restarted_empty_are_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    start(tmp_path, fresh())
    handled(tmp_path, "order", "o-1")
    handled(tmp_path, "restaurant", "r-1")

    with caplog.at_level(logging.WARNING, "fooddelivery.dev"):
        dropped = start(tmp_path, fresh())  # the emulator was restarted: empty

    assert dropped == ["order", "restaurant"]
    [warning] = caplog.records
    assert "127.0.0.1:8086" in warning.getMessage()
    assert "Dropped the trigger checkpoints of order, restaurant" in warning.getMessage()
    for subsystem in SUBSYSTEMS:
        again = Checkpoint(checkpoint_path(tmp_path, subsystem))
        again.close()
        # resumed from nothing: every document the store holds now is announced as new
        assert again.resumed and again.state("t") == {}


def test_only_the_subsystem_whose_project_was_reset_drops_its_checkpoint(tmp_path: Path) -> None:
    stores = fresh()
    start(tmp_path, stores)
    handled(tmp_path, "order", "o-1")
    handled(tmp_path, "restaurant", "r-1")

    assert start(tmp_path, {**stores, "restaurant": InMemoryDocumentStore()}) == ["restaurant"]

    assert set(known(tmp_path, "order")) == {"o-1"}
    assert known(tmp_path, "restaurant") == {}


def test_two_state_dirs_on_one_store_keep_each_their_checkpoints(tmp_path: Path) -> None:
    stores = fresh()
    first, second = tmp_path / "first", tmp_path / "second"
    for state_dir in (first, second):
        state_dir.mkdir()
        start(state_dir, stores)
        handled(state_dir, "order", "o-1")

    assert start(first, stores) == []
    assert start(second, stores) == []
    assert set(known(first, "order")) == set(known(second, "order")) == {"o-1"}
