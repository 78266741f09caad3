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
(:data:`~shared.envelope.MAX_TAG_NAME_BYTES`), values and the ordering key at most 1024
(:data:`~shared.envelope.MAX_ATTRIBUTE_BYTES`)."""


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
        """This message as the broker stored it: with its id and publish time."""
        return Message(
            self.data,
            self.attributes,
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

    Every publisher checks the whole sequence before it sends any of it, so a refused
    message never leaves part of its call published, and the embedded hub and the
    emulator (which does not check these limits) refuse what Pub/Sub refuses: a message
    with neither data nor attributes, too many attributes, a name, value or ordering key
    over its limit, or an attribute name the Pub/Sub client takes for an argument.
    """
    for index, message in enumerate(messages):
        problem = _unpublishable(message)
        if problem is not None:
            raise PublishError(f"cannot publish to {topic}: message {index} {problem}")


def _unpublishable(message: Message) -> str | None:
    """Why Pub/Sub would refuse ``message``; ``None`` if it would not."""
    attributes = message.attributes
    if not attributes and not message.data:
        return "has neither data nor attributes"
    # UTF-8 takes at most 4 bytes a character: most strings need no encoding to tell.
    key = message.ordering_key
    if len(key) * 4 > MAX_ATTRIBUTE_BYTES and len(key.encode()) > MAX_ATTRIBUTE_BYTES:
        return f"has an ordering key longer than {MAX_ATTRIBUTE_BYTES} bytes"
    if not attributes:
        return None
    if len(attributes) > MAX_ATTRIBUTES:
        return f"has {len(attributes)} attributes, more than Pub/Sub's {MAX_ATTRIBUTES}"
    clash = CLIENT_KEYWORDS.intersection(attributes)
    if clash:
        return f"has attribute names {sorted(clash)}, reserved by the Pub/Sub client"
    for name, value in attributes.items():
        if not name or (
            len(name) * 4 > MAX_TAG_NAME_BYTES and len(name.encode()) > MAX_TAG_NAME_BYTES
        ):
            return f"has an attribute name that is not 1 to {MAX_TAG_NAME_BYTES} bytes"
        if len(value) * 4 > MAX_ATTRIBUTE_BYTES and len(value.encode()) > MAX_ATTRIBUTE_BYTES:
            return f"has attribute {name[:40]!r} longer than {MAX_ATTRIBUTE_BYTES} bytes"
    return None


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
