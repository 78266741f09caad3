"""The dev stack's trigger checkpoint stays as large as the state it holds: compacted to
one line per key when a host opens it and once enough lines were appended since, with
the same state to resume from."""

from __future__ import annotations

from pathlib import Path

from devstack.checkpoint import Checkpoint
from shared.stores.base import DocumentChange


def change(key: str, n: int, status: str | None = "accepted") -> DocumentChange:
    after = None if status is None else {"status": status, "n": n}
    return DocumentChange("orders", key, None, after, f"2026-01-01T00:00:{n:02d}.000000Z")


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_a_reopened_checkpoint_keeps_one_line_per_key(tmp_path: Path) -> None:
    path = tmp_path / "kitchen-triggers.jsonl"
    first = Checkpoint(path)
    for n in range(1, 41):
        first.record("t", change("o-1", n))
        first.record("t", change("o-2", n, None if n == 40 else "ready"))
        first.record("u", change("o-1", n))
    first.close()
    path.open("a", encoding="utf-8").write('{"t": "t", "k": "o-3"')  # cut short by a kill

    again = Checkpoint(path)
    again.close()
    assert len(lines(path)) == 3
    resumed = Checkpoint(path)
    assert resumed.resumed
    last = {"o-1": (change("o-1", 40).version, {"status": "accepted", "n": 40})}
    assert resumed.state("t") == last
    assert resumed.state("u") == last
    resumed.record("t", change("o-2", 39))  # older than the deletion kept for it
    assert "o-2" not in resumed.state("t")


def test_a_running_checkpoint_compacts_itself(tmp_path: Path) -> None:
    path = tmp_path / "kitchen-triggers.jsonl"
    checkpoint = Checkpoint(path, compact_after_lines=10)
    for n in range(1, 60):
        checkpoint.record("t", change(f"o-{n % 3}", n))
        assert len(lines(path)) <= 3 + (3 + 10)  # the keys, and what was appended since
    checkpoint.close()
    assert Checkpoint(path).state("t") == {
        f"o-{k}": (change("o", n).version, {"status": "accepted", "n": n})
        for k, n in ((0, 57), (1, 58), (2, 59))
    }


def test_an_empty_checkpoint_still_resumes(tmp_path: Path) -> None:
    path = tmp_path / "kitchen-triggers.jsonl"
    Checkpoint(path).close()
    again = Checkpoint(path)
    assert again.resumed
    assert again.state("t") == {}
