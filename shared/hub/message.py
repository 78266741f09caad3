"""Pub/Sub messages: the envelope's transport form, and the push request format.

An envelope travels as a Pub/Sub message whose data is the envelope's JSON and
whose attributes repeat what routing needs (``type``, ``id``, ``partitionKey``
and every tag, e.g. ``source``), so subscription filters can select on them
without decoding the data. The ordering key is the partition key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from shared.envelope import CLIENT_KEYWORDS, MAX_ATTRIBUTE_BYTES, MAX_TAG_NAME_BYTES, Envelope
from shared.exceptions import EnvelopeError, PublishError

ATTRIBUTE_TYPE = "type"
ATTRIBUTE_ID = "id"
ATTRIBUTE_PARTITION_KEY = "partitionKey"
RESERVED_ATTRIBUTES = frozenset({ATTRIBUTE_TYPE, ATTRIBUTE_ID, ATTRIBUTE_PARTITION_KEY})
KIT_TAGS = ("source", "function", "subsystem", "env")
"""The tags (and attributes) the kit stamps on every event a function emits."""
DEAD_LETTER_PREFIX = "CloudPubSubDeadLetterSource"
MAX_ATTRIBUTES = 100
"""Pub/Sub's limit on a message's attributes; names are 1 to 256 bytes
(:data:`~shared.envelope.MAX_TAG_NAME_BYTES`) and do not start with ``goog``
(:data:`RESERVED_ATTRIBUTE_PREFIX`), values and the ordering key at most 1024
(:data:`~shared.envelope.MAX_ATTRIBUTE_BYTES`)."""
RESERVED_ATTRIBUTE_PREFIX = "goog"
"""Pub/Sub refuses an attribute name that starts with this."""
MAX_PUBLISH_BYTES = 10_000_000
"""Pub/Sub's limit on a publish request, which the client enforces on each message: the
message's encoded data, attributes and ordering key, with the topic's name
(:func:`publish_request_bytes`)."""


@dataclass(frozen=True, slots=True)
class Message:
    """A Pub/Sub message as a consumer receives it (or a publisher sends it)."""

    data: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)
    ordering_key: str = ""
    message_id: str = ""
    publish_time: str = ""
    delivery_attempt: int = 1

    # The hub copies every message on publish and on each delivery: these two spell the
    # constructor out, several times faster than dataclasses.replace.
    def published(self, message_id: str, publish_time: str) -> Message:
        """This message as the broker stored it: with its id and publish time, and its
        attributes copied (a publisher that changes its dict afterwards changes nothing)."""
        return Message(
            self.data,
            dict(self.attributes),
            self.ordering_key,
            message_id,
            publish_time,
            self.delivery_attempt,
        )

    def delivered(self, attempt: int) -> Message:
        """This message as its ``attempt``-th delivery hands it to a subscriber."""
        return Message(
            self.data,
            self.attributes,
            self.ordering_key,
            self.message_id,
            self.publish_time,
            attempt,
        )

    @property
    def is_dead_letter(self) -> bool:
        """True when Pub/Sub forwarded this message to a dead-letter topic."""
        return f"{DEAD_LETTER_PREFIX}Subscription" in self.attributes


def check_publishable(messages: Sequence[Message], topic: str) -> None:
    """Raise :class:`PublishError` naming ``topic`` if Pub/Sub would refuse any of ``messages``.

    ``topic`` is the topic's resource name (``projects/{project}/topics/{topic}``), which
    counts towards a publish request's size. Every publisher checks the whole sequence
    before it sends any of it, so a refused message never leaves part of its call
    published, and the embedded hub and the emulator (which does not check these limits)
    refuse what Pub/Sub refuses: a message with neither data nor attributes, too many
    attributes, a name, value or ordering key over its limit, an attribute name starting
    with ``goog`` or one the Pub/Sub client takes for an argument, or a message larger
    than a publish request may be (:data:`MAX_PUBLISH_BYTES`).
    """
    for index, message in enumerate(messages):
        problem = _unpublishable(message, topic)
        if problem is not None:
            raise PublishError(f"cannot publish to {topic}: message {index} {problem}")


def publish_request_bytes(message: Message, topic: str) -> int:
    """The encoded size of a publish request carrying ``message`` alone to ``topic`` (its
    resource name): what the Pub/Sub client measures against :data:`MAX_PUBLISH_BYTES`."""
    size = _field_bytes(len(message.data)) + _field_bytes(len(message.ordering_key.encode()))
    for name, value in message.attributes.items():  # a map entry holds even an empty value
        entry = sum(1 + _varint_bytes(n) + n for n in (len(name.encode()), len(value.encode())))
        size += 1 + _varint_bytes(entry) + entry
    return _field_bytes(len(topic.encode())) + 1 + _varint_bytes(size) + size


def _field_bytes(length: int) -> int:
    """Bytes of a protobuf string or bytes field of ``length`` (none when it is empty)."""
    return 1 + _varint_bytes(length) + length if length else 0


def _varint_bytes(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _unpublishable(message: Message, topic: str) -> str | None:
    """Why Pub/Sub would refuse ``message`` on ``topic``; ``None`` if it would not."""
    attributes = message.attributes
    if not isinstance(message.data, bytes):
        return f"has data of type {type(message.data).__name__}, not bytes"
    if not attributes and not message.data:
        return "has neither data nor attributes"
    if not isinstance(message.ordering_key, str) or not all(
        type(name) is str and type(value) is str for name, value in attributes.items()
    ):
        return "has an ordering key, attribute name or value that is not a string"
    key_bytes = _utf8_bytes(message.ordering_key)
    if key_bytes < 0:
        return "has an ordering key that is not UTF-8 text (it holds a lone surrogate)"
    if key_bytes > MAX_ATTRIBUTE_BYTES:
        return f"has an ordering key longer than {MAX_ATTRIBUTE_BYTES} bytes"
    if len(attributes) > MAX_ATTRIBUTES:
        return f"has {len(attributes)} attributes, more than Pub/Sub's {MAX_ATTRIBUTES}"
    clash = CLIENT_KEYWORDS.intersection(attributes)
    if clash:
        return f"has attribute names {sorted(clash)}, reserved by the Pub/Sub client"
    for name, value in attributes.items():
        name_bytes, value_bytes = _utf8_bytes(name), _utf8_bytes(value)
        if name_bytes < 0 or value_bytes < 0:
            return f"has attribute {name[:40]!r} that is not UTF-8 text (a lone surrogate)"
        if not 0 < name_bytes <= MAX_TAG_NAME_BYTES:
            return f"has an attribute name that is not 1 to {MAX_TAG_NAME_BYTES} bytes"
        if name.startswith(RESERVED_ATTRIBUTE_PREFIX):
            return f"has attribute {name[:40]!r}: Pub/Sub reserves names starting 'goog'"
        if value_bytes > MAX_ATTRIBUTE_BYTES:
            return f"has attribute {name[:40]!r} longer than {MAX_ATTRIBUTE_BYTES} bytes"
    # What else a message Pub/Sub takes may hold (100 attributes, an ordering key, the topic
    # name) is under 200 kB: smaller data needs no exact count.
    if len(message.data) > MAX_PUBLISH_BYTES - 200_000:
        size = publish_request_bytes(message, topic)
        if size > MAX_PUBLISH_BYTES:
            return f"makes a publish request of {size} bytes, more than {MAX_PUBLISH_BYTES}"
    return None


def _utf8_bytes(text: str) -> int:
    """The length of ``text`` in UTF-8; -1 when it is no UTF-8 text (a lone surrogate)."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        return -1


def dead_lettered(message: Message, project: str, subscription: str, attempts: int) -> Message:
    """``message`` as Pub/Sub forwards it to a dead-letter topic, with its source attributes."""
    attributes = {
        **message.attributes,
        f"{DEAD_LETTER_PREFIX}Subscription": subscription,
        f"{DEAD_LETTER_PREFIX}SubscriptionProject": project,
        f"{DEAD_LETTER_PREFIX}DeliveryCount": str(attempts),
        f"{DEAD_LETTER_PREFIX}TopicPublishTime": message.publish_time,
    }
    return replace(message, attributes=attributes)


def to_message(event: Envelope) -> Message:
    """Map an envelope onto the message that carries it on the bus.

    Raise :class:`EnvelopeError` for a tag named like one of the envelope's own attributes
    (:data:`RESERVED_ATTRIBUTES`): its attribute would be the envelope's, not the tag's.
    """
    if not RESERVED_ATTRIBUTES.isdisjoint(event.tags):
        name = min(RESERVED_ATTRIBUTES.intersection(event.tags))
        raise EnvelopeError(
            f"tags.{name}",
            f"{', '.join(sorted(RESERVED_ATTRIBUTES))} name the envelope's own attributes: "
            "a tag so named would be overwritten on the bus",
        )
    attributes = dict(event.tags)
    attributes[ATTRIBUTE_TYPE] = event.type
    attributes[ATTRIBUTE_ID] = event.id
    attributes[ATTRIBUTE_PARTITION_KEY] = event.partition_key
    return Message(data=event.to_bytes(), attributes=attributes, ordering_key=event.partition_key)


def from_message(message: Message) -> Envelope:
    """Decode the envelope a message carries; raise :class:`EnvelopeError` if it is not one."""
    return Envelope.from_bytes(message.data)


def parse_push(body: Any) -> tuple[str, Message]:
    """Parse a push request body into (subscription, message).

    The body is the wrapped JSON that both GCP and the emulator POST::

        {"subscription": "projects/p/subscriptions/s", "deliveryAttempt": 2,
         "message": {"data": "<base64>", "attributes": {...}, "messageId": "5",
                     "publishTime": "...", "orderingKey": "..."}}

    Raise :class:`EnvelopeError` when the body is not such a request.
    """
    if not isinstance(body, Mapping):
        raise EnvelopeError("$", "push request body must be a JSON object")
    raw = body.get("message")
    if not isinstance(raw, Mapping):
        raise EnvelopeError("message", "push request has no message object")
    try:
        data = base64.b64decode(raw.get("data", ""), validate=True)
    except (binascii.Error, TypeError, ValueError) as e:
        raise EnvelopeError("message.data", f"not base64 ({e})") from e
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, Mapping) or not all(
        isinstance(v, str) for v in attributes.values()
    ):
        raise EnvelopeError("message.attributes", "must be an object of strings")
    attempt = body.get("deliveryAttempt", 1)
    message = Message(
        data=data,
        attributes=dict(attributes),
        ordering_key=str(raw.get("orderingKey", "")),
        message_id=str(raw.get("messageId", raw.get("message_id", ""))),
        publish_time=str(raw.get("publishTime", raw.get("publish_time", ""))),
        delivery_attempt=attempt if isinstance(attempt, int) and attempt > 0 else 1,
    )
    return str(body.get("subscription", "")), message


def push_body(subscription: str, message: Message) -> dict[str, Any]:
    """The wrapped push request for a message: what the broker would POST."""
    publish_time = message.publish_time or datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "subscription": subscription,
        "deliveryAttempt": message.delivery_attempt,
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": dict(message.attributes),
            "messageId": message.message_id,
            "publishTime": publish_time,
            "orderingKey": message.ordering_key,
        },
    }


def push_json(subscription: str, message: Message) -> bytes:
    """:func:`push_body` serialized, ready to POST."""
    return json.dumps(push_body(subscription, message)).encode()
