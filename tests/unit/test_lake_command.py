"""``fooddelivery lake events``: a subsystem's event lake read through the CLI.

The lake is a :class:`LocalDirectoryLake` holding Order events over several
hours, the way a lake writer stores them: each in the hour folder of its
publish time, a little after the event's own timestamp.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from devstack.layout import ENV as DEV_ENV
from devstack.layout import LAKE_BUCKET
from shared.cli import main
from shared.envelope import Envelope, new_event
from shared.lake import LocalDirectoryLake
from shared.lake import command as lake_command
from shared.lake.command import default_bucket, open_lake
from shared.paths import PROJECT_ROOT
from tests.unit.unreadable import refuse_reads

MINUTE = 60_000
HOUR = 60 * MINUTE


def ms(day: int, hour: int, minute: int = 0, second: int = 0) -> int:
    """Epoch ms of 2026-01-DD hh:mm:ss UTC."""
    return int(datetime(2026, 1, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


def placed(at: int, key: str, kind: str = "order-placed") -> Envelope:
    return new_event(kind, "order", {"id": key}, partition_key=key, timestamp=at)


# Eight hours of one order's life and another's, 10:00 to 17:59 on 2026-01-31.
EVENTS = [
    placed(ms(31, 10, 5), "o-1"),
    placed(ms(31, 10, 50), "o-2"),
    placed(ms(31, 11, 0), "o-1", "order-accepted"),
    placed(ms(31, 12, 30), "o-2", "order-accepted"),
    placed(ms(31, 13, 0), "o-1", "order-ready"),
    placed(ms(31, 14, 15), "o-2", "order-ready"),
    placed(ms(31, 15, 59, 59), "o-1", "order-delivered"),
    placed(ms(31, 16, 0), "o-2", "order-delivered"),
    placed(ms(31, 17, 45), "o-3"),
]


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    lake = LocalDirectoryLake(tmp_path / "lake")
    for event in EVENTS:  # stored two seconds after it happened, one object per event
        lake.append("order", "bus", [(event.timestamp + 2000, event.to_bytes())])
    lake.append("delivery", "bus", [(ms(31, 12), placed(ms(31, 12), "d-1").to_bytes())])
    return tmp_path / "lake"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lake", "events", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def ids_of(out: str) -> list[str]:
    return [line.split()[-1] for line in out.splitlines()]


def test_every_event_oldest_first_one_readable_line_each(lake_dir, capsys):
    code, out, err = run(capsys, "order", "--dir", str(lake_dir))
    assert code == 0, err
    assert ids_of(out) == [e.id for e in EVENTS]
    first, third = out.splitlines()[0], out.splitlines()[2]
    assert re.fullmatch(rf"2026-01-31T10:05:00\.000Z  order-placed +  o-1  {EVENTS[0].id}", first)
    assert third.startswith("2026-01-31T11:00:00.000Z  order-accepted  ")
    assert err == ""


def test_type_and_key_keep_one_kind_and_one_entitys_history(lake_dir, capsys):
    _, out, _ = run(capsys, "order", "--dir", str(lake_dir), "--key", "o-1")
    assert ids_of(out) == [e.id for e in EVENTS if e.partition_key == "o-1"]
    _, out, _ = run(capsys, "order", "--dir", str(lake_dir), "--type", "order-ready")
    assert ids_of(out) == [EVENTS[4].id, EVENTS[5].id]
    _, out, _ = run(
        capsys, "order", "--dir", str(lake_dir), "--type", "order-ready", "--key", "o-2"
    )
    assert ids_of(out) == [EVENTS[5].id]


def test_since_is_inclusive_and_until_exclusive_like_replay(lake_dir, capsys):
    window = ["--since", "2026-01-31T11:00", "--until", "2026-01-31T16:00:00Z"]
    _, out, _ = run(capsys, "order", "--dir", str(lake_dir), *window)
    assert ids_of(out) == [e.id for e in EVENTS[2:7]]
    replayed = LocalDirectoryLake(lake_dir).replay(
        "order", since_ms=ms(31, 11), until_ms=ms(31, 16)
    )
    assert ids_of(out) == [e.id for e in replayed]


def test_a_time_with_an_offset_or_a_bare_date_is_understood(lake_dir, capsys):
    _, out, _ = run(capsys, "order", "--dir", str(lake_dir), "--since", "2026-01-31T18:00+02:00")
    assert ids_of(out) == [e.id for e in EVENTS[7:]]  # 16:00Z on
    _, out, _ = run(capsys, "order", "--dir", str(lake_dir), "--until", "2026-01-31")
    assert out == ""
    _, out, _ = run(capsys, "order", "--dir", str(lake_dir), "--since", "2026-01-31")
    assert ids_of(out) == [e.id for e in EVENTS]


def test_limit_keeps_the_oldest_and_says_more_are_left(lake_dir, capsys):
    code, out, err = run(capsys, "order", "--dir", str(lake_dir), "--key", "o-2", "--limit", "2")
    assert code == 0
    assert ids_of(out) == [EVENTS[1].id, EVENTS[3].id]
    assert err == "... and more, later (--limit 2)\n"
    _, out, err = run(capsys, "order", "--dir", str(lake_dir), "--key", "o-2", "--limit", "4")
    assert ids_of(out) == [e.id for e in EVENTS if e.partition_key == "o-2"]
    assert err == ""


def test_json_lines_round_trip_to_the_envelopes(lake_dir, capsys):
    _, out, _ = run(
        capsys, "order", "--dir", str(lake_dir), "--json", "--since", "2026-01-31T12:00"
    )
    lines = out.splitlines()
    assert [Envelope.from_bytes(line.encode()) for line in lines] == EVENTS[3:]
    assert all(json.loads(line)["partitionKey"] for line in lines)


class CountingLake(LocalDirectoryLake):
    """A local lake that notes every object it reads and every folder it lists objects of."""

    read: ClassVar[list[str]] = []
    listed: ClassVar[list[str]] = []

    def _list_objects(self, folder: str) -> list[str]:
        CountingLake.listed.append(folder)
        return super()._list_objects(folder)

    def read_object(self, name: str) -> Iterator[bytes]:
        CountingLake.read.append(name)
        return super().read_object(name)


def test_a_short_window_reads_only_its_own_and_neighbouring_hour_folders(
    lake_dir, capsys, monkeypatch
):
    monkeypatch.setattr(lake_command, "LocalDirectoryLake", CountingLake)
    monkeypatch.setattr(CountingLake, "read", [])
    window = ["--since", "2026-01-31T13:10", "--until", "2026-01-31T13:50"]
    _, out, _ = run(capsys, "order", "--dir", str(lake_dir), *window)
    assert out == ""  # nothing happened then
    folders = sorted({name.split("/")[5] for name in CountingLake.read})
    assert folders == ["12", "13", "14"]  # an hour of slack on either side
    assert len(CountingLake.read) == 3  # of nine


def test_limit_stops_reading_once_later_folders_hold_only_later_events(
    lake_dir, capsys, monkeypatch
):
    monkeypatch.setattr(lake_command, "LocalDirectoryLake", CountingLake)
    monkeypatch.setattr(CountingLake, "read", [])
    _, out, err = run(capsys, "order", "--dir", str(lake_dir), "--limit", "2")
    assert ids_of(out) == [EVENTS[0].id, EVENTS[1].id]
    assert err == "... and more, later (--limit 2)\n"
    folders = [name.split("/")[5] for name in CountingLake.read]
    assert folders == ["10", "10", "11", "12"]  # 13:00 on holds only events after 11:00, a 3rd


def test_limit_lists_the_lake_one_hour_folder_at_a_time(lake_dir, capsys, monkeypatch):
    monkeypatch.setattr(lake_command, "LocalDirectoryLake", CountingLake)
    monkeypatch.setattr(CountingLake, "listed", [])
    for since in ([], ["--since", "2026-01-01T00:00"]):  # no window; a window of whole days
        CountingLake.listed.clear()
        _, out, _ = run(capsys, "order", "--dir", str(lake_dir), "--limit", "2", *since)
        assert ids_of(out) == [EVENTS[0].id, EVENTS[1].id]
        hours = [folder.split("/")[5] for folder in CountingLake.listed]
        assert hours == ["10", "11", "12", "13"]  # never the whole lake, nor the later hours


def test_limit_still_finds_an_older_event_stored_within_the_lag(tmp_path, capsys):
    first, late, second, third = (placed(ms(31, 10, m), f"o-{m}") for m in (0, 30, 45, 50))
    lake = LocalDirectoryLake(tmp_path)
    for on_time in (first, second, third):
        lake.append("order", "bus", [(on_time.timestamp + 1000, on_time.to_bytes())])
    lake.append("order", "bus", [(ms(31, 11, 25), late.to_bytes())])  # 55 minutes late
    for hour in (12, 13, 14):
        lake.append("order", "bus", [(ms(31, hour), placed(ms(31, hour), "o-x").to_bytes())])
    _, out, _ = run(capsys, "order", "--dir", str(tmp_path), "--limit", "2")
    assert ids_of(out) == [first.id, late.id]


def test_max_lag_finds_an_event_stored_hours_late(tmp_path, capsys):
    late = placed(ms(31, 10, 30), "o-9")
    LocalDirectoryLake(tmp_path).append("order", "bus", [(ms(31, 13, 20), late.to_bytes())])
    window = ["--since", "2026-01-31T10:00", "--until", "2026-01-31T11:00"]
    _, out, _ = run(capsys, "order", "--dir", str(tmp_path), *window)
    assert out == ""  # stored three hours late: beyond the default lag of an hour
    _, out, _ = run(capsys, "order", "--dir", str(tmp_path), *window, "--max-lag", "3")
    assert ids_of(out) == [late.id]
    _, out, _ = run(capsys, "order", "--dir", str(tmp_path), "--since", "2026-01-31T10:00")
    assert ids_of(out) == [late.id]  # no --until: every later folder is read


def test_a_bad_max_lag_is_refused(lake_dir, capsys):
    for bad in ("0", "-1", "1.5", "an hour", "²"):
        with pytest.raises(SystemExit) as exit:
            main(["lake", "events", "order", "--dir", str(lake_dir), "--max-lag", bad])
        assert exit.value.code == 2
        assert "--max-lag: must be a positive whole number" in capsys.readouterr().err


def test_an_event_stored_late_is_still_found_by_its_own_time(tmp_path, capsys):
    late = placed(ms(31, 10, 59), "o-9")
    early = placed(ms(31, 12, 1), "o-9", "order-accepted")
    lake = LocalDirectoryLake(tmp_path)
    lake.append("order", "bus", [(ms(31, 11, 40), late.to_bytes())])  # delivered 41 min late
    lake.append("order", "bus", [(ms(31, 11, 57), early.to_bytes())])  # a GCS file opened early
    window = ["--since", "2026-01-31T10:30", "--until", "2026-01-31T11:00"]
    _, out, _ = run(capsys, "order", "--dir", str(tmp_path), *window)
    assert ids_of(out) == [late.id]
    window = ["--since", "2026-01-31T12:00", "--until", "2026-01-31T12:30"]
    _, out, _ = run(capsys, "order", "--dir", str(tmp_path), *window)
    assert ids_of(out) == [early.id]


def test_an_event_kept_twice_is_shown_once_and_junk_is_counted(tmp_path, capsys):
    event = placed(ms(31, 10), "o-1")
    lake = LocalDirectoryLake(tmp_path)
    lake.append("order", "bus", [(event.timestamp, event.to_bytes()), (event.timestamp, b"junk")])
    lake.append("order", "bus", [(event.timestamp + 5, event.to_bytes())])  # a retried write
    first = lake.objects("order")[0]
    _, out, err = run(capsys, "order", "--dir", str(tmp_path))
    assert ids_of(out) == [event.id]
    assert err == f"skipped 1 line(s) of {first} that are no envelope\n"


def test_nothing_found_is_said_on_stderr_with_exit_0(lake_dir, capsys):
    code, out, err = run(capsys, "order", "--dir", str(lake_dir), "--key", "o-404")
    assert (code, out) == (0, "")
    assert err == "no events in order's lake (with key o-404)\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], "no subsystem 'nope': one of customer, delivery, order, restaurant"),
        (["order", "--since", "yesterday"], "--since 'yesterday' is not an ISO 8601 date or time"),
        (["order", "--until", "2026-02-30"], "--until '2026-02-30' is not an ISO 8601"),
        (
            ["order", "--since", "2026-01-31T12:00", "--until", "2026-01-31T11:00"],
            "--since 2026-01-31T12:00 is not before --until 2026-01-31T11:00",
        ),
        (["order", "--since", "2026-01-31", "--until", "2026-01-31"], "is not before --until"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(lake_dir, capsys, argv, message):
    code, out, err = run(capsys, *argv, "--dir", str(lake_dir))
    assert (code, out) == (2, "")
    assert err.startswith("fooddelivery lake events: ") and message in err
    assert err.count("\n") == 1


def test_a_missing_directory_is_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "order", "--dir", str(tmp_path / "none"))
    assert code == 2
    assert err == f"fooddelivery lake events: --dir {tmp_path / 'none'} does not exist\n"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "FOODDELIVERY_MODE is not set, so no lake is known: give --dir PATH or --bucket"),
        ({"FOODDELIVERY_MODE": "memory"}, "FOODDELIVERY_MODE is memory, so no lake is known"),
        ({"FOODDELIVERY_MODE": "emulator"}, "STORAGE_EMULATOR_HOST is not set"),
        ({"FOODDELIVERY_MODE": "gcp"}, "FOODDELIVERY_PROJECT_ORDER is not set"),
        ({"FOODDELIVERY_MODE": "nonsense"}, "FOODDELIVERY_MODE must be memory, emulator or gcp"),
    ],
)
def test_no_lake_to_read_is_one_line(capsys, monkeypatch, environ, message):
    for var in ("FOODDELIVERY_MODE", "STORAGE_EMULATOR_HOST", "FOODDELIVERY_PROJECT_ORDER"):
        monkeypatch.delenv(var, raising=False)
    for var, value in environ.items():
        monkeypatch.setenv(var, value)
    code, out, err = run(capsys, "order")
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1


def test_a_stopped_emulator_is_one_line_not_a_long_retry(capsys, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    code, _, err = run(capsys, "order", "--bucket", "some-lake")
    assert code == 2
    assert "nothing listens at STORAGE_EMULATOR_HOST=http://127.0.0.1:" in err


def test_an_emulator_address_that_does_not_parse_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://[::1:9023")
    code, out, err = run(capsys, "order", "--bucket", "some-lake")
    assert (code, out) == (2, "")
    assert err == (
        "fooddelivery lake events: nothing listens at STORAGE_EMULATOR_HOST=http://[::1:9023 "
        "(has the stack stopped?)\n"
    )


@pytest.mark.parametrize("bucket", ["", "my-lake-", "Lake", "a b", "lake/order", "la"])
def test_a_bucket_that_cannot_be_one_is_one_line_and_exit_2(capsys, monkeypatch, bucket):
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("FOODDELIVERY_MODE", "gcp")
    monkeypatch.setenv("FOODDELIVERY_PROJECT_ORDER", "acme-fd-order-prod")
    code, out, err = run(capsys, "order", f"--bucket={bucket}")
    assert (code, out) == (2, "")
    assert err.startswith(
        f"fooddelivery lake events: --bucket {bucket!r} is not a Cloud Storage bucket name"
    )
    assert err.count("\n") == 1


@pytest.mark.parametrize("bucket", ["my-lake", "gs://my-lake", "gs://my-lake/", "lake.example.com"])
def test_a_bucket_is_named_as_gsutil_names_it_too(monkeypatch, bucket):
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    lake = open_lake("order", bucket=bucket, environ={})
    assert lake.bucket_name == bucket.removeprefix("gs://").rstrip("/")  # type: ignore[attr-defined]


@pytest.mark.parametrize("project", ["", "Acme Prod", "-acme"])
def test_a_project_no_lake_bucket_is_named_after_is_one_line(capsys, monkeypatch, project):
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("FOODDELIVERY_MODE", "gcp")
    monkeypatch.setenv("FOODDELIVERY_PROJECT_ORDER", project)
    code, out, err = run(capsys, "order")
    assert (code, out) == (2, "")
    assert err.startswith(
        "fooddelivery lake events: "
        f"FOODDELIVERY_PROJECT_ORDER={project!r} is not a Google Cloud project id"
    )
    assert err.count("\n") == 1


def test_a_key_with_control_characters_is_shown_escaped_on_its_one_line(tmp_path, capsys):
    """A partition key may hold any character (an envelope's is free text): a line break
    must not split the event's line, nor an escape sequence reach the operator's terminal."""
    lake = LocalDirectoryLake(tmp_path)
    odd = placed(ms(31, 10), "r-1\n2026-01-31T10:00:00.000Z  forged\x1b[2J")
    lake.append("order", "bus", [(odd.timestamp, odd.to_bytes())])
    code, out, _ = run(capsys, "order", "--dir", str(tmp_path))
    assert code == 0
    assert out == (
        f"2026-01-31T10:00:00.000Z  order-placed  "
        f"r-1\\n2026-01-31T10:00:00.000Z  forged\\x1b[2J  {odd.id}\n"
    )


def test_a_dir_that_is_not_the_lakes_root_is_pointed_out(lake_dir, capsys):
    code, out, err = run(capsys, "order", "--dir", str(lake_dir / "order"))
    assert (code, out) == (0, "")
    assert err == (
        "no events in order's lake\n"
        f"(there is no order/bus/ under {lake_dir / 'order'}: --dir names the lake's root, "
        "which holds a folder per subsystem)\n"
    )
    code, out, err = run(capsys, "order", "--dir", str(lake_dir), "--key", "o-404")
    assert err == "no events in order's lake (with key o-404)\n"


def test_bucket_and_dir_do_not_go_together(lake_dir, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["lake", "events", "order", "--dir", str(lake_dir), "--bucket", "b"])
    assert exit.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_default_bucket_is_the_dev_stacks_or_the_terraform_one():
    dev = {"FOODDELIVERY_MODE": "emulator", "FOODDELIVERY_ENV": DEV_ENV}
    dev["STORAGE_EMULATOR_HOST"] = "http://127.0.0.1:9023"
    assert default_bucket("order", dev) == LAKE_BUCKET
    gcp = {"FOODDELIVERY_MODE": "gcp", "FOODDELIVERY_PROJECT_ORDER": "acme-fd-order-prod"}
    assert default_bucket("order", gcp) == "acme-fd-order-prod-lake"
    terraform = (PROJECT_ROOT / "terraform/modules/subsystem/pubsub.tf").read_text()
    assert 'name     = "${local.project_id}-lake"' in terraform


def test_a_named_bucket_is_read_without_a_mode(monkeypatch):
    monkeypatch.delenv("FOODDELIVERY_MODE", raising=False)
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    lake = open_lake("order", bucket="my-lake", environ={})
    assert type(lake).__name__ == "GcsLake"
    assert lake.bucket_name == "my-lake"  # type: ignore[attr-defined]


class ExpiringLake(LocalDirectoryLake):
    """A local lake whose lifecycle rule deletes ``doomed`` just after it is listed."""

    doomed: ClassVar[set[str]] = set()

    def _list_objects(self, folder: str) -> list[str]:
        listed = super()._list_objects(folder)
        for name in ExpiringLake.doomed & set(listed):
            (self.root / name).unlink()
        return listed


@pytest.mark.parametrize("limit", [[], ["--limit", "20"]])
def test_an_object_deleted_while_being_read_is_skipped_and_named_once(
    lake_dir, capsys, monkeypatch, limit
):
    names = LocalDirectoryLake(lake_dir).objects("order")
    doomed = {names[2], names[5]}
    monkeypatch.setattr(lake_command, "LocalDirectoryLake", ExpiringLake)
    monkeypatch.setattr(ExpiringLake, "doomed", doomed)
    code, out, err = run(capsys, "order", "--dir", str(lake_dir), *limit)
    assert code == 0, err
    assert ids_of(out) == [e.id for i, e in enumerate(EVENTS) if i not in (2, 5)]
    gone = "gone before it was read (deleted since listed)"
    assert err == "".join(f"skipped {name}: {gone}\n" for name in sorted(doomed))


def test_a_truncated_object_is_named_and_its_whole_lines_kept(tmp_path, capsys):
    whole, cut = placed(ms(31, 10), "o-1"), placed(ms(31, 10, 1), "o-2")
    name = "order/bus/2026/01/31/10/1769853600000-cut.jsonl"
    path = tmp_path / name
    path.parent.mkdir(parents=True)
    path.write_bytes(whole.to_bytes() + b"\n" + cut.to_bytes()[:-10])  # the write was cut short
    code, out, err = run(capsys, "order", "--dir", str(tmp_path))
    assert (code, ids_of(out)) == (0, [whole.id])
    assert err == f"skipped 1 line(s) of {name} that are no envelope\n"


def test_since_and_until_finer_than_a_millisecond_keep_their_edges(tmp_path, capsys):
    at = placed(ms(31, 10), "o-1")  # 10:00:00.000
    LocalDirectoryLake(tmp_path).append("order", "bus", [(at.timestamp, at.to_bytes())])
    lake = ["order", "--dir", str(tmp_path)]
    _, out, _ = run(capsys, *lake, "--since", "2026-01-31T10:00:00.000500")
    assert out == ""  # it happened before --since
    _, out, _ = run(capsys, *lake, "--until", "2026-01-31T10:00:00.000500")
    assert ids_of(out) == [at.id]  # it happened before --until
    _, out, _ = run(capsys, *lake, "--since", "2026-01-31T09:59:59.999900")
    assert ids_of(out) == [at.id]
    code, out, err = run(
        capsys,
        *lake,
        "--since",
        "2026-01-31T10:00:00.000100",
        "--until",
        "2026-01-31T10:00:00.000900",
    )
    assert (code, out) == (0, "")  # a window between two milliseconds holds no event
    assert err.startswith("no events in order's lake")


def test_a_folder_the_user_cannot_read_is_named_and_exit_2_not_no_events(
    lake_dir, capsys, monkeypatch
):
    refuse_reads(monkeypatch, lake_dir / "order" / "bus" / "2026" / "01" / "31" / "12")
    for window in ([], ["--since", "2026-01-31T12:00", "--until", "2026-01-31T13:00"]):
        code, out, err = run(capsys, "order", "--dir", str(lake_dir), *window)
        assert (code, out) == (2, "")
        assert err.startswith(
            "fooddelivery lake events: cannot list lake folder order/bus/2026/01/31/12/: "
        )
        assert "Permission denied" in err and err.count("\n") == 1


def test_a_choice_with_control_characters_is_echoed_escaped_on_one_line(lake_dir, capsys):
    """What no event matched is said back on stderr: a --key or --type holding a line
    break or an escape sequence must not break the line nor reach the terminal raw."""
    code, out, err = run(
        capsys, "order", "--dir", str(lake_dir), "--key", "o-9\n\x1b[2J", "--type", "x\ry"
    )
    assert (code, out) == (0, "")
    assert err == "no events in order's lake (of type x\\ry, with key o-9\\n\\x1b[2J)\n"
