"""Run a function's handlers on one delivery and decide: acknowledge or redeliver.

The same code runs behind a push endpoint (emulator, GCP) and inside the
embedded hub. For each delivery:

1. the routing rule is evaluated on the message attributes (the emulator does
   not apply subscription filters); a non-matching message is acknowledged;
2. the envelope is decoded; an undecodable message is a poison message, and so is
   one whose envelope says otherwise than its attributes on what the rule selects by
   (its type, a tag): its handlers never run on it;
3. the handlers run in order, then the events they emitted are published;
4. a :class:`~shared.exceptions.PoisonError` (or a pydantic validation error)
   becomes a fault event on ``faults`` and the message is acknowledged; any
   other exception asks for redelivery, and the broker dead-letters the message
   after the channel's maximum attempts.

A caller that must know whether a delivery was refused (a function's target, to say so
in its answer) passes ``faults``: the fault event published for it is appended there.

A database-first trigger has no subscription of ours, so whoever runs it retries it, and
all three runtimes retry it alike: with Eventarc's backoff (:data:`TRIGGER_BACKOFF_S`)
until the change has failed for :data:`TRIGGER_RETRY_WINDOW_S` since it was written, then
:meth:`TriggerRuntime.dead_letter` forwards it to ``faults`` as Pub/Sub dead-letters a
consumer's message. Embedded, the hub counts the :data:`TRIGGER_ATTEMPTS` runs that
schedule makes in the window (a manual clock skips the waits); ``fooddelivery dev`` makes
them on a compressed schedule; on GCP the function's target measures the change's age,
as Eventarc counts no attempts. Either way a person sees the same fault: reason
``dead-letter``, the function named ``service-function`` as a consumer's dead letter
names its subscription, ``MaxDeliveryAttemptsExceeded: not acknowledged after N
attempts``. Not ``poison``: nothing refused the change, it kept failing (an outage, a
bug), so it is triaged, and resubmitted once the cause is fixed, as a dead letter is.

A schedule's failed tick is retried by its next tick (Cloud Scheduler retries none), and a
schedule that has failed on every tick for :data:`TRIGGER_RETRY_WINDOW_S` becomes a fault of
its own (:class:`ScheduleRuntime`), so a sweep that can no longer run is listed, not only
logged.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import time
import traceback
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import ValidationError

from shared.clock import utc_text
from shared.envelope import Envelope, derive_id
from shared.exceptions import EnvelopeError, KitError, NotYet, PoisonError
from shared.hub.message import (
    ATTRIBUTE_TYPE,
    Message,
    dead_lettered,
    from_message,
    to_message,
)
from shared.logs import event_logger
from shared.runtime.context import Context
from shared.runtime.faults import (
    REDACTED,
    fault_event,
    fault_record,
    mask,
    message_key,
    publish_time_text,
)
from shared.runtime.outcome import Outcome
from shared.runtime.secrets import secrets_scope
from shared.stores import stored_json
from shared.topology.model import (
    Consumer,
    Function,
    Role,
    Schedule,
    Service,
    Subsystem,
    Topic,
    Trigger,
)

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.hub.base import AbstractPublisher
    from shared.hub.routing import Selection
    from shared.stores.base import Doc, DocumentChange

P = TypeVar("P")
F = TypeVar("F", bound=Function)
_log = logging.getLogger("fooddelivery.runtime")
TRIGGER_BACKOFF_S = (10, 600)
"""Backoff (min, max) between a trigger's runs on one change: Eventarc's for a Cloud
Functions (2nd gen) event trigger that retries, doubling from the minimum."""
TRIGGER_RETRY_WINDOW_S = 3600
"""How long a change that keeps failing is retried before it is dead-lettered: Eventarc
would go on for a day, then drop it silently, so the kit gives up first and keeps it."""


def trigger_runs(age_s: float, backoff_s: tuple[float, float] = TRIGGER_BACKOFF_S) -> int:
    """The runs a trigger makes on a change within ``age_s`` of its write, the first at
    once and each next one ``backoff_s`` later (doubling, capped), as Eventarc makes them."""
    runs, at = 1, 0.0
    while True:
        at += min(backoff_s[1], backoff_s[0] * 2 ** (runs - 1))
        if at > age_s:
            return runs
        runs += 1


TRIGGER_ATTEMPTS = trigger_runs(TRIGGER_RETRY_WINDOW_S) + 1
"""Runs of a trigger on one change before it is dead-lettered, where runs are counted
(embedded, ``fooddelivery dev``): the last is the first at least
:data:`TRIGGER_RETRY_WINDOW_S` after the write, where GCP's target gives up."""


class _FunctionRuntime(Generic[P, F]):
    """What the three runtimes share: identity, ports, context building, publishing, faults."""

    def __init__(
        self,
        subsystem: Subsystem,
        service: Service,
        fn: F,
        ports: P,
        publisher: AbstractPublisher,
        clock: Clock,
        env: str = "local",
    ) -> None:
        self.subsystem, self.service, self.fn, self.ports = subsystem, service, fn, ports
        self.role, self.name = fn.role, fn.name
        self.publisher, self.clock, self.env = publisher, clock, env
        self.qualified = f"{subsystem.name}/{service.name}/{fn.name}"
        # Worked out once: a function is immutable, and these go into every delivery.
        self._logger_name = f"{subsystem.name}.{service.name}.{fn.name}"
        self._secrets = frozenset(fn.secrets)
        self._publishes = frozenset(getattr(fn, "publishes", ()))

    def _context(
        self,
        cause_id: str,
        correlation_id: str,
        labels: dict[str, str],
        publishes: frozenset[str] = frozenset(),
    ) -> Context[P]:
        return Context(
            subsystem=self.subsystem.name,
            service=self.service.name,
            function=self.name,
            role=self.role,
            ports=self.ports,
            clock=self.clock,
            log=event_logger(self._logger_name, labels),
            cause_id=cause_id,
            correlation_id=correlation_id,
            publishes=publishes,
            env=self.env,
        )

    def _run(
        self,
        steps: Callable[[Context[P]], None],
        ctx: Context[P],
        message: Callable[[], Message],
        faults: list[Envelope] | None = None,
        masked: Collection[str] = (),
    ) -> Outcome:
        """Run ``steps``; ``message`` makes, only if a fault needs it, what they handled.
        The ``masked`` values never reach a fault or a log line (:func:`fault_event`)."""
        started = time.perf_counter()
        try:
            with secrets_scope(self.qualified, self._secrets):
                steps(ctx)
            if ctx.emitted:
                self._publish(ctx.emitted)
            for action in ctx.published:
                action()
        except (PoisonError, ValidationError) as error:
            return self.record_fault(message(), error, ctx, faults, masked)
        except NotYet as waiting:  # by design: what it needs is on its way
            ctx.log.info("waits, asking for redelivery: %s", waiting)
            return Outcome.RETRY
        except Exception as error:
            # A push without deliveryAttempt (the emulator's; GCP's without a dead-letter
            # policy) reads as attempt 1 every time: only a count beyond 1 is known to be one.
            attempt = message().delivery_attempt
            again = f" (attempt {attempt})" if attempt > 1 else ""
            if masked:  # the traceback as text, masked: the logger would print it raw
                told = mask("".join(traceback.format_exception(error)), masked).rstrip()
                ctx.log.warning("failed, asking for redelivery%s: %s", again, told)
                return Outcome.RETRY
            ctx.log.warning(
                "failed, asking for redelivery%s: %s: %s",
                again,
                type(error).__name__,
                error,
                exc_info=True,
            )
            return Outcome.RETRY
        if ctx.log.isEnabledFor(logging.DEBUG):
            ctx.log.debug(
                "handled in %.1f ms, emitted %d",
                (time.perf_counter() - started) * 1000,
                len(ctx.emitted),
            )
        return Outcome.ACK

    def _publish(self, emitted: Sequence[tuple[Topic, Envelope]]) -> None:
        for topic in (Topic.BUS, Topic.EXTERNAL):
            messages = [to_message(e) for t, e in emitted if t is topic]
            if messages:
                self.publisher.publish(topic, messages)

    def record_fault(
        self,
        message: Message,
        error: BaseException,
        ctx: Context[Any] | None = None,
        faults: list[Envelope] | None = None,
        masked: Collection[str] = (),
    ) -> Outcome:
        """Publish a fault event for a poison ``message`` (appended to ``faults`` once
        published), the ``masked`` values replaced in its error's text; RETRY if even that
        fails."""
        fault = fault_event(
            subsystem=self.subsystem.name,
            function=self.qualified,
            message=message,
            error=error,
            clock=self.clock,
            env=self.env,
            key=self._fault_key(message),
            masked=masked,
        )
        logger = ctx.log if ctx is not None else _log
        said = mask(str(error), masked)
        try:
            self.publisher.publish(Topic.FAULTS, [to_message(fault)])
        except Exception:
            logger.exception(
                "%s could not publish fault %s of message %s (%s); asking for redelivery",
                self.qualified,
                fault.id,
                message.message_id or "-",
                said,
            )
            return Outcome.RETRY
        if faults is not None:
            faults.append(fault)
        logger.error(
            "poison message recorded as fault %s: %s (fooddelivery faults show %s %s)",
            fault.id,
            said,
            self.subsystem.name,
            fault.id,
        )
        return Outcome.ACK

    def _fault_key(self, message: Message) -> str | None:
        """What identifies ``message`` in its fault's id (:func:`fault_event`'s default)."""
        return None


class ConsumerRuntime(_FunctionRuntime[P, Consumer]):
    """Runs one :class:`Consumer`'s pipeline on messages from its channel."""

    def handle(self, message: Message, faults: list[Envelope] | None = None) -> Outcome:
        """Process one delivery of ``message``; the result is the ack decision."""
        if not self.fn.channel.rule.matches(message.attributes):
            return Outcome.ACK
        try:
            event = from_message(message)
            self._check_routed(message.attributes, event)
        except EnvelopeError as error:
            return self.record_fault(message, error, None, faults)
        correlation = event.correlation_id
        labels = {
            "eventId": event.id,
            "eventType": event.type,
            "correlationId": correlation,
            "function": self.qualified,
        }
        ctx = self._context(event.id, correlation, labels, self._publishes)
        if self.role in (Role.INGRESS, Role.EGRESS):
            # A translated fact happened when its producer said, not when we read it,
            # so views and folds order it by event time even when a gateway lags.
            ctx.occurred_at = event.timestamp

        def steps(c: Context[P]) -> None:
            for handler in self.fn.handlers:
                handler(event, c)

        return self._run(steps, ctx, lambda: message, faults)

    def _fault_key(self, message: Message) -> str:
        # The broker gives a message published again a new id: the fault must not change.
        return message_key(message)

    @functools.cached_property
    def _routed(self) -> tuple[str, ...]:
        return _routed_attributes(self.fn.channel.rule)

    def _check_routed(self, attributes: Mapping[str, str], event: Envelope) -> None:
        """Raise :class:`EnvelopeError` naming both values when ``event`` says otherwise than
        ``attributes`` on a field the routing rule selected it by (its type, a tag).

        The kit puts the envelope's own values in the attributes; a message from another
        publisher might not, and its handlers would run on an event of a kind the
        subscription does not carry."""
        for name in self._routed:
            said = attributes.get(name)
            own = event.type if name == ATTRIBUTE_TYPE else event.tags.get(name)
            if said != own:
                field = name if name == ATTRIBUTE_TYPE else f"tags.{name}"
                raise EnvelopeError(
                    field,
                    f"the message's attributes say {name}={said!r}, its envelope says {own!r}: "
                    f"{self.qualified} is routed on the attributes, so it refuses the message",
                )


def _routed_attributes(rule: Selection) -> tuple[str, ...]:
    """The attributes ``rule`` selects messages by: ``type`` and the tags it names."""
    names: dict[str, None] = {}
    for alternative in rule.alternatives:
        if alternative.types or alternative.type_prefixes:
            names[ATTRIBUTE_TYPE] = None
        names.update(dict.fromkeys(alternative.tags))
    return tuple(names)


class TriggerRuntime(_FunctionRuntime[P, Trigger]):
    """Runs one :class:`Trigger`'s handlers on changes to its collection."""

    def handle(
        self, change: DocumentChange, attempt: int = 1, faults: list[Envelope] | None = None
    ) -> Outcome:
        """Process one delivery of a document change; a change of a document outside the
        trigger's collection is refused as poison, its handlers never run on it."""
        if change.collection != self.fn.collection:
            # Eventarc's path pattern lets no such change through: one sent by hand or
            # misrouted would have the handlers act on a document of another kind.
            refused = EnvelopeError(
                "document",
                f"{change.collection}/{change.key} is no document of {self.fn.collection!r}, "
                f"the collection {self.qualified} watches",
            )
            message = change_message(change, attempt, self.fn.redact)
            return self.record_fault(message, refused, None, faults)
        cause = derive_id(change.collection, change.key, change.version)
        doc = change.after or change.before or {}
        by = self.fn.correlate_by
        correlation = str((doc.get(by) if by else None) or change.key)
        labels = {
            "document": f"{change.collection}/{change.key}",
            "change": change.kind,
            "correlationId": correlation,
            "function": self.qualified,
        }
        ctx = self._context(cause, correlation, labels)
        # What a write causes happened when it was written, however late the trigger runs.
        ctx.occurred_at = change.written_ms

        def steps(c: Context[P]) -> None:
            for handler in self.fn.handlers:
                handler(change, c)

        return self._run(
            steps,
            ctx,
            lambda: change_message(change, attempt, self.fn.redact),
            faults,
            redacted_values(change, self.fn.redact),
        )

    @property
    def subscription(self) -> str:
        """What its dead letters name it by: ``service-function``, as a consumer's
        subscription names it (Eventarc's own subscription is no name of ours)."""
        return f"{self.service.name}-{self.fn.name}"

    def dead_letter(self, change: DocumentChange, attempts: int) -> Message:
        """Forward ``change``, run ``attempts`` times in vain, to ``faults`` as Pub/Sub
        dead-letters a message (its ``redact`` fields masked); the message forwarded.

        Its message was published, as a dead letter says (``…TopicPublishTime``), when
        the change was written, where the store tells. The log names the fault it becomes.

        Raises what publishing raises: the caller keeps the change and retries it.
        """
        message = change_message(change, attempts, self.fn.redact)
        if change.written_ms is not None:
            written = datetime.fromtimestamp(change.written_ms / 1000, UTC)
            message = replace(message, publish_time=publish_time_text(written))
        forwarded = dead_lettered(message, self.subsystem.name, self.subscription, attempts)
        self.publisher.publish(Topic.FAULTS, [forwarded])
        fault_id = fault_record(forwarded)[0]
        _log.error(
            "%s dead-lettered %s/%s after %d attempts as fault %s (fooddelivery faults show %s %s)",
            self.qualified,
            change.collection,
            change.key,
            attempts,
            fault_id,
            self.subsystem.name,
            fault_id,
        )
        return forwarded


class ScheduleFailing(KitError):
    """A schedule failed on every tick for :data:`TRIGGER_RETRY_WINDOW_S`: nothing refused a
    tick (that is a poison fault), it kept failing (an outage, a bug); its cause is the last
    tick's error."""


class ScheduleRuntime(_FunctionRuntime[P, Schedule]):
    """Runs one :class:`Schedule`'s handlers on a tick.

    A failed tick is not retried (the next tick runs the schedule again): once the schedule
    has failed on every tick for :data:`TRIGGER_RETRY_WINDOW_S`, as a trigger's change is
    retried before it is dead-lettered, the tick becomes a fault (:class:`ScheduleFailing`),
    recurring once a window for as long as it keeps failing. The window is counted by the
    process running the schedule.
    """

    _failing: tuple[int, int] | None = None
    """(when the ticks began to fail, none succeeding since; when the window counted now
    began), epoch ms; ``None``: the last tick succeeded."""

    def handle(self, now_ms: int | None = None, faults: list[Envelope] | None = None) -> Outcome:
        """Run the handlers for the tick at ``now_ms`` (the clock's time by default)."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        cause = derive_id(self.qualified, "tick", str(now))
        labels = {"tick": str(now), "function": self.qualified}
        ctx = self._context(cause, cause, labels)
        failed: list[Exception] = []

        def steps(c: Context[P]) -> None:
            try:
                for handler in self.fn.handlers:
                    handler(now, c)
            except Exception as error:
                failed.append(error)
                raise

        tick = Message(data=json.dumps({"tick": now}).encode(), message_id=cause)
        outcome = self._run(steps, ctx, lambda: tick, faults)
        if outcome is Outcome.ACK:
            self._failing = None
            return outcome
        return self._failed_tick(now, tick, failed[-1] if failed else None, ctx, faults)

    def _failed_tick(
        self,
        now: int,
        tick: Message,
        error: Exception | None,
        ctx: Context[P],
        faults: list[Envelope] | None,
    ) -> Outcome:
        """RETRY for a failed tick, unless the ticks have failed for the window: then the
        fault saying so (ACK once it is published), and the window starts again."""
        since, window = self._failing = self._failing or (now, now)
        if now - window < TRIGGER_RETRY_WINDOW_S * 1000:
            return Outcome.RETRY
        why = f"{type(error).__name__}: {error}" if error else "its events were not published"
        failing = ScheduleFailing(f"failed on every tick since {utc_text(since)}; the last: {why}")
        failing.__cause__ = error
        outcome = self.record_fault(tick, failing, ctx, faults)
        if outcome is Outcome.ACK:
            self._failing = (since, now)
        return outcome

    def _fault_key(self, message: Message) -> str:
        # A tick carries nothing but its time, and running the schedule again is its only
        # replay: every tick it refuses is one fault of the schedule, recurring.
        return "tick"


REDACTED_ATTRIBUTE = "redacted"
"""The attribute of a stored change naming (comma-separated) the fields it holds masked:
handed back, the trigger would run on :data:`REDACTED` in place of their values."""


def change_message(change: DocumentChange, attempt: int = 1, redact: Sequence[str] = ()) -> Message:
    """A document change in message form, for faults and dead letters, the ``redact``
    fields (dotted paths) of its documents masked; their values keep their types
    (:mod:`shared.stores.stored_json`). The fields it masked are named in its
    :data:`REDACTED_ATTRIBUTE`."""
    masked: list[str] = []
    data = json.dumps(
        {
            "collection": change.collection,
            "key": change.key,
            "before": stored_json.to_json(_redacted(change.before, redact, masked)),
            "after": stored_json.to_json(_redacted(change.after, redact, masked)),
            "version": change.version,
        },
        default=str,
    ).encode()
    attributes = {"change": change.kind, "document": change.key}
    if masked:
        attributes[REDACTED_ATTRIBUTE] = ",".join(dict.fromkeys(masked))
    return Message(
        data=data,
        attributes=attributes,
        message_id=derive_id(change.collection, change.key, change.version),
        delivery_attempt=attempt,
    )


MASKED_FROM = 6
"""The fewest characters of a redacted value masked in error text (:func:`redacted_values`)."""


def redacted_values(change: DocumentChange, paths: Sequence[str]) -> tuple[str, ...]:
    """The text of every value ``change``'s documents hold at ``paths`` (each string and
    number within, for a map or a list): what its faults and log lines must not quote.
    One shorter than :data:`MASKED_FROM` characters is left out: masking it would garble
    the traceback (a line number), and no token is that short."""
    found: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for inner in value.values():
                collect(inner)
        elif isinstance(value, list | tuple):
            for inner in value:
                collect(inner)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value)
            found.extend([text] if len(text) >= MASKED_FROM else [])

    for doc in (change.before, change.after):
        for path in paths if doc is not None else ():
            holder: Any = doc
            for part in path.split("."):
                holder = holder.get(part) if isinstance(holder, dict) else None
            collect(holder)
    return tuple(dict.fromkeys(found))


def _redacted(doc: Doc | None, paths: Sequence[str], masked: list[str]) -> Doc | None:
    """``doc`` with the value at each of ``paths`` that holds one replaced by :data:`REDACTED`;
    the paths it replaced are appended to ``masked``."""
    if doc is None or not paths:
        return doc
    copied = copy.deepcopy(doc)
    for path in paths:
        *parents, name = path.split(".")
        holder: Any = copied
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and holder.get(name) is not None:
            holder[name] = REDACTED
            masked.append(path)
    return copied
