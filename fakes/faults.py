"""A switch for tests: fail the next N requests with a given status.

``POST /_fake/fail-next {"count": 2, "status": 503}`` makes the next two
requests to the fake's API fail with 503 before they touch any state, as a
flaky third party or its load balancer would. ``count: 0`` clears the switch.
``/_fake/`` routes and ``/healthz`` are never failed.
"""

from __future__ import annotations

import threading

import flask
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from fakes.web import parse_body


class FailNextRequest(BaseModel):
    """The body of ``POST /_fake/fail-next``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    count: int = Field(ge=0, le=1000)
    status: int = Field(default=503, ge=400, le=599)


class FailNext:
    """How many of the next requests to fail, and with what status; thread-safe."""

    def __init__(self) -> None:
        self._count = 0
        self._status = 503
        self._lock = threading.Lock()

    def arm(self, count: int, status: int) -> None:
        """Fail the next ``count`` requests with ``status``."""
        with self._lock:
            self._count, self._status = count, status

    def take(self) -> int | None:
        """The status to fail this request with, or None to let it through."""
        with self._lock:
            if self._count == 0:
                return None
            self._count -= 1
            return self._status


def install(app: flask.Flask) -> FailNext:
    """Add the switch and ``POST /_fake/fail-next`` to ``app``; call before other hooks."""
    switch = FailNext()

    @app.before_request
    def maybe_fail() -> ResponseReturnValue | None:
        path = flask.request.path
        if path == "/healthz" or path.startswith("/_fake/"):
            return None
        status = switch.take()
        if status is None:
            return None
        return {"error": f"injected failure: this request was failed with {status}"}, status

    @app.post("/_fake/fail-next")
    def fail_next() -> ResponseReturnValue:
        body = parse_body(FailNextRequest)
        switch.arm(body.count, body.status)
        return {"count": body.count, "status": body.status}

    return switch
