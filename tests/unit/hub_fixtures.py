"""What the embedded hub's unit tests share: a manual clock, a hub on it with every topic in
project ``p``, and the messages they publish there. A test module imports the fixtures it
uses by name."""

from __future__ import annotations

import pytest

from shared.clock import ManualClock
from shared.hub.memory import InMemoryHub
from shared.hub.message import Message
from shared.topology import Topic


def msg(name: str, key: str = "") -> Message:
    """A message of type ``t`` carrying ``name``, ordered by ``key`` (none if empty)."""
    return Message(data=name.encode(), attributes={"type": "t"}, ordering_key=key)


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock: it moves only when a test (or the hub, waiting a backoff) moves it."""
    return ManualClock()


@pytest.fixture
def hub(clock: ManualClock) -> InMemoryHub:
    """An embedded hub on ``clock`` with every topic in project ``p``."""
    hub = InMemoryHub(clock)
    for topic in Topic:
        hub.create_topic("p", topic)
    return hub
