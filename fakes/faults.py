"""A switch for tests: fail the next N requests with a given status.

``POST /_fake/fail-next {"count": 2, "status": 503}`` makes the next two
requests to the fake's API fail with 503 before they touch any state, as a
flaky third party or its load balancer would. With ``"after": true`` each of
them runs first and only its answer is replaced by the failure, as when the
third party did the work but the answer was lost on the way back (a gateway
timeout, a dropped connection): its effects stay, and its outcome is kept under
its ``Idempotency-Key``, so the caller's retry with the key gets it replayed.
A ``code`` goes into the error body as the third party's error code, e.g.
``{"count": 1, "status": 409, "code": "idempotency_key_in_use"}`` for a retry that
overtook its first attempt. ``count: 0`` clears the switch. ``/_fake/`` routes and
``/healthz`` are never failed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import flask
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from fakes.web import parse_body

_FAIL_AFTER = "fakes.fail_after"
"""The ``flask.g`` attribute holding the :class:`Failure` a request that runs is answered with."""


class FailNextRequest(BaseModel):
    """The body of ``POST /_fake/fail-next``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    count: int = Field(ge=0, le=1000)
    status: int = Field(default=503, ge=400, le=599)
    after: bool = False
    """Run each failed request and replace only its answer (``false``: run nothing)."""
    code: str | None = Field(default=None, min_length=1, max_length=100)
    """The error body's ``code`` (``None``: the body has none)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """How to fail a request: its status, whether it runs first, the error body's code."""

    status: int
    after: bool = False
    code: str | None = None

    def answer(self) -> tuple[dict[str, str], int]:
        """The error body and status the request is answered with."""
        body = {"error": f"injected failure: this request was failed with {self.status}"}
        return body | ({"code": self.code} if self.code else {}), self.status


class FailNext:
    """How many of the next requests to fail, and how; thread-safe."""

    def __init__(self) -> None:
        self._count = 0
        self._failure = Failure(503)
        self._lock = threading.Lock()

    def arm(self, count: int, failure: Failure) -> None:
        """Fail the next ``count`` requests as ``failure`` says."""
        with self._lock:
            self._count, self._failure = count, failure

    def take(self) -> Failure | None:
        """How to fail this request, or None to let it through."""
        with self._lock:
            if self._count == 0:
                return None
            self._count -= 1
            return self._failure


def install(app: flask.Flask) -> FailNext:
    """Add the switch and ``POST /_fake/fail-next`` to ``app``; call before other hooks."""
    switch = FailNext()

    @app.before_request
    def maybe_fail() -> ResponseReturnValue | None:
        path = flask.request.path
        if path == "/healthz" or path.startswith("/_fake/"):
            return None
        failure = switch.take()
        if failure is None:
            return None
        if failure.after:
            setattr(flask.g, _FAIL_AFTER, failure)
            return None
        return failure.answer()

    @app.after_request
    def maybe_lose_the_answer(response: flask.Response) -> flask.Response:
        failure: Failure | None = getattr(flask.g, _FAIL_AFTER, None)
        if failure is None:
            return response
        return flask.make_response(failure.answer())

    @app.post("/_fake/fail-next")
    def fail_next() -> ResponseReturnValue:
        body = parse_body(FailNextRequest)
        switch.arm(body.count, Failure(body.status, body.after, body.code))
        chosen = body.model_dump(include={"after", "code"}, exclude_defaults=True)
        return {"count": body.count, "status": body.status} | chosen

    return switch
