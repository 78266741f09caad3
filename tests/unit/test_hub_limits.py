"""Both backends refuse the subscription settings Pub/Sub refuses (the emulator takes an
ack deadline under 10 s, GCP does not)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.hub.memory import Subscription
from shared.hub.provision import ProvisionError, provision_subscription
from shared.runtime.outcome import Outcome
from shared.topology.model import Topic


class RecordingSubscriber:
    """A subscriber client that records the calls made on it and answers them all."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self.calls.append(name)


REFUSED = [
    pytest.param({"ack_deadline_s": 5}, "ack deadline must be 10-600 s, got 5 s", id="ack 5 s"),
    pytest.param({"ack_deadline_s": 601}, "ack deadline must be 10-600 s", id="ack 601 s"),
    pytest.param({"min_backoff_s": -1}, "backoff must satisfy", id="negative backoff"),
    pytest.param({"min_backoff_s": 20, "max_backoff_s": 10}, "backoff must", id="min > max"),
    pytest.param({"max_backoff_s": 700}, "backoff must satisfy", id="max 700 s"),
]


@pytest.mark.parametrize("settings, problem", REFUSED)
def test_provisioning_refuses_what_pubsub_would_before_any_call(
    settings: dict[str, float], problem: str
) -> None:
    subscriber = RecordingSubscriber()
    with pytest.raises(ProvisionError, match=problem):
        provision_subscription("p", "lake-writer", Topic.BUS, subscriber=subscriber, **settings)
    assert subscriber.calls == []


@pytest.mark.parametrize("settings, problem", REFUSED)
def test_the_embedded_hub_refuses_the_same(settings: dict[str, float], problem: str) -> None:
    seconds = {"ack_deadline_s": 60, "min_backoff_s": 1, "max_backoff_s": 10, **settings}
    with pytest.raises(ValueError, match=problem):
        Subscription(
            "s",
            lambda m, a: Outcome.ACK,
            min_backoff_ms=int(seconds["min_backoff_s"] * 1000),
            max_backoff_ms=int(seconds["max_backoff_s"] * 1000),
            ack_deadline_ms=int(seconds["ack_deadline_s"] * 1000),
        )


def test_provisioning_takes_the_limits_themselves() -> None:
    subscriber = RecordingSubscriber()
    provision_subscription(
        "p",
        "lake-writer",
        Topic.BUS,
        ack_deadline_s=10,
        min_backoff_s=0,
        max_backoff_s=600,
        subscriber=subscriber,
    )
    assert subscriber.calls == ["create_subscription"]
