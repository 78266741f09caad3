"""The lake contract on :class:`LocalDirectoryLake`, plus its on-disk details."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shared.exceptions import LakeError
from shared.lake import LocalDirectoryLake
from tests.contracts.lake_contract import T0, LakeContract, event, records
from tests.unit.unreadable import refuse_reads

if TYPE_CHECKING:
    from pathlib import Path


class TestLocalDirectoryLake(LakeContract):
    @pytest.fixture(autouse=True)
    def _root(self, tmp_path: Path) -> None:
        self.root = tmp_path / "lake"

    def make_lake(self) -> LocalDirectoryLake:
        return LocalDirectoryLake(self.root)

    def store_raw(self, name: str, content: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    def delete_raw(self, name: str) -> None:
        (self.root / name).unlink()

    def test_objects_are_files_with_the_layout_path(self, lake: LocalDirectoryLake) -> None:
        e = event(T0 + 1)
        lake.append("order", "bus", records(e))
        [name] = lake.objects("order")
        assert (self.root / name).read_bytes() == e.to_bytes() + b"\n"
        assert name.split("/")[-1].startswith(f"{T0 + 1:013d}-")

    def test_leftover_temporary_files_are_ignored(self, lake: LocalDirectoryLake) -> None:
        lake.append("order", "bus", records(event(T0)))
        [name] = lake.objects("order")
        (self.root / name).with_name(".crashed.jsonl.1234.tmp").write_bytes(b"partial")
        assert lake.objects("order") == [name]
        assert list(self.root.rglob("*.tmp")) != []

    def test_names_escaping_the_root_are_refused(self, lake: LocalDirectoryLake) -> None:
        for name in ("../outside.jsonl", "/etc/passwd", "order//x.jsonl"):
            with pytest.raises(LakeError):
                lake.read_object(name)


@pytest.mark.parametrize("window", [{}, {"since_ms": T0, "until_ms": T0 + 1}])
def test_a_folder_that_cannot_be_listed_is_named_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: dict[str, int]
) -> None:
    lake = LocalDirectoryLake(tmp_path / "lake")
    lake.append("order", "bus", records(event(T0)))
    [name] = lake.objects("order")
    hour = name.rsplit("/", 1)[0]
    refuse_reads(monkeypatch, tmp_path / "lake" / hour)

    with pytest.raises(LakeError, match=f"cannot list lake folder {hour}/: .*Permission denied"):
        lake.objects("order", **window)
    with pytest.raises(LakeError, match=f"cannot list lake folder {hour}/"):
        list(lake.objects_oldest_first("order", **window))
