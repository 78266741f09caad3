from __future__ import annotations

import base64

import pytest

from shared.envelope import new_event
from shared.exceptions import EnvelopeError
from shared.hub.message import from_message, parse_push, push_body, to_message


def test_envelope_maps_to_a_message_with_routing_attributes_and_ordering_key():
    event = new_event(
        "order-placed",
        "order",
        {"id": "o1"},
        partition_key="o1",
        tags={"source": "checkout-bff"},
    )
    message = to_message(event)
    assert message.ordering_key == "o1"
    assert message.attributes == {
        "type": "order-placed",
        "id": event.id,
        "partitionKey": "o1",
        "source": "checkout-bff",
    }
    assert from_message(message) == event


@pytest.mark.parametrize("name", ["type", "id", "partitionKey"])
def test_a_tag_named_like_an_envelope_attribute_is_refused_not_overwritten(name):
    # the data would keep the tag while the attribute of its name says something else
    event = new_event(
        "order-placed", "order", {"id": "o1"}, partition_key="o1", tags={name: "spoofed"}
    )
    with pytest.raises(EnvelopeError, match=f"tags.{name}: .*would be overwritten on the bus"):
        to_message(event)


def test_push_body_round_trips():
    event = new_event("order-placed", "order", {"id": "o1"}, partition_key="o1")
    sent = to_message(event)
    subscription, received = parse_push(push_body("projects/p/subscriptions/s", sent))
    assert subscription == "projects/p/subscriptions/s"
    assert received.data == sent.data
    assert received.attributes == sent.attributes
    assert received.ordering_key == "o1"
    assert received.delivery_attempt == 1


def test_emulator_push_shape_without_delivery_attempt_or_ordering_key():
    body = {
        "subscription": "s",
        "message": {"data": base64.b64encode(b"{}").decode(), "messageId": "5", "publishTime": "t"},
    }
    _, message = parse_push(body)
    assert (message.data, message.message_id, message.delivery_attempt) == (b"{}", "5", 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "$"),
        ([], "$"),
        ({"subscription": "s"}, "message"),
        ({"message": {"data": "***"}}, "message.data"),
        ({"message": {"data": "", "attributes": {"a": 1}}}, "message.attributes"),
    ],
)
def test_malformed_push_requests_name_the_field(body, field):
    with pytest.raises(EnvelopeError) as info:
        parse_push(body)
    assert info.value.field == field
