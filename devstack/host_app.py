"""The WSGI app of one subsystem's host: every function under ``/<target>``.

* push targets (consumers): ``POST /<target>`` with a Pub/Sub push body, answered
  by the function's functions-framework target (204 acks, 503 redelivers);
* HTTP endpoints (BFF APIs, webhooks) mounted with their own routes below ``/<target>``;
* schedules: ``POST /<target>`` runs one tick by hand;
* triggers: ``POST /<target>`` with a Firestore CloudEvent, as Eventarc would send it
  (how ``fooddelivery faults resubmit`` hands a trigger its change again; 204 when
  handled, 500 asks for a retry, 400 rejects what is no CloudEvent);
* ``POST /_faults``: the fault recorder, fed by a push subscription on ``faults``;
* ``GET /healthz``, ``GET /_dev/stats``, ``GET /_dev/events?after=N``, ``GET /_dev/faults``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from devstack.host_runtime import HostRuntime, kind_of
from shared.exceptions import EnvelopeError
from shared.hub.message import parse_push
from shared.runtime.faults import FAULTS_COLLECTION

if TYPE_CHECKING:
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
    app = flask.Flask(f"devstack-{host.app.name}")
    targets = host.targets()
    callables = {
        name: host.functions.target(name)
        for name, fn in targets.items()
        if kind_of(fn) in ("push", "schedule", "trigger")
    }

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok", "subsystem": host.app.name, "project": host.project}

    @app.get("/_dev/stats")
    def stats() -> Any:
        return host.stats.snapshot()

    @app.get("/_dev/events")
    def events() -> Any:
        after = flask.request.args.get("after", "0")
        return {"events": host.stats.events(int(after) if after.isdigit() else 0)}

    @app.get("/_dev/faults")
    def faults() -> Any:
        return {"faults": [d.data for d in host.store.query(FAULTS_COLLECTION)]}

    @app.post(FAULTS_PATH)
    def record_fault() -> Any:
        started = time.perf_counter()
        try:
            _, message = parse_push(flask.request.get_json(silent=True))
        except EnvelopeError as error:
            return f"not a Pub/Sub push request: {error}", 400
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
            return {
                "error": f"{host.app.name} has no push, schedule or trigger target {target!r}"
            }, 404
        if kind_of(targets[target]) == "schedule":
            return ("", 204) if host.tick(target).name == "ACK" else ("retry", 503)
        if kind_of(targets[target]) == "trigger":
            return _cloudevent(host, target, function)
        started = time.perf_counter()
        event_type, key, selected = "?", "", True
        try:
            _, message = parse_push(flask.request.get_json(silent=True))
            event_type = message.attributes.get("type", "?")
            key = message.attributes.get("partitionKey", message.message_id)
            selected = targets[target].channel.rule.matches(message.attributes)
        except EnvelopeError:
            pass
        with host.stats.handling():
            answer = function(flask.request)
        status = answer[1] if isinstance(answer, tuple) else 200
        outcome = {204: "ack" if selected else "skip", 400: "bad"}.get(status, "retry")
        ms = (time.perf_counter() - started) * 1000
        host.stats.handled(target, "push", event_type, key, outcome, ms)
        return answer

    return app


def _cloudevent(host: HostRuntime, target: str, function: Any) -> Any:
    """Run a trigger's CloudEvent target on the CloudEvent in the request."""
    from cloudevents.exceptions import GenericException
    from cloudevents.http import from_http

    started = time.perf_counter()
    try:
        event = from_http(dict(flask.request.headers), flask.request.get_data())
    except GenericException as error:
        return f"not a CloudEvent: {error}", 400
    outcome, answer = "ack", ("", 204)
    with host.stats.handling():
        try:
            function(event)
        except Exception as error:  # the target asks for a retry by raising, as on Eventarc
            outcome, answer = "retry", (str(error), 500)
    ms = (time.perf_counter() - started) * 1000
    document = str(event.get("document") or event.get("subject") or event["id"])
    host.stats.handled(target, "trigger", "replayed", document, outcome, ms)
    return answer
