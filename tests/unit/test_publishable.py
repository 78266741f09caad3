"""What Pub/Sub refuses is refused before publishing, by every publisher alike.

The emulator takes messages Pub/Sub refuses (a ``goog`` attribute name), and the
embedded hub would take anything: :func:`check_publishable` stands in for Pub/Sub.
"""

from __future__ import annotations

import pytest
from google.pubsub_v1 import types

from shared.exceptions import PublishError
from shared.hub.message import MAX_PUBLISH_BYTES, Message, check_publishable, publish_request_bytes

TOPIC = "projects/order-dev/topics/bus"


def client_measure(message: Message, topic: str = TOPIC) -> int:
    """What the Pub/Sub client measures against the request limit before it sends."""
    request = types.PublishRequest(
        topic=topic,
        messages=[
            types.PubsubMessage(
                data=message.data,
                attributes=dict(message.attributes),
                ordering_key=message.ordering_key,
            )
        ],
    )
    return int(request._pb.ByteSize())


@pytest.mark.parametrize(
    "message",
    [
        Message(b"", {"a": "b"}),
        Message(b"{}", {"e": "", "x" * 200: "é" * 500}, "k" * 130),
        Message(b"d" * 16_384, {f"a{i}": "v" * i for i in range(100)}, "o-1"),
        Message(b"d" * 2_100_000),
    ],
)
def test_a_request_is_measured_as_the_client_measures_it(message: Message) -> None:
    assert publish_request_bytes(message, TOPIC) == client_measure(message)


def with_request_size(size: int) -> Message:
    """A message whose publish request to :data:`TOPIC` is ``size`` bytes."""
    attributes = {"type": "order-placed"}
    data = b"x" * (size - publish_request_bytes(Message(b"", attributes), TOPIC) - 10)
    while publish_request_bytes(Message(data, attributes), TOPIC) < size:
        data += b"x"
    return Message(data, attributes)


def test_a_message_up_to_the_request_limit_is_publishable_and_not_one_byte_more() -> None:
    largest = with_request_size(MAX_PUBLISH_BYTES)
    assert client_measure(largest) == MAX_PUBLISH_BYTES

    check_publishable([largest], TOPIC)
    with pytest.raises(PublishError, match=f"more than {MAX_PUBLISH_BYTES}"):
        check_publishable([Message(largest.data + b"x", largest.attributes)], TOPIC)


@pytest.mark.parametrize("name", ["goog", "googTrace", "google-id"])
def test_an_attribute_name_starting_goog_is_refused(name: str) -> None:
    with pytest.raises(PublishError, match="reserves names starting 'goog'"):
        check_publishable([Message(b"{}", {"type": "t", name: "x"})], TOPIC)


def test_goog_inside_a_name_is_fine() -> None:
    check_publishable([Message(b"{}", {"type": "t", "via-goog": "x"})], TOPIC)


@pytest.mark.parametrize(
    "message",
    [
        Message("text", {"type": "t"}),  # type: ignore[arg-type]
        Message(b"{}", {"type": "t", "n": 1}),  # type: ignore[dict-item]
        Message(b"{}", {"type": "t", 1: "n"}),  # type: ignore[dict-item]
        Message(b"{}", {"type": "t"}, None),  # type: ignore[arg-type]
    ],
)
def test_what_the_client_cannot_send_is_a_publish_error_not_a_crash(message: Message) -> None:
    with pytest.raises(PublishError, match=r"not (bytes|a string)"):
        check_publishable([message], TOPIC)
