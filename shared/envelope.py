"""The event envelope: the one shape every event has on every bus.

On the wire an envelope is a JSON object with the field names fixed by the
architecture brief::

    {"id": "...", "type": "order-placed", "timestamp": 1764150000000,
     "partitionKey": "o-42", "tags": {"source": "checkout-bff", ...},
     "order": {...}, "raw": {...}, "metadata": {...}}

The payload sits under a field named after the entity (``order`` above); it is
the only field outside the reserved set, so a reader finds it without a schema.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from shared import ids
from shared.exceptions import EnvelopeError

RESERVED_FIELDS = frozenset({"id", "type", "timestamp", "partitionKey", "tags", "raw", "metadata"})
MAX_ENVELOPE_BYTES = 256 * 1024
"""Upper bound for one serialized event: small enough for a Firestore document."""

MAX_ATTRIBUTE_BYTES = 1024
"""Pub/Sub's limit on an attribute value and an ordering key; ids, keys and tags travel as both."""
MAX_TAG_NAME_BYTES = 256
"""Pub/Sub's limit on an attribute's name."""
MAX_TAGS = 97
"""Pub/Sub takes 100 attributes per message; ``type``, ``id`` and ``partitionKey`` are three."""
CLIENT_KEYWORDS = frozenset({"topic", "data", "ordering_key", "retry", "timeout"})
"""Names the Pub/Sub client's ``publish(topic, data, ordering_key, retry, timeout, **attrs)``
takes for itself: attributes with these names cannot be sent through it."""
MAX_TIMESTAMP = 2**53
"""Beyond this, epoch milliseconds lose precision in JSON readers that use doubles."""
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9]*([.-][a-z0-9]+)*$")
"""What an event type is: lower-case words joined by ``-`` or ``.``."""
ENTITY_PATTERN = re.compile(r"^[a-z][A-Za-z0-9]*$")
"""What an entity (the payload field's name) is, besides not being a reserved field."""
_ID_NAMESPACE = uuid.UUID("6f1c1f9e-8d0a-4e49-9d43-5a1f0c7b2e11")
_ID_HASH = hashlib.sha1(_ID_NAMESPACE.bytes)
"""SHA-1 fed with the namespace: :func:`derive_id` copies it instead of hashing it again."""

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event: what happened (``type``), when, to which entity, with its state.

    ``entity`` is the name of the payload field on the wire and ``body`` its
    value. ``raw`` keeps a source system's native data; ``metadata`` is free
    context such as a correlation id.
    """

    id: str
    type: str
    timestamp: int
    partition_key: str
    entity: str
    body: Json
    tags: Mapping[str, str] = field(default_factory=dict)
    raw: Any = None
    metadata: Json | None = None

    def __post_init__(self) -> None:
        _check_envelope(self)

    # -- wire format -----------------------------------------------------------------

    def to_json(self) -> Json:
        """The wire form as a JSON-compatible dict, with the brief's field names."""
        doc: Json = {
            "id": self.id,
            "type": self.type,
            "timestamp": self.timestamp,
            "partitionKey": self.partition_key,
            "tags": dict(self.tags),
            self.entity: self.body,
        }
        if self.raw is not None:
            doc["raw"] = self.raw
        if self.metadata is not None:
            doc["metadata"] = self.metadata
        return doc

    def to_bytes(self) -> bytes:
        """Compact UTF-8 JSON, the data of a Pub/Sub message (never NaN or Infinity)."""
        doc = self.to_json()
        try:
            return _ENCODER.encode(doc).encode()
        except UnicodeEncodeError as e:
            where = _lone_surrogate_at(doc) or f"<{self.entity}>"
            raise EnvelopeError(where, _NOT_UTF8) from e
        except ValueError as e:
            raise EnvelopeError(f"<{self.entity}>", f"not JSON: {e}") from e
        except RecursionError as e:
            raise EnvelopeError(f"<{self.entity}>", "nested too deeply to encode") from e

    @classmethod
    def from_bytes(cls, data: bytes | str, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> Envelope:
        """Parse and validate wire bytes; raise :class:`EnvelopeError` naming the field.

        Text is taken as its UTF-8 bytes are: a lone surrogate in it, or escaped in the
        JSON (``"\\ud800"``), is refused, as no UTF-8 text (and no Pub/Sub message) holds one.
        """
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")  # a lone one then fails to decode
        if len(data) > max_bytes:
            raise EnvelopeError("$", f"{len(data)} bytes exceeds the limit of {max_bytes}")
        try:
            text = _text(data)
            doc = _DECODER.decode(text)
        except (ValueError, UnicodeDecodeError) as e:
            raise EnvelopeError("$", f"not JSON ({e})") from e
        except RecursionError as e:
            raise EnvelopeError("$", "nested too deeply to decode") from e
        event = cls.from_json(doc)  # names a lone surrogate in an id, a key or a tag
        if _SURROGATE_ESCAPE.search(text) is not None:
            where = _lone_surrogate_at(doc)
            if where is not None:
                raise EnvelopeError(where, _NOT_UTF8)
        return event

    @classmethod
    def from_json(cls, doc: Any) -> Envelope:
        """Validate a decoded JSON document; raise :class:`EnvelopeError` naming the field."""
        if not isinstance(doc, dict):
            raise EnvelopeError("$", f"expected a JSON object, got {type(doc).__name__}")
        entities = [k for k in doc if k not in RESERVED_FIELDS]
        if len(entities) != 1:
            problem = "missing" if not entities else f"ambiguous, found {sorted(entities)}"
            raise EnvelopeError("<entity>", f"exactly one payload field is required: {problem}")
        entity = entities[0]
        get = doc.get
        id_, type_, timestamp, key = get("id"), get("type"), get("timestamp"), get("partitionKey")
        body, tags, metadata = get(entity), get("tags"), get("metadata")
        if (  # exactly the JSON types, as decoded envelopes have them: nothing to name
            type(doc) is dict
            and type(id_) is str
            and type(type_) is str
            and type(timestamp) is int
            and type(key) is str
            and type(body) is dict
            and type(tags) is dict
            and (metadata is None or type(metadata) is dict)
        ):
            return cls(
                id=id_,
                type=type_,
                timestamp=timestamp,
                partition_key=key,
                tags=tags,
                entity=entity,
                body=body,
                raw=get("raw"),
                metadata=metadata,
            )
        return cls(
            id=_require(doc, "id", str),
            type=_require(doc, "type", str),
            timestamp=_require(doc, "timestamp", int),
            partition_key=_require(doc, "partitionKey", str),
            tags=_require(doc, "tags", dict),
            entity=entity,
            body=_require(doc, entity, dict),
            raw=doc.get("raw"),
            metadata=_optional(doc, "metadata", dict),
        )

    # -- convenience -----------------------------------------------------------------

    def with_tags(self, **tags: str) -> Envelope:
        """A copy with extra or replaced tags."""
        return replace(self, tags={**self.tags, **tags})

    @property
    def correlation_id(self) -> str:
        """The id that ties a chain of events together (defaults to the partition key)."""
        meta = self.metadata or {}
        value = meta.get("correlationId")
        return value if isinstance(value, str) else self.partition_key


def new_event(
    type: str,
    entity: str,
    body: Json,
    *,
    partition_key: str,
    tags: Mapping[str, str] | None = None,
    cause: Envelope | None = None,
    discriminator: str = "",
    timestamp: int | None = None,
    raw: Any = None,
    metadata: Json | None = None,
) -> Envelope:
    """Build an envelope.

    When the event is derived from a ``cause`` its id is deterministic: the same
    cause, type and ``discriminator`` always give the same id, so a retried
    handler re-emits an event that consumers recognise as a duplicate. The
    cause's correlation id is carried forward in ``metadata``.
    """
    if cause is not None:
        event_id = derive_id(cause.id, type, partition_key, discriminator)
        metadata = {
            "correlationId": cause.correlation_id,
            "causationId": cause.id,
            **(metadata or {}),
        }
    else:
        event_id = str(ids.new_uuid())
    return Envelope(
        id=event_id,
        type=type,
        timestamp=timestamp if timestamp is not None else now_ms(),
        partition_key=partition_key,
        entity=entity,
        body=body,
        tags=dict(tags or {}),
        raw=raw,
        metadata=metadata,
    )


def derive_id(*parts: str) -> str:
    """A stable UUID from its parts (UUIDv5 in the kit's namespace)."""
    # str(uuid.uuid5(_ID_NAMESPACE, name)) spelled out, without building a UUID.
    sha = _ID_HASH.copy()
    sha.update("\x1f".join(parts).encode())
    digest = bytearray(sha.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of a double's range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)
"""One decoder for every envelope (``json.loads`` with an option builds one per call)."""
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""One encoder for every envelope, for the same reason."""


def _text(data: bytes) -> str:
    """``data`` decoded as :func:`json.loads` decodes bytes."""
    if data[:1] == b"{" and data[1:2] != b"\x00":
        return data.decode()  # no BOM, not UTF-16 or 32: what detect_encoding calls UTF-8
    return data.decode(json.detect_encoding(data))


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON escape of a surrogate: one half of a pair (which decodes fine), or a lone one."""
_NOT_UTF8 = "is not valid UTF-8: it holds a lone surrogate"


def _lone_surrogate_at(doc: Json) -> str | None:
    """The path of the first string (or object key) in ``doc`` that holds a lone
    surrogate: the top-level field's name, then ``.key`` or ``[index]``. Walked without
    recursion, as deep as the decoder nested it."""
    pending: list[tuple[str, Any]] = [("", doc)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if _utf8_size(value) is None:
                return path or "$"
        elif isinstance(value, dict):
            for key in reversed(value):  # the stack then pops them in order
                named = f"{path}.{_shown(key)}" if path else _shown(key)
                if _utf8_size(key) is None:
                    return named
                pending.append((named, value[key]))
        elif isinstance(value, list):
            pending.extend((f"{path}[{n}]", value[n]) for n in reversed(range(len(value))))
    return None


def _shown(name: str) -> str:
    """``name`` as an error names it: a lone surrogate in it escaped, so the error is text."""
    return name.encode("utf-8", "backslashreplace").decode()


def _utf8_size(text: str) -> int | None:
    """How many bytes ``text`` takes in UTF-8; ``None`` when it holds a lone surrogate."""
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        return None


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds, the envelope's ``timestamp`` unit."""
    return time.time_ns() // 1_000_000


def _require(doc: Json, name: str, kind: type) -> Any:
    if name not in doc:
        raise EnvelopeError(name, "is required")
    return _typed(doc, name, kind)


def _optional(doc: Json, name: str, kind: type) -> Any:
    return None if doc.get(name) is None else _typed(doc, name, kind)


def _typed(doc: Json, name: str, kind: type) -> Any:
    value = doc[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise EnvelopeError(name, f"expected {kind.__name__}, got {type(value).__name__}")
    return value


_KNOWN_LIMIT = 4096
"""How many names of each kind :func:`_check_envelope` remembers as valid."""
_known_types: set[str] = set()
_known_entities: set[str] = set()
_known_tag_names: set[str] = set()


def _check_envelope(e: Envelope) -> None:
    """What every envelope must be, including what Pub/Sub's attributes can carry.

    Most envelopes reuse a few types, entities and tag names: one already found valid
    is looked up instead of matched again. Anything else, every refusal included, goes
    through :func:`_check_envelope_fully`, which is the definition.
    """
    if _plainly_valid(e):
        return
    _check_envelope_fully(e)
    for known, name in ((_known_types, e.type), (_known_entities, e.entity)):
        if type(name) is str:
            _remember(known, name)
    for key in e.tags:
        if type(key) is str:
            _remember(_known_tag_names, key)


def _remember(known: set[str], name: str) -> None:
    if len(known) >= _KNOWN_LIMIT:
        known.clear()
    known.add(name)


def _plainly_valid(e: Envelope) -> bool:
    """True only for an envelope :func:`_check_envelope_fully` accepts: its ids short
    ASCII strings, its names among those it accepted before."""
    id_, key, kind, entity, timestamp = e.id, e.partition_key, e.type, e.entity, e.timestamp
    if not (
        type(id_) is str
        and type(key) is str
        and type(kind) is str
        and type(entity) is str
        and type(timestamp) is int
        and type(e.body) is dict
        and type(e.tags) is dict
        and (e.metadata is None or type(e.metadata) is dict)
    ):
        return False
    if not (
        0 < len(id_) <= MAX_ATTRIBUTE_BYTES
        and 0 < len(key) <= MAX_ATTRIBUTE_BYTES
        and id_.isascii()
        and key.isascii()
        and 0 < timestamp < MAX_TIMESTAMP
        and kind in _known_types
        and entity in _known_entities
    ):
        return False
    tags = e.tags
    if len(tags) > MAX_TAGS:
        return False
    for name, value in tags.items():
        if type(name) is not str or name not in _known_tag_names:
            return False
        if type(value) is not str or len(value) > MAX_ATTRIBUTE_BYTES or not value.isascii():
            return False
    return True


def _check_envelope_fully(e: Envelope) -> None:
    """Raise :class:`EnvelopeError` naming the first field of ``e`` that breaks a rule.

    The fields' types are those :meth:`Envelope.from_json` reads back: an event built in
    code with another (a float or boolean time, a list for a payload) would be refused
    by every consumer it reached.
    """
    payload = e.entity if isinstance(e.entity, str) else "<entity>"
    for name, value, kind in (
        ("id", e.id, str),
        ("type", e.type, str),
        ("timestamp", e.timestamp, int),
        ("partitionKey", e.partition_key, str),
        ("tags", e.tags, Mapping),
        ("<entity>", e.entity, str),
        (payload, e.body, dict),
        ("metadata", {} if e.metadata is None else e.metadata, dict),
    ):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise EnvelopeError(name, f"expected {kind.__name__}, got {type(value).__name__}")
    for name, value in (("id", e.id), ("partitionKey", e.partition_key)):
        if not value:
            raise EnvelopeError(name, "must not be empty")
        if _attribute_size(name, value) > MAX_ATTRIBUTE_BYTES:
            raise EnvelopeError(name, f"is longer than {MAX_ATTRIBUTE_BYTES} bytes")
    if not TYPE_PATTERN.fullmatch(e.type):
        raise EnvelopeError("type", f"{e.type!r} must be lower-case words joined by '-' or '.'")
    if not 0 < e.timestamp < MAX_TIMESTAMP:
        raise EnvelopeError("timestamp", "must be positive epoch milliseconds")
    if e.entity in RESERVED_FIELDS or not ENTITY_PATTERN.fullmatch(e.entity):
        raise EnvelopeError("<entity>", f"{e.entity!r} is not a valid payload field name")
    if len(e.tags) > MAX_TAGS:
        raise EnvelopeError("tags", f"Pub/Sub carries at most {MAX_TAGS} of them")
    for key, value in e.tags.items():
        if not isinstance(key, str):
            raise EnvelopeError("tags", f"a name is a str, not {type(key).__name__}")
        field = f"tags.{_shown(key)}"
        if not isinstance(value, str):
            raise EnvelopeError(field, f"expected str, got {type(value).__name__}")
        if key in CLIENT_KEYWORDS or not key or _attribute_size(field, key) > MAX_TAG_NAME_BYTES:
            raise EnvelopeError(
                field,
                f"the Pub/Sub client reserves {sorted(CLIENT_KEYWORDS)}, and a name is 1 to "
                f"{MAX_TAG_NAME_BYTES} bytes",
            )
        if key.startswith("goog") or _attribute_size(field, value) > MAX_ATTRIBUTE_BYTES:
            raise EnvelopeError(
                field,
                f"Pub/Sub reserves the 'goog' prefix and values over {MAX_ATTRIBUTE_BYTES} bytes",
            )


def _attribute_size(name: str, value: str) -> int:
    """``value``'s size in UTF-8, as a Pub/Sub attribute carries it; ``name`` names it when
    it holds a lone surrogate, which no attribute can carry."""
    size = _utf8_size(value)
    if size is None:
        raise EnvelopeError(name, _NOT_UTF8)
    return size
