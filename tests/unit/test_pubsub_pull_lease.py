"""The pull worker leases a message for its subscription's ack deadline, not the SDK's hour.

A push delivery not answered within the subscription's ack deadline is delivered again;
the streaming-pull client would instead extend a message's deadline for up to an hour
(``FlowControl.max_lease_duration``), holding back the redelivery of a message whose
handler hangs. Each extension must also stay within Pub/Sub's 600 s per
``modifyAckDeadline``.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.hub.limits import MAX_ACK_DEADLINE_S
from shared.hub.pubsub_pull import DEFAULT_ACK_DEADLINE_S, PubSubPullWorker

PATH = "projects/order-dev/subscriptions/intake-esg-from-customer"


class _Stream:
    def add_done_callback(self, _callback: Any) -> None:
        pass

    def done(self) -> bool:
        return False

    def cancel(self) -> None:
        pass

    def result(self, timeout: float | None = None) -> None:
        return None


class _Client:
    """A subscriber client that records how it was asked to stream."""

    def __init__(self) -> None:
        self.flow_control: Any = None

    def subscribe(self, path: str, callback: Any, flow_control: Any) -> _Stream:
        assert path == PATH
        self.flow_control = flow_control
        return _Stream()


def leased(**options: Any) -> Any:
    """The flow control a worker built with ``options`` streams with."""
    client = _Client()
    with PubSubPullWorker(PATH, lambda _message: True, client, **options):
        pass
    return client.flow_control


@pytest.mark.parametrize("deadline", [10, 45, MAX_ACK_DEADLINE_S])
def test_a_message_is_leased_for_the_subscriptions_ack_deadline(deadline: int) -> None:
    flow = leased(ack_deadline_s=deadline, max_messages=7)

    assert flow.max_lease_duration == deadline  # was the SDK's 3600 s
    assert flow.max_duration_per_lease_extension == deadline  # each modifyAckDeadline's
    assert flow.max_messages == 7


def test_by_default_a_message_is_leased_for_a_channels_default_deadline() -> None:
    flow = leased()

    assert DEFAULT_ACK_DEADLINE_S == 60
    assert flow.max_lease_duration == flow.max_duration_per_lease_extension == 60


@pytest.mark.parametrize("deadline", [5, 601, 3600])
def test_a_deadline_pubsub_refuses_is_refused_before_any_stream(deadline: int) -> None:
    client = _Client()
    with pytest.raises(ValueError, match=f"ack deadline must be 10-600 s, got {deadline} s"):
        PubSubPullWorker(PATH, lambda _message: True, client, ack_deadline_s=deadline)
    assert client.flow_control is None
