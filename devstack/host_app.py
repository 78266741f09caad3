"""The WSGI app of one subsystem's host: every function under ``/<target>``.

* push targets (consumers): ``POST /<target>`` with a Pub/Sub push body, answered
  by the function's functions-framework target (204 acks, 503 redelivers);
* HTTP endpoints (BFF APIs, webhooks) mounted with their own routes below ``/<target>``;
* schedules: ``POST /<target>`` runs one tick by hand (204, 503 to retry);
* triggers: ``POST /<target>`` with a Firestore CloudEvent, as Eventarc would send it
  (how ``fooddelivery faults resubmit`` hands a trigger its change again; 200 when
  handled, 500 asks for a retry, 400 rejects what is no CloudEvent);
* ``POST /_faults``: the fault recorder, fed by a push subscription on ``faults``;
* ``GET /healthz`` (503 naming the problems while a trigger hears no changes:
  :meth:`~devstack.host_runtime.HostRuntime.problems`), ``GET /_dev/stats``,
  ``GET /_dev/events?after=N``, ``GET /_dev/faults``
  (a page of the fault records, newest first: ``?limit=N``, at most 1000, default 100;
  ``&after=NEXT`` for the page after, ``NEXT`` being the answer's ``next``, null at the end).

Each of the three ``POST /<target>`` kinds is answered by the function's own target,
so a message, tick or change it refuses as poison is answered as on GCP: acknowledged,
the answer naming the fault (:func:`~shared.runtime.faults.fault_headers`).

What the host refuses itself (an unknown path or target, a wrong method, a bad request to
one of its own routes, a trigger that raised) it answers as a BFF answers a refusal
(:func:`~shared.api.problem_answer` of an :class:`~shared.api.HttpError`), never with
Flask's HTML pages.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from devstack.host_runtime import HostRuntime, kind_of
from shared.api import HttpError, answer_errors_in_json, echoed, json_api_flask, problem_answer
from shared.exceptions import EnvelopeError
from shared.hub.message import parse_push
from shared.runtime.faults import ARISEN_AT, refusal
from shared.runtime.faults_command import PAGE, fault_page

if TYPE_CHECKING:
    from collections.abc import Mapping

    from _typeshed.wsgi import WSGIApplication

FAULTS_PATH = "/_faults"


def build_app(host: HostRuntime) -> WSGIApplication:
    """The host's routes, with every HTTP endpoint mounted at ``/<target>``."""
    root = _root_app(host)
    mounts: dict[str, WSGIApplication] = {
        f"/{name}": host.functions.runtime(name)
        for name, fn in host.targets().items()
        if kind_of(fn) == "http"
    }
    return DispatcherMiddleware(root, mounts)


def _root_app(host: HostRuntime) -> flask.Flask:
    app = json_api_flask(f"devstack-{host.app.name}")  # a 204 is no text/html page either
    _refuse_in_the_kit_s_shape(app)
    targets = host.targets()
    callables = {
        name: host.functions.target(name)
        for name, fn in targets.items()
        if kind_of(fn) in ("push", "schedule", "trigger")
    }

    @app.get("/healthz")
    def healthz() -> Any:
        about = {"subsystem": host.app.name, "project": host.project}
        problems = host.problems()
        if problems:
            return {"status": "unhealthy", "problems": problems, **about}, 503
        return {"status": "ok", **about}

    @app.get("/_dev/stats")
    def stats() -> Any:
        return host.stats.snapshot()

    @app.get("/_dev/events")
    def events() -> Any:
        after = flask.request.args.get("after", "0")
        if not (after.isascii() and after.isdigit()):
            raise HttpError(400, f"after must be a count of events (0, 1, ...), not {after!r}")
        return {"events": host.stats.events(int(after))}

    @app.get("/_dev/faults")
    def faults() -> Any:
        limit, after = _fault_page_args(flask.request.args)
        found = fault_page(host.store, [], limit + 1, after)  # one more tells if others are
        page = found[:limit]
        more = len(found) > limit
        return {
            "faults": [d.data for d in page],
            "next": f"{page[-1].data[ARISEN_AT]}:{page[-1].key}" if more else None,
        }

    @app.post(FAULTS_PATH)
    def record_fault() -> Any:
        started = time.perf_counter()
        try:
            _, message = parse_push(flask.request.get_json(silent=True))
        except EnvelopeError as error:
            raise HttpError(400, f"not a Pub/Sub push request: {error}") from error
        assert host.recorder is not None
        with host.stats.handling():
            host.recorder.handle(message)
        kind = "dead-letter" if message.is_dead_letter else message.attributes.get("type", "?")
        ms = (time.perf_counter() - started) * 1000
        host.stats.handled("_faults", "fault", kind, message.message_id, "ack", ms)
        return "", 204

    @app.post("/<target>")
    def deliver(target: str) -> Any:
        function = callables.get(target)
        if function is None:
            raise HttpError(
                404, f"{host.app.name} has no push, schedule or trigger target {echoed(target)!r}"
            )
        kind = kind_of(targets[target])
        if kind == "schedule":
            return _run(host, target, function, "schedule", "tick", "")
        if kind == "trigger":
            headers = flask.request.headers
            document = headers.get("ce-document") or headers.get("ce-id") or ""
            return _run(host, target, function, "trigger", "replayed", document)
        event_type, key, selected = "?", "", True
        try:
            _, message = parse_push(flask.request.get_json(silent=True))
            event_type = message.attributes.get("type", "?")
            key = message.attributes.get("partitionKey", message.message_id)
            selected = targets[target].channel.rule.matches(message.attributes)
        except EnvelopeError:
            pass
        return _run(host, target, function, "push", event_type, key, selected)

    return app


def _run(
    host: HostRuntime,
    target: str,
    function: Any,
    kind: str,
    event_type: str,
    key: str,
    selected: bool = True,
) -> Any:
    """Answer the request with ``function``'s target, counted and logged like any delivery
    (``fault``: acknowledged, refused as poison; ``skip``: not for this function)."""
    started = time.perf_counter()
    with host.stats.handling():
        try:
            answer = function(flask.request)
        except Exception as error:  # a trigger asks for a retry by raising, as on Eventarc
            answer = problem_answer(HttpError(500, f"{target} failed: {error}"))
    response = flask.make_response(answer)
    if response.status_code == 400:
        outcome = "bad"
    elif not 200 <= response.status_code < 300:
        outcome = "retry"
    elif refusal(dict(response.headers)) is not None:
        outcome = "fault"
    else:
        outcome = "ack" if selected else "skip"
    ms = (time.perf_counter() - started) * 1000
    host.stats.handled(target, kind, event_type, key, outcome, ms)
    return response


MAX_FAULTS = 1000
"""The most faults one answer of ``/_dev/faults`` holds (``limit``)."""


def _fault_page_args(args: Mapping[str, str]) -> tuple[int, tuple[int, str] | None]:
    """``/_dev/faults``'s ``limit`` (default :data:`~shared.runtime.faults_command.PAGE`) and
    ``after`` (the ``next`` of the answer before: ``ARISEN_AT:FAULT_ID``); an
    :class:`HttpError` 400 saying what is wrong with either."""
    limit_text = args.get("limit", str(PAGE))
    if not (limit_text.isascii() and limit_text.isdigit() and 1 <= int(limit_text) <= MAX_FAULTS):
        raise HttpError(400, f"limit must be from 1 to {MAX_FAULTS}, not {echoed(limit_text)!r}")
    after_text = args.get("after")
    if after_text is None:
        return int(limit_text), None
    at, _, key = after_text.partition(":")
    if not (at.isascii() and at.isdigit() and key):
        raise HttpError(
            400,
            f"after must be the next of the answer before (TIME:ID), not {echoed(after_text)!r}",
        )
    return int(limit_text), (int(at), key)


def _refuse_in_the_kit_s_shape(app: flask.Flask) -> None:
    """Answer ``app``'s own refusals as the kit's APIs do (:func:`~shared.api.problem_answer`):
    an :class:`HttpError` raised by a route, and the kit's answers to unknown paths, wrong
    methods, failures and werkzeug's other refusals (a 400 of a request it cannot read)."""
    answer_errors_in_json(app, problem_details=True)

    @app.errorhandler(HttpError)
    def refused(error: HttpError) -> Any:
        return problem_answer(error)
