"""``fooddelivery lake replay``: a window of a subsystem's lake published on its bus again.

The lake is a :class:`LocalDirectoryLake`; the bus is a recording publisher put where
the command reaches the subsystem's bus (:func:`shared.runtime.operator.connect_bus`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.cli import main
from shared.clock import ManualClock
from shared.envelope import Envelope, new_event
from shared.exceptions import PublishError
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message, from_message
from shared.lake import LocalDirectoryLake
from shared.lake.republish import RepublishError, prepare, publish
from shared.runtime import operator
from shared.runtime.embedded import EmbeddedSystem
from shared.sample import alpha, beta
from shared.topology.model import Topic

TOPIC = "projects/order-dev/topics/bus"


def ms(hour: int, minute: int = 0) -> int:
    """Epoch ms of 2026-01-31 hh:mm UTC."""
    return int(datetime(2026, 1, 31, hour, minute, tzinfo=UTC).timestamp() * 1000)


def placed(at: int, key: str, kind: str = "order-placed", **tags: str) -> Envelope:
    return new_event(kind, "order", {"id": key}, partition_key=key, timestamp=at, tags=tags)


EVENTS = [
    placed(ms(10, 5), "o-1"),
    placed(ms(10, 50), "o-2"),
    placed(ms(11, 0), "o-1", "order-accepted"),
    placed(ms(12, 30), "o-2", "order-accepted"),
    placed(ms(13, 0), "o-1", "order-ready"),
]


class RecordingBus(AbstractPublisher):
    """Takes every publish call, unless told to refuse the ``refuse_call``-th (1-based)."""

    def __init__(self, refuse_call: int = 0) -> None:
        self.calls: list[tuple[Topic, list[Message]]] = []
        self.refuse_call = refuse_call
        self.closed = False

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        if len(self.calls) + 1 == self.refuse_call:
            raise PublishError("the broker is\nunavailable")
        self.calls.append((topic, list(messages)))
        return [str(i) for i in range(len(messages))]

    def close(self) -> None:
        self.closed = True

    @property
    def published(self) -> list[Message]:
        return [m for _, batch in self.calls for m in batch]


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    lake = LocalDirectoryLake(tmp_path / "lake")
    for event in EVENTS:
        lake.append("order", "bus", [(event.timestamp + 2000, event.to_bytes())])
    first = EVENTS[0]  # delivered to the lake writer twice (at-least-once)
    lake.append("order", "bus", [(first.timestamp + 9000, first.to_bytes())])
    return tmp_path / "lake"


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> RecordingBus:
    recording = RecordingBus()
    connected: list[str] = []

    def connect_bus(subsystem: str, environ: object = None) -> RecordingBus:
        connected.append(subsystem)
        return recording

    monkeypatch.setattr(operator, "connect_bus", connect_bus)
    return recording


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lake", "replay", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_window_goes_back_on_the_bus_oldest_first_each_event_once(lake_dir, bus, capsys):
    code, _, err = run(capsys, "order", "--dir", str(lake_dir), "--since", "2026-01-31T10:30")
    assert code == 0, err
    assert {topic for topic, _ in bus.calls} == {Topic.BUS}
    assert [from_message(m) for m in bus.published] == EVENTS[1:]
    assert "published 4 event(s)" in err
    assert bus.closed


def test_a_replayed_event_keeps_its_id_key_and_attributes(lake_dir, bus, capsys):
    code, _, err = run(capsys, "order", "--dir", str(lake_dir), "--since", "2026-01-31")
    assert code == 0, err
    ids = [m.attributes["id"] for m in bus.published]
    assert ids == [e.id for e in EVENTS]  # the copy stored twice is published once
    first = bus.published[0]
    assert first.ordering_key == "o-1"
    assert first.attributes["type"] == "order-placed"
    assert first.attributes["partitionKey"] == "o-1"


def test_type_key_and_until_narrow_what_is_published(lake_dir, bus, capsys):
    argv = ["order", "--dir", str(lake_dir), "--since", "2026-01-31", "--until", "2026-01-31T13:00"]
    code, _, _ = run(capsys, *argv, "--key", "o-1")
    assert code == 0
    assert [m.attributes["id"] for m in bus.published] == [EVENTS[0].id, EVENTS[2].id]


def test_dry_run_lists_the_events_and_publishes_nothing(lake_dir, monkeypatch, capsys):
    def connect(subsystem: str, environ: object = None) -> None:
        raise AssertionError("a dry run reaches no bus")

    monkeypatch.setattr(operator, "connect", connect)
    code, out, err = run(
        capsys, "order", "--dir", str(lake_dir), "--since", "2026-01-31", "--dry-run"
    )
    assert code == 0, err
    assert [line.split()[-1] for line in out.splitlines()] == [e.id for e in EVENTS]
    assert "5 event(s) would be published" in err


def test_since_is_required(lake_dir, bus, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["lake", "replay", "order", "--dir", str(lake_dir)])
    assert exit_.value.code == 2
    assert "--since" in capsys.readouterr().err
    assert bus.calls == []


def test_bad_input_is_refused_before_the_bus_is_reached(lake_dir, monkeypatch, capsys):
    def connect_bus(subsystem: str, environ: object = None) -> None:
        raise AssertionError("bad input reaches no bus")

    monkeypatch.setattr(operator, "connect_bus", connect_bus)
    code, _, err = run(capsys, "order", "--dir", str(lake_dir), "--since", "yesterday")
    assert code == 2
    assert "--since 'yesterday' is not an ISO 8601 date" in err
    code, _, err = run(capsys, "nosuch", "--dir", str(lake_dir), "--since", "2026-01-31")
    assert code == 2
    assert "no subsystem 'nosuch'" in err


def test_an_unreachable_bus_is_a_message_not_a_traceback(lake_dir, monkeypatch, capsys):
    monkeypatch.delenv("FOODDELIVERY_MODE", raising=False)
    code, _, err = run(capsys, "order", "--dir", str(lake_dir), "--since", "2026-01-31")
    assert code == 2
    assert err.startswith(
        "fooddelivery lake replay: cannot reach order's bus: FOODDELIVERY_MODE is not set"
    )
    assert "Traceback" not in err


def test_a_refused_batch_says_how_many_were_published_before_it(lake_dir, monkeypatch, capsys):
    refusing = RecordingBus(refuse_call=2)
    monkeypatch.setattr(operator, "connect_bus", lambda subsystem, environ=None: refusing)
    monkeypatch.setattr("shared.lake.republish.BATCH", 2)
    code, _, err = run(capsys, "order", "--dir", str(lake_dir), "--since", "2026-01-31")
    assert code == 2
    assert [from_message(m) for m in refusing.published] == EVENTS[:2]
    assert "the bus refused a batch of 2 event(s) (the broker is unavailable)" in err
    assert "2 event(s) were published before it" in err
    resume = "2026-01-31T11:00:00.000Z"  # the third event's time: the first not published
    assert f"every event before {resume} among them" in err
    assert f"run the command again with --since {resume} to go on" in err
    assert len(err.splitlines()) == 1
    assert refusing.closed

    resumed = RecordingBus()
    monkeypatch.setattr(operator, "connect_bus", lambda subsystem, environ=None: resumed)
    code, _, _ = run(capsys, "order", "--dir", str(lake_dir), "--since", resume)
    assert code == 0
    assert [from_message(m) for m in resumed.published] == EVENTS[2:]


def test_an_event_no_bus_takes_is_named_and_the_rest_published(tmp_path, bus, capsys):
    good = placed(ms(10), "o-1")
    bad = placed(ms(11), "o-2", **{"id": "x"})  # a tag that the id attribute would hide
    LocalDirectoryLake(tmp_path).append(
        "order", "bus", [(e.timestamp, e.to_bytes()) for e in (good, bad)]
    )
    code, _, err = run(capsys, "order", "--dir", str(tmp_path), "--since", "2026-01-31")
    assert code == 1
    assert [m.attributes["id"] for m in bus.published] == [good.id]
    assert f"not published: {bad.id}: " in err
    assert "tags.id" in err


def test_publish_sends_batches_in_order_and_counts_them() -> None:
    bus = RecordingBus()
    prepared = prepare(EVENTS, TOPIC)
    assert publish(bus, prepared.messages, batch=2) == 5
    assert [len(batch) for _, batch in bus.calls] == [2, 2, 1]
    assert [from_message(m) for m in bus.published] == EVENTS


def test_publish_reports_the_count_before_a_refused_batch() -> None:
    with pytest.raises(RepublishError) as raised:
        publish(RecordingBus(refuse_call=3), prepare(EVENTS, TOPIC).messages, batch=2)
    assert raised.value.published == 4


def test_a_dropped_view_is_rebuilt_through_the_hubs_publisher_port(tmp_path):
    """Embedded: beta's micro event store, dropped, filled again from beta's lake."""
    system = EmbeddedSystem(
        [alpha.APP, beta.APP], clock=ManualClock(), lake=LocalDirectoryLake(tmp_path / "lake")
    )
    alpha.api(system.ports["alpha"]).test_client().post(
        "/carts/c1/checkout", json={"items": ["book"]}
    )
    system.run_until_quiet()
    before = system.stores["beta"].query("shipping-events")
    assert len(before) == 1
    for doc in before:
        system.stores["beta"].delete("shipping-events", doc.key)

    events = list(system.hub._lake.replay("beta"))
    prepared = prepare(events, "projects/beta/topics/bus")
    assert publish(system.hub.publisher("beta"), prepared.messages) == len(events)
    system.run_until_quiet()

    assert system.stores["beta"].query("shipping-events") == before
    assert system.faults("alpha") == system.faults("beta") == []
