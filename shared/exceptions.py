"""The kit's exceptions, rooted in one base class.

Handlers signal how a failure must be treated by the exception they raise:

* :class:`PoisonError` (and its subclasses) means the message can never succeed:
  the consumer records a fault event and acknowledges the message.
* Any other exception is *retryable*: the consumer answers non-2xx and the
  broker redelivers with backoff until the subscription's maximum attempts,
  after which the message is dead-lettered to the subsystem's ``faults`` topic.
  :class:`NotYet` is retryable too, but says the handler waits on purpose (what it
  needs is on its way): logged as information, without a traceback.
"""

from __future__ import annotations


class KitError(Exception):
    """Base class of every error raised by the kit."""


class PoisonError(KitError):
    """A message that can never be processed, however often it is retried."""


class EnvelopeError(PoisonError):
    """The bytes on the wire are not a valid event envelope.

    ``field`` names the offending field (``"$"`` for the document as a whole).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid event envelope: {field}: {problem}")
        self.field = field
        self.problem = problem


class InvalidEventError(PoisonError):
    """A well-formed envelope whose payload breaks the event's schema."""


class BusinessRuleViolation(PoisonError):
    """The event is valid but the domain refuses it (e.g. an illegal transition)."""


class NotYet(KitError):
    """The message cannot be handled yet, by design: what it needs has not arrived (an
    order before its restaurant's profile, a withdrawal on its way). It is redelivered
    like any retryable failure, and dead-lettered if the wait never ends; the consumer
    logs the wait as information, not as a failure."""


class SettingError(KitError, ValueError):
    """An environment variable holds a value the kit cannot use."""


class TopologyError(KitError):
    """A subsystem's topology declaration is inconsistent."""


class PublishError(KitError):
    """The bus did not accept a message."""


class StoreError(KitError):
    """A document store operation failed."""


class ConflictError(StoreError):
    """A conditional write lost a race or the document already exists."""


class InvalidKey(StoreError, PoisonError, ValueError):
    """A collection or document id that Firestore refuses, so no such document can exist.

    Raised by every document store backend, for reads as well as writes. ``key``
    is the refused id and ``problem`` says what is wrong with it. Retrying cannot
    help, so an event that leads to one is poison: it becomes a fault at once.
    """

    def __init__(self, what: str, key: object, problem: str) -> None:
        super().__init__(f"{what} {key!r} is not a valid Firestore id: {problem}")
        self.key = key
        self.problem = problem


class InvalidDocument(StoreError, PoisonError, ValueError):
    """A document Firestore would refuse to store (an integer beyond 64 bits, a nested
    array, a value of no Firestore type). ``field`` is the dotted path of the first
    refused value and ``problem`` what is wrong with it. Retrying cannot help: an
    event that leads to one is poison, a request a 400."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class InvalidQuery(StoreError, ValueError):
    """A query condition Firestore refuses (an ``in`` over no values or more than 30, an
    ordering comparison with ``None``, a value it cannot compare such as text over 1500
    bytes): raised by every backend as soon as the condition is made. A bug in the code
    that built it, or a value taken from a request that should have been refused first
    (a BFF answers it 400)."""


class LakeError(KitError):
    """The event lake could not be written or read."""
