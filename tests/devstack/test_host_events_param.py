"""``GET /_dev/events?after=N`` of a host, without emulators: a bad N is a 400 naming it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.test import Client

from devstack.host_app import build_app
from devstack.stats import Stats
from shared.api import HttpError
from shared.hub.message import Message
from shared.topology.model import Topic


@pytest.fixture
def client() -> Client:
    stats = Stats("order")
    stats.published(Topic.BUS, [Message(b"not an envelope", {}, message_id="m-1")])
    host: Any = SimpleNamespace(
        app=SimpleNamespace(name="order"),
        targets=dict,
        stats=stats,
        functions=SimpleNamespace(target=None, runtime=None),
    )
    return Client(build_app(host))


def test_events_after_a_count(client: Client) -> None:
    assert [e["id"] for e in client.get("/_dev/events?after=0").json["events"]] == ["m-1"]
    assert client.get("/_dev/events?after=1").json == {"events": []}


@pytest.mark.parametrize("after", ["²", "-1", "x"])
def test_events_after_what_is_no_count_is_refused(client: Client, after: str) -> None:
    answer = client.get("/_dev/events", query_string={"after": after})
    assert answer.status_code == 400
    refusal = HttpError(400, f"after must be a count of events (0, 1, ...), not {after!r}")
    assert answer.json == refusal.problem()
