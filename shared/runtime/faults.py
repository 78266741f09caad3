"""Faults: messages a function could not process, kept, inspectable, resubmittable.

Two things arrive on a subsystem's ``faults`` topic:

* **fault events** that the kit publishes when a handler meets a poison message
  (undecodable bytes, an invalid event, a business-rule violation);
* **dead letters** that Pub/Sub forwards after a subscription's maximum delivery
  attempts: the original message plus ``CloudPubSubDeadLetterSource*`` attributes.

The fault recorder stores both in the ``faults`` collection in one shape,
keeping the original message, so it can be handed back once the cause is fixed:
published to the bus again (:func:`resubmit`), or delivered to the function that
refused it (:mod:`shared.runtime.fault_replay`; :func:`mark_replayed` records that).

A fault recorded again later (the same function refusing the same message, say a
replay refused once more) reopens the record and counts a recurrence, so a replay
that did not help is never taken for one that did.
"""

from __future__ import annotations

import base64
import hashlib
import traceback
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.envelope import Envelope, derive_id
from shared.exceptions import EnvelopeError
from shared.hub.message import ATTRIBUTE_ID, DEAD_LETTER_PREFIX, Message, from_message
from shared.stores.document_rules import is_field_name
from shared.topology.model import Topic

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.hub.base import AbstractPublisher
    from shared.stores.base import AbstractDocumentStore, Doc

FAULT_TYPE = "fault"
FAULTS_COLLECTION = "faults"
RECORDER_BACKOFF_S = (10, 600)
"""Redelivery backoff (min, max) of the fault recorder's subscription, which has no
attempt limit and no dead-letter topic: a fault is retried until it is recorded."""
MAX_ERROR_CHARS = 4000
RECORDED_MESSAGE = "recordedMessageId"
"""The record's field holding the id of the ``faults`` message it was last recorded from."""


ODD_ATTRIBUTES = "oddAttributes"
"""Where a stored message keeps attributes whose names Firestore refuses as field names
(``__x__``), as ``[{key, value}]``: Pub/Sub takes them, and the fault must still be stored."""


def message_json(message: Message) -> dict[str, Any]:
    """A message in JSON form (data as base64), for storing and resubmitting."""
    attributes = message.attributes
    stored: dict[str, Any] = {
        "data": base64.b64encode(message.data).decode(),
        "attributes": {k: v for k, v in attributes.items() if is_field_name(k)},
        "orderingKey": message.ordering_key,
        "messageId": message.message_id,
        "publishTime": message.publish_time,
    }
    odd = [{"key": k, "value": v} for k, v in attributes.items() if not is_field_name(k)]
    return {**stored, ODD_ATTRIBUTES: odd} if odd else stored


def message_from_json(doc: dict[str, Any]) -> Message:
    """Inverse of :func:`message_json`."""
    odd = {pair["key"]: pair["value"] for pair in doc.get(ODD_ATTRIBUTES, [])}
    return Message(
        data=base64.b64decode(doc["data"]),
        attributes={**doc.get("attributes", {}), **odd},
        ordering_key=doc.get("orderingKey", ""),
        message_id=doc.get("messageId", ""),
        publish_time=doc.get("publishTime", ""),
    )


def fault_event(
    *,
    subsystem: str,
    function: str,
    message: Message,
    error: BaseException,
    clock: Clock,
    env: str = "local",
) -> Envelope:
    """The fault event for ``message`` that ``function`` rejected with ``error``.

    Its id derives from the function and the event the message carries (its
    envelope id, else its message id, else its bytes), so a redelivered poison
    message yields the same fault, not a second one, and so does the same event
    published again with a new message id (a redelivered ingress re-publishes it,
    ``faults resubmit`` publishes it anew).
    """
    original = (
        message.attributes.get(ATTRIBUTE_ID)
        or message.message_id
        or hashlib.sha256(message.data).hexdigest()
    )
    partition_key = message.attributes.get("partitionKey") or original
    details = "".join(traceback.format_exception(error))[-MAX_ERROR_CHARS:]
    return Envelope(
        id=derive_id(FAULT_TYPE, function, original),
        type=FAULT_TYPE,
        timestamp=clock.now_ms(),
        partition_key=partition_key,
        entity="fault",
        body={
            "function": function,
            "reason": "poison",
            "error": {"type": type(error).__name__, "message": str(error), "details": details},
            "deliveryAttempt": message.delivery_attempt,
            "message": message_json(message),
        },
        tags={"source": "kit", "function": function, "subsystem": subsystem, "env": env},
    )


def fault_record(message: Message) -> tuple[str, Doc]:
    """Normalize what arrived on ``faults`` into the stored fault document (key, doc)."""
    if message.is_dead_letter:
        attrs = message.attributes
        original = {k: v for k, v in attrs.items() if not k.startswith(DEAD_LETTER_PREFIX)}
        count = attrs.get(f"{DEAD_LETTER_PREFIX}DeliveryCount", "0")
        # Pub/Sub may dead-letter one message more than once, each time with a new id:
        # the record is keyed by what was dead-lettered, so it is one fault.
        key = derive_id(
            "dead-letter",
            attrs[f"{DEAD_LETTER_PREFIX}Subscription"],
            attrs.get(ATTRIBUTE_ID) or hashlib.sha256(message.data).hexdigest(),
        )
        return key, {
            "id": key,
            "reason": "dead-letter",
            "function": attrs[f"{DEAD_LETTER_PREFIX}Subscription"].rsplit("/", 1)[-1],
            "error": {
                "type": "MaxDeliveryAttemptsExceeded",
                "message": f"not acknowledged after {count} attempts",
            },
            "deliveryAttempt": int(count) if count.isdigit() else 0,
            "message": message_json(replace(message, attributes=original)),
            "status": "open",
            RECORDED_MESSAGE: message.message_id,
        }
    try:
        event = from_message(message)
    except EnvelopeError:
        event = None
    if event is None or event.type != FAULT_TYPE:
        # Something published straight onto `faults`: keep it as it came.
        key = derive_id(
            "unexpected", message.message_id or hashlib.sha256(message.data).hexdigest()
        )
        return key, {
            "id": key,
            "reason": "unexpected",
            "function": "",
            "error": {"type": "UnexpectedMessage", "message": "not a fault event or dead letter"},
            "deliveryAttempt": 0,
            "message": message_json(message),
            "status": "open",
            RECORDED_MESSAGE: message.message_id,
        }
    return event.id, {
        "id": event.id,
        **event.body,
        "status": "open",
        "timestamp": event.timestamp,
        RECORDED_MESSAGE: message.message_id,
    }


def fault_time(doc: Doc) -> int | None:
    """When a stored fault arose (epoch ms), if the record tells.

    A fault event carries its own time; a dead letter or an unexpected message
    only its message's publish time.
    """
    if isinstance(doc.get("timestamp"), int):
        return int(doc["timestamp"])
    try:
        published = datetime.fromisoformat(doc["message"]["publishTime"])
    except (KeyError, TypeError, ValueError):
        return None
    return int(published.timestamp() * 1000)


def recurrences(doc: Doc) -> int:
    """How often the fault was recorded again after it was first recorded."""
    return int(doc.get("recurrences", 0))


def recurred(current: Doc | None, again: Doc) -> Doc | None:
    """``current`` after the same fault (``again``, as :func:`fault_record` made it) arrived
    once more: open, one more recurrence, the latest error. ``None`` (unchanged) for the
    same ``faults`` message delivered twice, or a record deleted meanwhile."""
    if current is None:
        return None
    message_id = again.get(RECORDED_MESSAGE)
    if message_id and message_id == current.get(RECORDED_MESSAGE):
        return None
    return {
        **current,
        "status": "open",
        "recurrences": recurrences(current) + 1,
        "error": again["error"],
        "deliveryAttempt": again["deliveryAttempt"],
        RECORDED_MESSAGE: message_id,
    }


class FaultRecorder:
    """Consumes a subsystem's ``faults`` topic into its ``faults`` collection."""

    def __init__(self, store: AbstractDocumentStore) -> None:
        self._store = store

    def handle(self, message: Message) -> bool:
        """Store the fault (idempotently: once more reopens it); acknowledges once stored."""
        key, doc = fault_record(message)
        if not self._store.create(FAULTS_COLLECTION, key, doc):
            self._store.update(FAULTS_COLLECTION, key, lambda current: recurred(current, doc))
        return True


def resubmit(store: AbstractDocumentStore, publisher: AbstractPublisher, fault_id: str) -> str:
    """Publish a fault's original message to the bus again; return the new message id.

    Consumers are idempotent, so the ones that processed it already skip it.
    """
    doc = store.get(FAULTS_COLLECTION, fault_id)
    if doc is None:
        raise KeyError(f"no fault {fault_id!r}")
    message = message_from_json(doc["message"])
    [message_id] = publisher.publish(Topic.BUS, [replace(message, message_id="", publish_time="")])

    def mark(current: Doc | None) -> Doc | None:
        if current is None:
            return None
        history = [*current.get("resubmissions", []), message_id]
        return {**current, "status": "resubmitted", "resubmissions": history}

    store.update(FAULTS_COLLECTION, fault_id, mark)
    return message_id


def mark_replayed(
    store: AbstractDocumentStore, fault_id: str, replay: Doc, recurrences_before: int
) -> bool:
    """Mark a fault ``resubmitted`` after its function took the replay ``replay`` (noted in
    the record's ``replays``); False, leaving it open, if the fault recurred meanwhile
    (its recurrences are no longer ``recurrences_before``): the function refused it again.
    """

    def mark(current: Doc | None) -> Doc | None:
        if current is None or recurrences(current) != recurrences_before:
            return None
        history = [*current.get("replays", []), replay]
        return {**current, "status": "resubmitted", "replays": history}

    return store.update(FAULTS_COLLECTION, fault_id, mark) is not None
