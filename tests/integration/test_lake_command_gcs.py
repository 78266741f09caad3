"""``fooddelivery lake events`` and windowed listing on the Cloud Storage emulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.cli import main
from shared.envelope import new_event
from shared.lake.gcs import GcsLake

HOUR = 3_600_000


def ms(day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2026, 1, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


class ListingSpy:
    """A storage client that notes every listing: (prefix, delimiter)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.listings: list[tuple[str, str | None]] = []

    def list_blobs(self, bucket: str, prefix: str, delimiter: str | None = None) -> Any:
        self.listings.append((prefix, delimiter))
        return self._client.list_blobs(bucket, prefix=prefix, delimiter=delimiter)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def bucket(emulator_hosts: dict[str, str]) -> str:
    name = f"lake-{uuid.uuid4().hex[:12]}"
    GcsLake(name).ensure_bucket()
    return name


@pytest.fixture
def events(bucket: str) -> list[Any]:
    """Order events every three hours over three days, one object each."""
    written = [
        new_event("order-placed", "order", {"n": n}, partition_key=f"o-{n % 2}", timestamp=at)
        for n, at in enumerate(range(ms(29, 0), ms(31, 23), 3 * HOUR))
    ]
    lake = GcsLake(bucket)
    for event in written:
        lake.append("order", "bus", [(event.timestamp + 1000, event.to_bytes())])
    return written


def test_a_window_lists_objects_only_in_its_hour_folders(bucket, events):
    spy = ListingSpy(GcsLake(bucket).client)
    lake = GcsLake(bucket, client=spy)

    names = lake.objects("order", since_ms=ms(30, 5), until_ms=ms(30, 7))

    assert [n.split("/")[2:6] for n in names] == [["2026", "01", "30", "06"]]
    object_listings = [prefix for prefix, delimiter in spy.listings if delimiter is None]
    assert object_listings == ["order/bus/2026/01/30/06/"]  # no 05 folder: nothing then
    assert len(spy.listings) == 5  # the year, month, day and hour folders, then the hour


def test_a_whole_day_is_listed_with_one_prefix(bucket, events):
    spy = ListingSpy(GcsLake(bucket).client)
    names = GcsLake(bucket, client=spy).objects("order", since_ms=ms(30, 0), until_ms=ms(31, 0))
    assert len(names) == 8
    assert [p for p, d in spy.listings if d is None] == ["order/bus/2026/01/30/"]


def test_the_command_reads_a_bucket_window(bucket, events, capsys):
    window = ["--since", "2026-01-30T06:00", "--until", "2026-01-30T12:00"]
    code = main(["lake", "events", "order", "--bucket", bucket, "--key", "o-0", *window])
    out, err = capsys.readouterr()
    assert code == 0, err
    in_window = [e for e in events if ms(30, 6) <= e.timestamp < ms(30, 12)]
    expected = [e.id for e in in_window if e.partition_key == "o-0"]
    assert [line.split()[-1] for line in out.splitlines()] == expected
    assert expected  # the window holds some of o-0's events


def test_the_dev_stacks_bucket_is_the_default(emulator_hosts, monkeypatch, capsys):
    env = f"t{uuid.uuid4().hex[:8]}"
    lake = GcsLake(f"fooddelivery-{env}-lake")
    lake.ensure_bucket()
    event = new_event("order-placed", "order", {"n": 1}, partition_key="o-1", timestamp=ms(30, 1))
    lake.append("order", "bus", [(event.timestamp, event.to_bytes())])
    monkeypatch.setenv("FOODDELIVERY_MODE", "emulator")
    monkeypatch.setenv("FOODDELIVERY_ENV", env)

    code = main(["lake", "events", "order", "--json"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == event.to_bytes().decode() + "\n"


def test_a_missing_bucket_is_one_line_and_exit_2(emulator_hosts, capsys):
    name = f"lake-{uuid.uuid4().hex[:12]}"
    code = main(["lake", "events", "order", "--bucket", name, "--since", "2026-01-30"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == f"fooddelivery lake events: there is no bucket gs://{name}\n"


def test_an_object_a_lifecycle_rule_deletes_while_read_is_skipped_and_named(
    bucket, events, capsys, monkeypatch
):
    listed = GcsLake(bucket).objects("order", since_ms=ms(30, 0), until_ms=ms(30, 9))
    doomed = listed[1]
    list_objects = GcsLake._list_objects

    def list_then_expire(self: GcsLake, prefix: str) -> list[str]:
        names = list_objects(self, prefix)
        if doomed in names:
            self.client.bucket(bucket).blob(doomed).delete()  # between listing and reading
        return names

    monkeypatch.setattr(GcsLake, "_list_objects", list_then_expire)
    window = ["--since", "2026-01-30T00:00", "--until", "2026-01-30T09:00"]
    code = main(["lake", "events", "order", "--bucket", bucket, "--json", *window])
    out, err = capsys.readouterr()
    assert code == 0, err
    in_window = [e for e in events if ms(30, 0) <= e.timestamp < ms(30, 9)]
    assert out == "".join(e.to_bytes().decode() + "\n" for i, e in enumerate(in_window) if i != 1)
    assert err == f"skipped {doomed}: gone before it was read (deleted since listed)\n"
