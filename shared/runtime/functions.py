"""Functions-framework targets for a subsystem's functions.

A subsystem's ``main.py`` exposes one target per declared function::

    host = FunctionHost(APP)
    lifecycle_listener = host.target("lifecycle_listener")

Every target is an HTTP function (registered as one, whatever signature type the
platform declares):

* a consumer takes Pub/Sub push requests: 204 acks, 503 asks for redelivery, 400
  rejects a body that is not a push request;
* an endpoint dispatches into the service's Flask app;
* a trigger takes Eventarc's Firestore CloudEvents (binary or structured mode, protobuf
  or JSON data; a structured event's ``data`` member with no ``datacontenttype`` is JSON,
  as the CloudEvents JSON format has it), which it parses itself: 200 when handled, 500
  (raised) asks Eventarc to retry, 400 rejects what is no CloudEvent. Eventarc counts no
  attempts and would retry for a day, then drop the change silently: a change still failing
  :data:`~shared.runtime.consumer.TRIGGER_RETRY_WINDOW_S` after its write (the event's
  ``time``) is dead-lettered to ``faults`` and acknowledged, the attempts counted as
  Eventarc's backoff makes them, so the fault is the one the embedded runtime and the
  dev stack record (see :mod:`shared.runtime.consumer`);
* a schedule runs one tick per request (Cloud Scheduler's): 204, or 503 to retry.

A consumer, trigger or schedule takes POST only (what Pub/Sub, Eventarc and Cloud
Scheduler send), at whatever path, as Cloud Functions serves it: any other method is
answered 405, so a GET runs no tick.

A consumer, trigger or schedule that refuses what it was handed as poison still
acknowledges it (204, 200), and its answer names the fault it recorded
(:func:`~shared.runtime.faults.fault_headers`), as a trigger's answer names the fault
of a change it dead-lettered (:func:`~shared.runtime.faults.dead_letter_headers`,
which its error log names too): the broker ignores that, while
``faults resubmit`` learns at once that a replay was refused. A CloudEvent function's
answer is the framework's, never its own, hence the triggers' HTTP signature.
A consumer's, trigger's or schedule's answer says what it says in plain text (``text/plain;
charset=utf-8``); one that says nothing (a 204, a trigger's 200) has no ``Content-Type``
(:func:`as_text`). Infrastructure is built on the first call, from :class:`Settings`, never
at import, once however many calls come at once.

A function that cannot be set up (a setting missing or wrong, a secret it declares not given,
an adapter or the service's app that cannot be built) logs why through the kit's logs (set up
even when the settings cannot be read), with its traceback and the function's name, and
answers 503 (:meth:`FunctionHost.set_up`): a consumer, trigger or schedule in plain text, so
that Pub/Sub, Eventarc or Cloud Scheduler delivers again; an endpoint as problem details
(:func:`~shared.api.problem_answer`), with the headers of every kit answer and a
``Retry-After`` of :data:`SET_UP_RETRY_AFTER_S`, saying nothing of why. The failure is not
kept: the next call tries the set-up again, so a transient cause (a credentials fetch that
timed out) heals without a redeployment.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from shared import logs
from shared.clock import SystemClock
from shared.exceptions import EnvelopeError, SettingError, TopologyError
from shared.hub.message import Message, parse_push
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.runtime.consumer import (
    TRIGGER_RETRY_WINDOW_S,
    ConsumerRuntime,
    ScheduleRuntime,
    TriggerRuntime,
    trigger_runs,
)
from shared.runtime.faults import dead_letter_headers, declared_indexes, fault_headers
from shared.runtime.outcome import Outcome
from shared.runtime.secrets import (
    bootstrapping,
    require_declared,
    secrets_scope,
    serve_endpoint,
)
from shared.settings import Settings
from shared.topology.model import Consumer, Endpoint, Schedule, Topic, Trigger

if TYPE_CHECKING:
    import flask

    from shared.envelope import Envelope
    from shared.hub.base import AbstractPublisher
    from shared.stores.base import AbstractDocumentStore
    from shared.topology.model import Index

T = TypeVar("T")
_log = logging.getLogger("fooddelivery.functions")
Target = Callable[..., Any]
Answer = tuple[str, int, dict[str, str]]
SET_UP_RETRY_AFTER_S = 5
"""The ``Retry-After`` of an endpoint's 503 when its function could not be set up: the next
request tries the set-up again."""
NOT_SET_UP = "the function could not be set up"
"""What a consumer's, trigger's or schedule's 503 says when it could not be set up."""


class FunctionHost:
    """Builds, once per process, the infrastructure and runtimes behind the targets."""

    def __init__(
        self,
        app: SubsystemApp[Any],
        settings: Settings | None = None,
        *,
        wrap_publisher: Callable[[AbstractPublisher], AbstractPublisher] | None = None,
        wrap_store: Callable[[AbstractDocumentStore], AbstractDocumentStore] | None = None,
    ) -> None:
        """``wrap_publisher`` and ``wrap_store`` decorate the adapters the functions use
        (e.g. a local host records what it publishes and counts its writes); by default
        the adapters are used as they are."""
        self.app = app
        self._settings = settings
        self._wrap_publisher = wrap_publisher
        self._wrap_store = wrap_store
        # Re-entrant: a runtime is built under it, and it builds the infrastructure first.
        self._lock = threading.RLock()
        self._built: tuple[Infrastructure, AbstractPublisher, Any] | None = None
        self._runtimes: dict[str, Any] = {}

    @property
    def settings(self) -> Settings:
        """The settings in force (read from the environment on first use)."""
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    def infrastructure(self) -> tuple[Infrastructure, AbstractPublisher, Any]:
        """(infrastructure, publisher, ports), built on first use."""
        with self._lock:
            if self._built is None:
                try:
                    settings = self.settings
                except SettingError:
                    # Logged by the caller (set_up) through the kit's logs, as any set-up failure.
                    logs.configure(Settings.log_format_in(os.environ))
                    raise
                logs.configure(settings.log_format, project=settings.project)
                indexes = declared_indexes(self.app.topology)
                store, publisher = adapters(self.app.name, settings, indexes)
                if self._wrap_publisher is not None:
                    publisher = self._wrap_publisher(publisher)
                if self._wrap_store is not None:
                    store = self._wrap_store(store)
                infra = Infrastructure(
                    self.app.name, store, SystemClock(), settings.env, settings.extra
                )
                with bootstrapping(self.app.name):
                    ports = self.app.bootstrap(infra)
                self._built = (infra, publisher, ports)
            return self._built

    def target(self, name: str) -> Target:
        """The functions-framework target for the function behind ``name``."""
        import functions_framework

        service, fn = self.app.topology.find(name)
        if isinstance(fn, Consumer):
            target = self._push_target(name)
        elif isinstance(fn, Endpoint):
            target = self._http_target(name)
        elif isinstance(fn, Trigger):
            target = self._trigger_target(name)
        elif isinstance(fn, Schedule):
            target = self._schedule_target(name)
        else:  # pragma: no cover
            raise TopologyError(f"{service.name}/{fn.name} has no target kind")
        if not isinstance(fn, Endpoint):
            target = as_text(posted_only(target))
        # Registered by name: functions-framework serves it as an HTTP function even where
        # the platform declares another signature (a Firestore-triggered function's).
        return functions_framework.http(target)

    def runtime(self, name: str) -> Any:
        """The consumer/trigger runtime, or the Flask app, behind a target: built on first use,
        once (concurrent first calls wait for it); a build that fails is tried again by the
        next call."""
        cached = self._runtimes.get(name)  # only ever set whole, under the lock
        if cached is not None:
            return cached
        with self._lock:
            built = self._runtimes.get(name)
            if built is None:
                built = self._runtimes[name] = self._build(name)
            return built

    def _build(self, name: str) -> Any:
        """The runtime, or the Flask app, behind target ``name``, built now."""
        infra, publisher, ports = self.infrastructure()
        service, fn = self.app.topology.find(name)
        qualified = f"{self.app.name}/{service.name}/{fn.name}"
        require_declared(qualified, fn.secrets, infra.settings)
        built: Any
        if isinstance(fn, Consumer):
            built = ConsumerRuntime(
                self.app.topology, service, fn, ports, publisher, infra.clock, infra.env
            )
        elif isinstance(fn, Schedule):
            built = ScheduleRuntime(
                self.app.topology, service, fn, ports, publisher, infra.clock, infra.env
            )
        elif isinstance(fn, Trigger):
            built = TriggerRuntime(
                self.app.topology, service, fn, ports, publisher, infra.clock, infra.env
            )
        else:
            assert isinstance(fn, Endpoint)
            built = serve_endpoint(fn, ports, qualified)
        return built

    def set_up(self, name: str, build: Callable[[], T]) -> T | None:
        """What ``build`` returns, or ``None`` when it fails: logged once, naming function
        ``name`` and why, with its traceback, for its target to answer 503 (see the module).
        Every target of the host sets up through it, and so must one added beside them (the
        deployed fault recorder)."""
        try:
            return build()
        except Exception as error:
            _log.exception(
                "%s could not be set up: %s; answered 503, the next call tries again",
                name,
                _reason(error),
            )
            return None

    def _set_up(self, name: str) -> Any | None:
        """:meth:`runtime` through :meth:`set_up`."""
        return self.set_up(name, lambda: self.runtime(name))

    def _push_target(self, name: str) -> Target:
        def push(request: flask.Request) -> Answer:
            try:
                _, message = parse_push(request.get_json(silent=True))
            except EnvelopeError as error:
                return f"not a Pub/Sub push request: {error}", 400, {}
            runtime = self._set_up(name)
            if runtime is None:
                return f"redeliver: {NOT_SET_UP}", 503, {}
            faults: list[Envelope] = []
            outcome = runtime.handle(message, faults=faults)
            if outcome is not Outcome.ACK:
                return "redeliver", 503, {}
            return "", 204, _refused(faults)

        push.__name__ = name
        return push

    def _http_target(self, name: str) -> Target:
        service, fn = self.app.topology.find(name)
        qualified = f"{self.app.name}/{service.name}/{fn.name}"

        def http(request: flask.Request) -> Any:
            app = self._set_up(name)
            if app is None:
                return _not_set_up()
            body = request.get_data()
            environ = {
                **request.environ,
                "wsgi.input": io.BytesIO(body),
                "CONTENT_LENGTH": str(len(body)),
            }
            scope = secrets_scope(qualified, fn.secrets)
            with scope, app.request_context(environ):  # dispatched past the app's wsgi_app
                return app.full_dispatch_request()

        http.__name__ = name
        return http

    def _schedule_target(self, name: str) -> Target:
        def tick(request: flask.Request) -> Answer:
            runtime = self._set_up(name)
            if runtime is None:
                return f"retry: {NOT_SET_UP}", 503, {}
            faults: list[Envelope] = []
            outcome = runtime.handle(faults=faults)
            if outcome is not Outcome.ACK:
                return "retry", 503, {}
            return "", 204, _refused(faults)

        tick.__name__ = name
        return tick

    def _trigger_target(self, name: str) -> Target:
        def trigger(request: flask.Request) -> Answer:
            from cloudevents.exceptions import GenericException
            from cloudevents.http import from_http

            try:
                # The data as sent (not JSON-decoded into a dict): parsing is Eventarc's format.
                event = from_http(dict(request.headers), request.get_data(), _as_sent)
            except (GenericException, ValueError, TypeError) as error:
                # Without its ce-* headers a body is read as a structured event: the SDK
                # then fails on bytes that are no UTF-8 (protobuf data) or on odd JSON.
                return f"not a CloudEvent: {error}", 400, {}
            runtime = self._set_up(name)
            if runtime is None:
                return f"retry: {NOT_SET_UP}", 503, {}
            faults: list[Envelope] = []
            dead_letter = self._on_cloudevent(name, runtime, event, faults)
            return "", 200, dead_letter or _refused(faults)

        trigger.__name__ = name
        return trigger

    def _on_cloudevent(
        self, name: str, runtime: TriggerRuntime[Any], event: Any, faults: list[Envelope]
    ) -> dict[str, str]:
        """Run trigger ``name`` (its ``runtime``) on an Eventarc ``document.v1.written`` event;
        raise to have it retried. The fault event of a change refused as poison goes to
        ``faults``; the headers naming the fault of a change dead-lettered are returned (else
        none)."""
        from shared.stores.eventarc import CONTENT_TYPE, JSON, parse_document_written

        data = _data_bytes(event.data)
        attributes = dict(event.get_attributes())
        if isinstance(event.data, str) and not attributes.get(CONTENT_TYPE):
            # A structured event's `data` member with no content type holds JSON (the
            # CloudEvents JSON format implies it), and says so if kept for a replay.
            attributes[CONTENT_TYPE] = JSON
        try:
            change = parse_document_written(data, attributes)
        except EnvelopeError as error:
            # Its content type is kept, so a replay hands it back as it came.
            given = attributes.get(CONTENT_TYPE)
            kept = {CONTENT_TYPE: str(given)} if given else {}
            poison = Message(data=data, attributes=kept, message_id=str(event["id"]))
            if runtime.record_fault(poison, error, faults=faults) is Outcome.RETRY:
                raise RuntimeError(f"{name} could not record a fault; retry") from error
            return {}
        age_s = _age_s(event, runtime.clock.now_ms())
        # A replay has no time: its attempts are unknown, and it is never dead-lettered.
        attempt = 1 if age_s is None else trigger_runs(age_s)
        if runtime.handle(change, attempt, faults=faults) is Outcome.RETRY:
            where = f"{change.collection}/{change.key}"
            if age_s is None or age_s < TRIGGER_RETRY_WINDOW_S:
                raise RuntimeError(f"{name} failed on {where}; retry")
            # Eventarc has no dead-letter topic: forward the change to faults as one would.
            try:
                forwarded = runtime.dead_letter(change, attempt)
            except Exception as error:
                raise RuntimeError(f"{name} could not dead-letter {where}; retry") from error
            return dead_letter_headers(forwarded)
        return {}


def _reason(error: Exception) -> str:
    """``error``'s type and message, on one line (a :class:`KeyError`'s message unquoted)."""
    said = error.args[0] if isinstance(error, KeyError) and error.args else error
    return " ".join(f"{type(error).__name__}: {said}".split())


def _not_set_up() -> flask.Response:
    """An endpoint's answer when its function could not be set up: a problem details 503,
    saying nothing of why (the log says that), with the kit's answer headers."""
    from shared.api import HttpError, problem_answer  # the kit's API, an endpoint's only

    return problem_answer(
        HttpError(
            503,
            f"the service is unavailable; retry in {SET_UP_RETRY_AFTER_S} s",
            headers={"Retry-After": str(SET_UP_RETRY_AFTER_S)},
        )
    )


def posted_only(target: Target) -> Target:
    """``target``, which answers ``(message, status[, headers])``, answering 405 (``Allow:
    POST``) to any method but POST, the one Pub/Sub, Eventarc and Cloud Scheduler use:
    functions-framework hands an HTTP function every method, and a GET from a browser or a
    probe must not run a schedule's tick or pass for a malformed delivery. Every target of
    theirs takes it, and so must one added beside the host's (the deployed fault recorder)."""

    @functools.wraps(target)
    def posted(request: flask.Request) -> tuple[Any, ...]:
        if request.method != "POST":
            said = f"{request.method} is not allowed: this function takes POST requests only"
            return said, 405, {"Allow": "POST"}
        answer: tuple[Any, ...] = target(request)
        return answer

    return posted


def as_text(target: Target) -> Target:
    """``target``, which answers ``(message, status[, headers])``, answering with a response:
    the message as ``text/plain`` in UTF-8, or, when it is empty (a 204, a trigger's 200), no
    ``Content-Type`` at all (RFC 9110, section 8.3), as a BFF's empty answer has none. Flask
    would call either ``text/html``, a page."""
    import flask

    @functools.wraps(target)
    def answered(request: flask.Request) -> flask.Response:
        message, status, *rest = target(request)
        answer = flask.Response(message, status, rest[0] if rest else {}, mimetype="text/plain")
        if not message:
            del answer.headers["Content-Type"]
        return answer

    return answered


def _as_sent(data: Any) -> Any:
    """A CloudEvent's data as it came: the body in binary mode, ``data_base64`` decoded (both
    bytes) or ``data`` as JSON text (a ``str``) in structured mode (the SDK's default would
    turn JSON into a dict)."""
    return data


def _data_bytes(data: Any) -> bytes:
    """A CloudEvent's data (see :func:`_as_sent`) as bytes; none is empty."""
    if isinstance(data, str):
        return data.encode()
    return bytes(data) if isinstance(data, bytes | bytearray) else b""


def _refused(faults: list[Envelope]) -> dict[str, str]:
    """The headers naming the fault a target recorded for its request, if it did."""
    return fault_headers(faults[-1]) if faults else {}


def _age_s(event: Any, now_ms: int) -> float | None:
    """Seconds since the CloudEvent's ``time`` (when the document was written), if it has one."""
    try:
        written = datetime.fromisoformat(str(event["time"]))
    except (KeyError, ValueError):
        return None
    return now_ms / 1000 - written.timestamp()


def adapters(
    subsystem: str, settings: Settings, indexes: Iterable[Index] | None = None
) -> tuple[AbstractDocumentStore, AbstractPublisher]:
    """``subsystem``'s store and publisher for ``settings.mode``; Google adapters load only
    when needed.

    ``indexes`` are the composite indexes ``subsystem``'s Firestore has: given them, the
    memory store refuses a query Firestore would refuse for want of one, as the embedded
    system's does (:class:`~shared.stores.indexes.MissingIndex`); Firestore knows its own.

    In ``emulator`` mode the emulators must be named (``FIRESTORE_EMULATOR_HOST``,
    ``PUBSUB_EMULATOR_HOST``), else a :class:`~shared.exceptions.SettingError` says so
    before any client is built: one without would reach Google's real services.

    The project is the subsystem's own (``FOODDELIVERY_PROJECT_<NAME>``) when given, so
    a ``GOOGLE_CLOUD_PROJECT`` a developer's shell exports cannot put every subsystem of a
    local stack in one project; else ``FOODDELIVERY_PROJECT`` / ``GOOGLE_CLOUD_PROJECT``.
    """
    own = settings.projects.get(subsystem)
    project = own or (
        settings.project_of(subsystem) if settings.project == "local" else settings.project
    )
    if settings.mode == "memory":
        from shared.hub.memory import InMemoryHub
        from shared.stores.memory import InMemoryDocumentStore

        hub = InMemoryHub(SystemClock())
        for topic in Topic:
            hub.create_topic(project, topic)
        return InMemoryDocumentStore(indexes=indexes), hub.publisher(project)
    from shared.emulators import FIRESTORE, PUBSUB
    from shared.hub.pubsub import PubSubPublisher
    from shared.stores.firestore import FirestoreDocumentStore

    settings.require_emulators(FIRESTORE.env_var, PUBSUB.env_var)
    return FirestoreDocumentStore(project), PubSubPublisher(project)
