"""A pull worker whose stream the client ended on an error streams again (the emulator).

The subscriber client ends a streaming pull for good on an error it does not retry; the
worker opens a new stream after a backoff. Nothing is lost and each ordering key's
messages are still handed over in order; until then :meth:`PubSubPullWorker.outage`
says since when and why the worker hears nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import pubsub_v1

from shared.hub.message import Message
from shared.hub.pubsub_pull import PubSubPullWorker

pytestmark = pytest.mark.usefixtures("emulator_hosts")


def eventually(check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)
    return result


@pytest.fixture
def ordered() -> Iterator[tuple[Callable[[int], None], str]]:
    """(publish message ``n`` on key ``k``, the path of an ordered subscription)."""
    project = f"restart-{uuid.uuid4().hex[:10]}"
    options = pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    publisher = pubsub_v1.PublisherClient(publisher_options=options)
    subscriber = pubsub_v1.SubscriberClient()
    topic = publisher.create_topic(request={"name": f"projects/{project}/topics/orders"}).name
    path = f"projects/{project}/subscriptions/order-reader"
    subscriber.create_subscription(
        request={"name": path, "topic": topic, "enable_message_ordering": True}
    )

    def publish(n: int) -> None:
        publisher.publish(topic, str(n).encode(), ordering_key="k").result(timeout=30)

    yield publish, path
    publisher.transport.close()
    subscriber.close()


def test_a_stream_the_client_ended_on_an_error_is_restarted_keeping_each_key_s_order(
    ordered: tuple[Callable[[int], None], str],
) -> None:
    publish, path = ordered
    handled: list[int] = []

    def handle(message: Message) -> bool:
        handled.append(int(message.data))
        return True

    # The emulator hands a key to another stream once the ended one's lease has run out.
    worker = PubSubPullWorker(path, handle, ack_deadline_s=10)
    with worker:
        for n in range(3):
            publish(n)
        eventually(lambda: len(set(handled)) == 3)
        stream: Any = worker._future
        manager = stream._StreamingPullFuture__manager
        manager._on_rpc_done(exceptions.PermissionDenied("stream refused"))  # as the SDK does
        _, why = eventually(worker.outage)
        assert "PermissionDenied" in why
        for n in range(3, 10):  # while nobody streams, then once it streams again
            publish(n)
        eventually(lambda: len(set(handled)) == 10, 60)
        assert worker.outage() is None
        assert worker.running

    firsts = list(dict.fromkeys(handled))
    assert firsts == list(range(10)), handled
