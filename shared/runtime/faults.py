"""Faults: messages a function could not process, kept, inspectable, resubmittable.

Two things arrive on a subsystem's ``faults`` topic:

* **fault events** that the kit publishes when a handler meets a poison message
  (undecodable bytes, an invalid event, a business-rule violation);
* **dead letters** that Pub/Sub forwards after a subscription's maximum delivery
  attempts: the original message plus ``CloudPubSubDeadLetterSource*`` attributes; a
  trigger's runtime forwards a document change it gave up on the same way (Eventarc has
  no dead-letter topic), so it is recorded alike on every platform.

The fault recorder stores both in the ``faults`` collection in one shape (when the
fault arose in :data:`ARISEN_AT`, what ``faults list`` orders by, whichever it was),
keeping the original message, so it can be handed back once the cause is fixed:
published to the bus again (:func:`resubmit`), or delivered to the function that
refused it (:mod:`shared.runtime.fault_replay`; :func:`mark_replayed` records that).

A fault recorded again later (the same function refusing the same message, say a
replay refused once more) reopens the record and counts a recurrence, so a replay
that did not help is never taken for one that did. A function that refuses a
message as poison also says so in its answer (:func:`fault_headers`, still a 2xx
that acknowledges it), so whoever handed it the message, ``faults resubmit``
among them, knows at once (:func:`refusal`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import traceback
import urllib.parse
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.clock import SystemClock
from shared.envelope import MAX_ATTRIBUTE_BYTES, Envelope, derive_id
from shared.exceptions import EnvelopeError, InvalidDocument, KitError
from shared.hub.message import (
    ATTRIBUTE_ID,
    DEAD_LETTER_PREFIX,
    MAX_PUBLISH_BYTES,
    Message,
    publish_request_bytes,
    to_message,
)
from shared.stores.document_rules import check_size, is_field_name, normalized
from shared.topology.model import Index, Subsystem, Topic

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.hub.base import AbstractPublisher
    from shared.stores.base import AbstractDocumentStore, Doc, Updater

FAULT_TYPE = "fault"
FAULTS_COLLECTION = "faults"
RECORDER_BACKOFF_S = (10, 600)
"""Redelivery backoff (min, max) of the fault recorder's subscription, which has no
attempt limit and no dead-letter topic: a fault is retried until it is recorded."""
MAX_FAULT_EVENT_BYTES = 10_000_000
"""The largest fault event the recorder decodes: Pub/Sub's own limit on a message. A fault
event holds the refused message whole, so it may be larger than a bus event may be."""
MAX_ERROR_CHARS = 4000
"""How much of an error's message (its start) and of its traceback (its end) a fault keeps:
an error quoting a huge refused value must not make its fault event too large to publish."""
ARISEN_AT = "arisenAt"
"""The field of every fault record holding when the fault arose (epoch ms, :func:`arisen_at`):
what ``faults list`` orders, pages and filters by (:data:`FAULT_INDEXES`)."""
FAULT_INDEXES = (
    Index(FAULTS_COLLECTION, ("status", f"{ARISEN_AT} desc")),
    Index(FAULTS_COLLECTION, ("function", f"{ARISEN_AT} desc")),
    Index(FAULTS_COLLECTION, ("status", "function", f"{ARISEN_AT} desc")),
)
"""The composite indexes of every subsystem's ``faults`` collection: ``faults list`` by
status, function or both, newest first (by :data:`ARISEN_AT` alone needs none)."""


def declared_indexes(subsystem: Subsystem) -> tuple[Index, ...]:
    """Every composite index of ``subsystem``'s database, as Terraform creates them: the
    kit's (:data:`FAULT_INDEXES`), then the subsystem's own; each once (Terraform keys them
    by collection and fields)."""
    return tuple(dict.fromkeys((*FAULT_INDEXES, *subsystem.indexes)))


RECORDED_MESSAGE = "recordedMessageId"
"""The record's field holding the id of the ``faults`` message it was last recorded from."""
FAULT_HEADER = "Fooddelivery-Fault"
"""The header of a function's answer naming the fault it recorded for the request's message."""
FAULT_ERROR_HEADER = "Fooddelivery-Fault-Error"
"""The header of that answer saying why (``Type: message``, percent-encoded, trimmed)."""
ANSWER_ERROR_CHARS = 300
_LONGEST_TOPIC = f"projects/{'p' * 30}/topics/{'t' * 255}"
"""A topic name at least as long as any a fault event is published to: its publish request
is measured with it (:data:`~shared.hub.message.MAX_PUBLISH_BYTES`)."""


TOPIC_PUBLISH_TIME = f"{DEAD_LETTER_PREFIX}TopicPublishTime"
"""The attribute in which Pub/Sub gives a dead letter the time its message was first
published (the dead letter's own publish time is when it reached ``faults``)."""

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
    key: str | None = None,
    masked: Collection[str] = (),
) -> Envelope:
    """The fault event for ``message`` that ``function`` rejected with ``error``, each of the
    ``masked`` values (a card token a trigger redacts) replaced in the error's text and
    traceback by :data:`REDACTED`: an error may quote what it refused.

    Its id derives from the function and ``key``, what identifies the message across
    its deliveries and publications, so a redelivered poison message yields the same
    fault, not a second one, and so does the same message published again with a new
    message id (a redelivered ingress re-publishes its event, ``faults resubmit``
    publishes the message anew): a consumer passes :func:`message_key`. Without
    ``key``, the message's ``id`` attribute, else its message id (which the kit
    derives for the messages it makes itself: a document change, a tick), else its
    bytes.
    """
    original = (
        key
        or message.attributes.get(ATTRIBUTE_ID)
        or message.message_id
        or hashlib.sha256(message.data).hexdigest()
    )
    partition_key = _ordering_key(message.attributes.get("partitionKey") or original)
    details = _utf8(mask("".join(traceback.format_exception(error)), masked)[-MAX_ERROR_CHARS:])
    said = _utf8(_start_of(mask(str(error), masked)))
    body = {
        "function": function,
        "reason": "poison",
        "error": {
            "type": type(error).__name__,
            "message": said,
            "details": details,
        },
        "deliveryAttempt": message.delivery_attempt,
    }
    kept = message_json(message)
    event = Envelope(
        id=derive_id(FAULT_TYPE, function, original),
        type=FAULT_TYPE,
        timestamp=clock.now_ms(),
        partition_key=partition_key,
        entity="fault",
        body={**body, "message": kept},
        tags={"source": "kit", "function": function, "subsystem": subsystem, "env": env},
    )
    # All but the data and the error's text (attributes, traceback) is under 1 MB, escaped
    # as JSON may escape it: a fault event under this needs no exact count.
    small = len(kept.get("data", "")) + 6 * len(said) < MAX_PUBLISH_BYTES - 1_000_000
    if small or publish_request_bytes(to_message(event), _LONGEST_TOPIC) <= MAX_PUBLISH_BYTES:
        return event
    # The message in base64 would make a fault event Pub/Sub refuses, and the poison message
    # would be retried until dead-lettered: the fault is kept, its message's data is not.
    return replace(event, body={**body, "message": _data_left_out(kept)})


REDACTED = "[redacted]"
"""What a masked value reads as: in a fault's error text (:func:`mask`), and in place of a
redacted field of a stored document change (:func:`shared.runtime.consumer.change_message`)."""


def mask(text: str, values: Collection[str]) -> str:
    """``text`` with every occurrence of each of ``values`` (the longest first, so one
    that holds another is masked whole) replaced by :data:`REDACTED`."""
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def _ordering_key(key: str) -> str:
    """``key`` as a fault event's partition (and ordering) key: itself when Pub/Sub takes
    it, else its SHA-256. A CloudEvent sent by hand may have an id over the limit, and its
    fault must still be published, not retried until Eventarc drops it."""
    encoded = key.encode("utf-8", "surrogatepass")
    return key if len(encoded) <= MAX_ATTRIBUTE_BYTES else hashlib.sha256(encoded).hexdigest()


def _start_of(text: str) -> str:
    """``text``, or its first :data:`MAX_ERROR_CHARS` characters and how many more there are."""
    if len(text) <= MAX_ERROR_CHARS:
        return text
    return f"{text[:MAX_ERROR_CHARS]}… ({len(text) - MAX_ERROR_CHARS} more characters)"


def _utf8(text: str) -> str:
    """``text`` with any lone surrogate escaped (``\\ud800``): an error may quote what it
    refused, and the fault event that carries it must still be UTF-8 to be published."""
    return text.encode("utf-8", "backslashreplace").decode()


def message_key(message: Message) -> str:
    """What identifies a message the broker delivered, however often it is published.

    The event id its ``id`` attribute carries (every message the kit publishes has
    one), else a digest of its bytes, attributes and ordering key: never its message
    id, which the broker assigns anew to each publication of the same message.
    """
    carried = message.attributes.get(ATTRIBUTE_ID)
    if carried:
        return carried
    content = hashlib.sha256(message.data)
    content.update(json.dumps([sorted(message.attributes.items()), message.ordering_key]).encode())
    return content.hexdigest()


def fault_headers(fault: Envelope) -> dict[str, str]:
    """The headers of a function's answer (still the 2xx that acknowledges the message)
    when it refused the message as poison and published ``fault``: its id and why.

    Pub/Sub, Eventarc and Cloud Scheduler ignore them; ``faults resubmit`` reads them
    with :func:`refusal`. The error travels percent-encoded: a header holds ASCII only.
    """
    return _answer_headers(fault.id, fault.body["error"])


def dead_letter_headers(dead_letter: Message) -> dict[str, str]:
    """The headers of a function's answer when it gave up on a message and forwarded it to
    ``faults`` as ``dead_letter`` (a trigger on GCP, which has no dead-letter topic): the
    fault the recorder stores it as, and why, as :func:`fault_headers` names a poison one."""
    key, record = fault_record(dead_letter)
    return _answer_headers(key, record["error"])


def _answer_headers(fault_id: str, error: Mapping[str, Any]) -> dict[str, str]:
    why = " ".join(f"{error['type']}: {error['message']}".split())[:ANSWER_ERROR_CHARS]
    return {FAULT_HEADER: fault_id, FAULT_ERROR_HEADER: urllib.parse.quote(why)}


@dataclass(frozen=True, slots=True)
class Refusal:
    """What a function's answer said when it refused a message as poison."""

    fault_id: str
    """The fault it recorded (published on ``faults``; the recorder stores it shortly)."""
    error: str
    """``Type: message`` of the error it refused the message with."""


def refusal(headers: Mapping[str, str]) -> Refusal | None:
    """The refusal a function's answer with these (case-insensitive) ``headers`` reports,
    or ``None`` when it processed the message (:func:`fault_headers`)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    fault_id = lowered.get(FAULT_HEADER.lower())
    if not fault_id:
        return None
    return Refusal(fault_id, urllib.parse.unquote(lowered.get(FAULT_ERROR_HEADER.lower(), "")))


def fault_record(message: Message, now_ms: int | None = None) -> tuple[str, Doc]:
    """Normalize what arrived on ``faults`` into the stored fault document (key, doc), with
    :data:`ARISEN_AT` (``now_ms``, else the wall clock's, if the message tells no time)."""
    key, doc = _normalized(message)
    return key, {**doc, ARISEN_AT: arisen_at(doc, now_ms)}


def arisen_at(doc: Doc, now_ms: int | None = None) -> int:
    """What a fault record's :data:`ARISEN_AT` holds: when it arose (:func:`fault_time`),
    else ``now_ms`` (the wall clock's if ``None``): it arose no later than it was recorded."""
    arose = fault_time(doc)
    if arose is not None:
        return arose
    return SystemClock().now_ms() if now_ms is None else now_ms


def _normalized(message: Message) -> tuple[str, Doc]:
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
        # Its publish time is the dead letter's own, on `faults`: the original's is an attribute.
        published = _publish_time(attrs.get(TOPIC_PUBLISH_TIME, "")) or message.publish_time
        return key, {
            "id": key,
            "reason": "dead-letter",
            "function": attrs[f"{DEAD_LETTER_PREFIX}Subscription"].rsplit("/", 1)[-1],
            "error": {
                "type": "MaxDeliveryAttemptsExceeded",
                "message": f"not acknowledged after {count} attempts",
            },
            "deliveryAttempt": int(count) if count.isdecimal() else 0,
            "message": message_json(replace(message, attributes=original, publish_time=published)),
            "status": "open",
            RECORDED_MESSAGE: message.message_id,
        }
    try:
        event = Envelope.from_bytes(message.data, max_bytes=MAX_FAULT_EVENT_BYTES)
    except EnvelopeError:
        event = None
    if event is None or event.type != FAULT_TYPE or not _kit_made(event.body):
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


def publish_time_text(when: datetime) -> str:
    """``when`` as a message's publish time is written: RFC 3339 in UTC, ending in ``Z``
    (a time without a zone is taken for UTC)."""
    utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return utc.isoformat().replace("+00:00", "Z")


def _publish_time(text: str) -> str | None:
    """The publish time ``text`` (``…Z`` or ``…+00:00``, as Pub/Sub writes it in a dead
    letter's :data:`TOPIC_PUBLISH_TIME`) as :func:`publish_time_text` writes it; ``None``
    when it is empty or no time."""
    try:
        return publish_time_text(datetime.fromisoformat(text)) if text else None
    except ValueError:
        return None


def _kit_made(body: Doc) -> bool:
    """Whether a ``fault`` event's body is shaped as :func:`fault_event` makes it, as the
    record, its recurrences and its replay read it."""
    message, error = body.get("message"), body.get("error")
    return (
        isinstance(body.get("function"), str)
        and isinstance(body.get("deliveryAttempt"), int)
        and isinstance(error, dict)
        and isinstance(message, dict)
        and (isinstance(message.get("data"), str) or NOT_KEPT in message)
    )


def fault_time(doc: Doc) -> int | None:
    """When a stored fault arose (epoch ms), if the record tells.

    A fault event carries its own time; a dead letter or an unexpected message
    only its message's publish time (a dead letter's: when its message was first
    published, where Pub/Sub said, not when it was dead-lettered).
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
    once more: open, one more recurrence, the latest error, and its message's data back if
    ``current`` left it out and ``again`` holds it (:func:`_data_back`). ``None``
    (unchanged) for the same ``faults`` message delivered twice, or a record deleted
    meanwhile."""
    if current is None:
        return None
    message_id = again.get(RECORDED_MESSAGE)
    if message_id and message_id == current.get(RECORDED_MESSAGE):
        return None
    return {
        **current,
        # a record stored before it carried the field gets it now (its own time, if it tells)
        ARISEN_AT: current.get(ARISEN_AT) or arisen_at(current, again.get(ARISEN_AT)),
        "status": "open",
        "recurrences": recurrences(current) + 1,
        "error": again["error"],
        "deliveryAttempt": again["deliveryAttempt"],
        "message": _data_back(current["message"], again["message"]),
        RECORDED_MESSAGE: message_id,
    }


def _data_back(kept: Doc, again: Doc) -> Doc:
    """The stored message ``kept`` with its data back from ``again``, the same message
    recorded once more, when ``kept`` left it out (:data:`NOT_KEPT`) and ``again`` holds
    that very data (its SHA-256): the record may have room for it now (a shorter error).
    The recorder leaves it out again if it still does not fit."""
    data = again.get("data")
    if NOT_KEPT not in kept or not isinstance(data, str):
        return kept
    try:
        if hashlib.sha256(base64.b64decode(data)).hexdigest() != kept.get("sha256"):
            return kept
    except ValueError:  # no base64: not the data it left out
        return kept
    left_out = (NOT_KEPT, "bytes", "sha256")
    return {**{k: v for k, v in kept.items() if k not in left_out}, "data": data}


class FaultRecorder:
    """Consumes a subsystem's ``faults`` topic into its ``faults`` collection."""

    def __init__(self, store: AbstractDocumentStore, clock: Clock | None = None) -> None:
        self._store, self._clock = store, clock or SystemClock()

    def handle(self, message: Message) -> bool:
        """Store the fault (idempotently: once more reopens it); acknowledges once stored.

        A record the store refuses (a message too large for one document, text it cannot
        hold) is stored without the message's data (:func:`without_data`), so the fault
        is kept and the ``faults`` message does not come back for ever; so is a record that
        only its recurrence makes too large (a longer error on a message near the limit),
        and one that would leave no room for the claim a command writes before it hands
        the fault back (:func:`claim`), which it says (:func:`data_left_out`). A recurrence
        that brings the data and leaves room for it (a shorter error) keeps it again.
        """
        key, doc = fault_record(message, self._clock.now_ms())
        try:
            self._store_record(key, _with_room_for_a_claim(key, doc))
        except InvalidDocument:
            self._store_record(key, without_data(doc), shrink=True)
        return True

    def _store_record(self, key: str, doc: Doc, shrink: bool = False) -> None:
        def again(current: Doc | None) -> Doc | None:
            updated = recurred(current, doc)
            if updated is None:
                return None
            return without_data(updated) if shrink else _with_room_for_a_claim(key, updated)

        if not self._store.create(FAULTS_COLLECTION, key, doc):
            self._store.update(FAULTS_COLLECTION, key, again)


MAX_MARKS = 20
"""How many of its latest ``resubmissions`` and ``replays`` a fault record keeps: a fault
handed back again and again must not outgrow its document."""

NOT_KEPT = "notKept"
"""The field of a stored message whose data was too large to keep: why."""
TOO_LARGE = "too large to keep"
"""Why a record keeps no data of its message: its document would be over Firestore's limit."""
NO_ROOM_FOR_A_CLAIM = "too large to keep with room for a claim"
"""Why: its document would leave no room for a claim (:func:`claim`)."""


class MessageNotKept(KitError):
    """A fault's message was stored without its data (:data:`NOT_KEPT`): it cannot go back."""


def data_left_out(doc: Doc) -> str | None:
    """Why the fault record ``doc`` holds no data of its message (``too large to keep``,
    with its size), so that its message cannot be handed back; ``None`` when it holds it."""
    message = doc.get("message")
    if not isinstance(message, dict) or not message.get(NOT_KEPT):
        return None
    return f"its message ({message.get('bytes', '?')} bytes) was {message[NOT_KEPT]}"


def without_data(doc: Doc, why: str = TOO_LARGE) -> Doc:
    """The fault record ``doc`` with its message's data left out (its size and SHA-256
    noted, and ``why``) and its error's text made storable: what a store that refused ``doc``
    keeps."""
    error = {k: _storable(str(v)) for k, v in doc["error"].items()}
    return {**doc, "error": error, "message": _data_left_out(doc["message"], why)}


def _data_left_out(message: Doc, why: str = TOO_LARGE) -> Doc:
    """A stored message (:func:`message_json`) without its data: its size and SHA-256 noted
    instead, and :data:`NOT_KEPT` saying ``why``."""
    if NOT_KEPT in message:
        return message
    data = base64.b64decode(message.get("data", ""))
    kept = {k: v for k, v in message.items() if k != "data"}
    return {
        **kept,
        NOT_KEPT: why,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _storable(text: str) -> str:
    """``text`` cut to :data:`MAX_ERROR_CHARS`, any lone surrogate replaced."""
    return text[:MAX_ERROR_CHARS].encode("utf-8", "replace").decode()


CLAIM = "claim"
"""The field of a fault record an operator's command holds while it hands the fault back:
``{"token": ..., "until": epoch ms}`` (:func:`claim`), so that no other command hands the
same fault back meanwhile."""
CLAIM_MS = 15 * 60_000
"""How long a claim holds: longer than a replay may wait for its function's answer, so that
only a command that died with the claim leaves it to lapse."""
CLAIM_TOKEN_CHARS = 64
"""The longest token a claim takes (``faults`` commands use a UUID's 32 hex digits): every
record that keeps its message's data has room for a claim with one."""
_LARGEST_CLAIM = {"token": "t" * CLAIM_TOKEN_CHARS, "until": 0}


def _with_room_for_a_claim(key: str, doc: Doc) -> Doc:
    """The fault record ``doc`` (``key``), without its message's data
    (:data:`NO_ROOM_FOR_A_CLAIM`) if it keeps it and Firestore takes it, but not with a claim
    added: the fault could not be claimed before it is handed back. Unchanged otherwise (one
    Firestore refuses whole is the store's to refuse)."""
    message = doc.get("message")
    if not isinstance(message, dict) or NOT_KEPT in message:
        return doc
    try:
        check_size(FAULTS_COLLECTION, key, normalized({**doc, CLAIM: _LARGEST_CLAIM}))
        return doc
    except InvalidDocument:
        pass
    try:
        check_size(FAULTS_COLLECTION, key, normalized(doc))
    except InvalidDocument:
        return doc
    return without_data(doc, NO_ROOM_FOR_A_CLAIM)


def claim(
    store: AbstractDocumentStore, fault_id: str, token: str, now_ms: int, *, force: bool = False
) -> Doc | None:
    """Claim the fault ``fault_id`` for handing it back, as ``token``; the record claimed.

    ``None`` when it may not go back now: it is gone, another command holds a claim on it
    that has not lapsed, or it is no longer ``open`` (unless ``force``). Checked and written
    in one transaction, so of two commands handing back the same fault at once, one does.
    ``token`` is at most :data:`CLAIM_TOKEN_CHARS` long, else a :class:`ValueError`: every
    record the kit writes has room for such a claim, but a record stored before it made
    sure of that may not, and goes back unclaimed.
    """
    if len(token) > CLAIM_TOKEN_CHARS:
        raise ValueError(f"a claim's token is at most {CLAIM_TOKEN_CHARS} characters")

    def take(current: Doc | None) -> Doc | None:
        if current is None:
            return None
        if _claim_token(current) not in (None, token) and _claimed_until(current) > now_ms:
            return None
        if not force and current.get("status", "open") != "open":
            return None
        return {**current, CLAIM: {"token": token, "until": now_ms + CLAIM_MS}}

    try:
        return store.update(FAULTS_COLLECTION, fault_id, take)
    except InvalidDocument:  # stored before records kept room for a claim: goes unclaimed
        current = store.get(FAULTS_COLLECTION, fault_id)
        return current if take(current) is not None else None


def release(store: AbstractDocumentStore, fault_id: str, token: str) -> None:
    """Give up the claim ``token`` holds on ``fault_id`` (it was not handed back)."""

    def drop_claim(current: Doc | None) -> Doc | None:
        if current is None or _claim_token(current) != token:
            return None
        return _unclaimed(current)

    store.update(FAULTS_COLLECTION, fault_id, drop_claim)


DROPPED = "dropped"
"""The status of a fault an operator decided not to hand back (:func:`drop`)."""


def drop(
    store: AbstractDocumentStore, fault_id: str, reason: str, *, at: int, by: str
) -> Doc | None:
    """Mark the fault ``fault_id`` :data:`DROPPED`, ``reason`` (with ``at``, epoch ms, and
    ``by``) noted in its ``drops`` for audit; the record stays. The record marked, or
    ``None`` when it is gone, dropped already, or being handed back (:func:`claim`).

    The recorder reopens it should its function refuse the message again.
    """

    def mark(current: Doc | None) -> Doc | None:
        if current is None or current.get("status") == DROPPED:
            return None
        if _claimed_until(current) > at:
            return None
        history = [*current.get("drops", []), {"reason": reason, "at": at, "by": by}]
        return {**_unclaimed(current), "status": DROPPED, "drops": history[-MAX_MARKS:]}

    return _mark(store, fault_id, mark)


def _claim_token(doc: Doc) -> str | None:
    held = doc.get(CLAIM)
    return str(held.get("token")) if isinstance(held, dict) else None


def _claimed_until(doc: Doc) -> int:
    """Until when (epoch ms) the record ``doc`` is claimed; 0 when it is not."""
    held = doc.get(CLAIM)
    return int(held.get("until") or 0) if isinstance(held, dict) else 0


def claimed(doc: Doc, now_ms: int) -> bool:
    """Whether a command holds a claim on the fault record ``doc`` at ``now_ms``."""
    return _claimed_until(doc) > now_ms


def _unclaimed(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k != CLAIM}


def resubmit(store: AbstractDocumentStore, publisher: AbstractPublisher, fault_id: str) -> str:
    """Publish a fault's original message to the bus again; return the new message id.

    Consumers are idempotent, so the ones that processed it already skip it. The fault
    is marked ``resubmitted`` (the message id noted in its ``resubmissions``) unless it
    was recorded again since it was read here: a consumer that refused the message once
    more before the mark leaves it open, as one that refuses it after the mark reopens it.
    The record keeps the latest :data:`MAX_MARKS` message ids, and drops its message's data
    if the mark would make it too large for its document (:func:`without_data`). Raises
    :class:`MessageNotKept` if the record holds no data of the message (:func:`data_left_out`).
    """
    doc = store.get(FAULTS_COLLECTION, fault_id)
    if doc is None:
        raise KeyError(f"no fault {fault_id!r}")
    left_out = data_left_out(doc)
    if left_out is not None:
        raise MessageNotKept(f"fault {fault_id}: {left_out}, so it cannot be published again")
    seen = recurrences(doc)
    message = message_from_json(doc["message"])
    [message_id] = publisher.publish(Topic.BUS, [replace(message, message_id="", publish_time="")])

    def mark(current: Doc | None) -> Doc | None:
        if current is None:
            return None
        history = [*current.get("resubmissions", []), message_id][-MAX_MARKS:]
        status = "resubmitted" if recurrences(current) == seen else current.get("status", "open")
        return {**_unclaimed(current), "status": status, "resubmissions": history}

    _mark(store, fault_id, mark)
    return message_id


def mark_replayed(store: AbstractDocumentStore, fault_id: str, replay: Doc) -> bool:
    """Mark a fault ``resubmitted`` after its function processed the replay ``replay``
    (noted in the record's ``replays``): its answer said so, whatever else recorded the
    fault meanwhile (a redelivery of the original message, refused before the replay).
    False if the record is gone. Marks are kept as :func:`resubmit` keeps them.
    """

    def mark(current: Doc | None) -> Doc | None:
        if current is None:
            return None
        history = [*current.get("replays", []), replay][-MAX_MARKS:]
        return {**_unclaimed(current), "status": "resubmitted", "replays": history}

    return _mark(store, fault_id, mark) is not None


def _mark(store: AbstractDocumentStore, fault_id: str, mark: Updater) -> Doc | None:
    """Update the fault record with ``mark``; the record marked, ``None`` if it is gone.

    A record near Firestore's limit that the mark would push over it, or leave no room for
    a claim, is marked without its message's data (:func:`without_data`), as the recorder
    keeps a record too large: the message was handed back, and the record must say so.
    """

    def roomy(current: Doc | None) -> Doc | None:
        marked = mark(current)
        return None if marked is None else _with_room_for_a_claim(fault_id, marked)

    try:
        return store.update(FAULTS_COLLECTION, fault_id, roomy)
    except InvalidDocument:
        return store.update(
            FAULTS_COLLECTION,
            fault_id,
            lambda current: mark(None if current is None else without_data(current)),
        )
