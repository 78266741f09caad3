"""``fooddelivery dev --scenario``'s timeline says why an event happened, as the demo's does.

A host's ``/_dev/events`` carried no note, so the live timeline showed ``order-rejected``
where the embedded demo shows ``order-rejected (Out of fresh basil tonight)``, and
``offer-withdrawn`` where it shows ``offer-withdrawn (expired)``. The host now notes it
when the event is published (:func:`shared.timeline.note_of`) and the live stack reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

from devstack.host_app import build_app
from devstack.host_runtime import HostRuntime
from devstack.layout import Manifest
from devstack.live import LiveStack
from order.topology import APP as ORDER
from scenario.actors import Urls
from shared.envelope import Envelope, new_event
from shared.http import WsgiTransport
from shared.hub.message import to_message
from shared.settings import Settings
from shared.timeline import Timeline
from shared.topology.model import Topic

POS = {"POS_URL": "http://pos.test", "POS_CALLBACK_URL": "http://o.test", "POS_WEBHOOK_SECRET": "s"}
HOST = "http://order-host.test"
AT = 1_700_000_000_000
REJECTED = new_event(
    "order-rejected",
    "order",
    {"orderId": "o-1", "reason": "Out of fresh basil tonight"},
    partition_key="o-1",
    timestamp=AT,
)
EXPIRED = new_event(
    "offer-withdrawn",
    "offer",
    {"orderId": "o-1", "expiresAt": AT},
    partition_key="o-1",
    timestamp=AT,
)
PLAIN = new_event("order-placed", "order", {"orderId": "o-2"}, partition_key="o-2", timestamp=AT)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[HostRuntime]:
    """The order subsystem's dev host on in-memory adapters, nothing started."""
    found = HostRuntime(ORDER, Settings(mode="memory", extra=POS), tmp_path)
    yield found
    found.checkpoint.close()


def published(host: HostRuntime, key: Path, *events: Envelope) -> LiveStack:
    """A live stack of ``host`` alone, once ``events`` are published on its bus."""
    host.stats.published(Topic.BUS, [to_message(e) for e in events])
    bffs = {f"{name}_bff_api": HOST for name in Urls.__dataclass_fields__ if name != "pos"}
    manifest = Manifest({"order": HOST}, {"pos": HOST}, bffs, {}, str(key))
    live = LiveStack(manifest)
    live.session.mount(HOST, WsgiTransport(build_app(host)))
    return live


def test_the_live_timeline_shows_the_reason_and_the_expiry(
    host: HostRuntime, tmp_path: Path
) -> None:
    entries = published(host, tmp_path / "key.pem", REJECTED, EXPIRED, PLAIN).events()
    assert [e.label for e in entries] == [
        "order-rejected (Out of fresh basil tonight)",
        "offer-withdrawn (expired)",
        "order-placed",
    ]


def test_the_live_timeline_lines_are_the_embedded_demo_s(host: HostRuntime, tmp_path: Path) -> None:
    embedded = Timeline()
    for event in (REJECTED, EXPIRED, PLAIN):
        embedded.observe("order", "bus", to_message(event))
    live = published(host, tmp_path / "key.pem", REJECTED, EXPIRED, PLAIN)
    assert Timeline(entries=live.events()).lines() == embedded.lines()


def test_an_event_s_note_is_in_the_host_s_events(host: HostRuntime) -> None:
    host.stats.published(Topic.BUS, [to_message(REJECTED), to_message(PLAIN)])
    answer = Client(build_app(host)).get("/_dev/events?after=0")
    notes = [e["note"] for e in answer.json["events"]]
    assert notes == ["Out of fresh basil tonight", ""]
