"""What every fake shares: JSON error bodies, a body size limit, body validation, API keys, ids
and timestamps.

Errors have the same shape as the platform's own APIs (see :mod:`shared.api`):
``{"error": "...", "fields": {...}}``, where ``fields`` appears only for
validation errors. A handler refuses a request by raising :class:`FakeError`.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, TypeVar

import flask
from flask.json.provider import DefaultJSONProvider
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import MethodNotAllowed, RequestEntityTooLarge

M = TypeVar("M", bound=BaseModel)
Reply = tuple[dict[str, Any], int]
"""A JSON body and its HTTP status."""

MAX_IDEMPOTENCY_KEY = 255
MAX_BODY_BYTES = 1024 * 1024
"""The largest request body a fake takes; a larger one is refused with 413."""


class FakeError(Exception):
    """A refusal: an HTTP status, a message, and optional per-field messages or extra fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        **extra: str,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.extra = extra

    def reply(self) -> Reply:
        """The JSON error body and the status."""
        body: dict[str, Any] = {"error": self.message, **self.extra}
        if self.fields:
            body["fields"] = self.fields
        return body, self.status


def create_base_app(name: str) -> flask.Flask:
    """A Flask app answering errors in JSON, with ``GET /healthz``, refusing a body over
    :data:`MAX_BODY_BYTES` with 413 before any other hook runs."""
    app = flask.Flask(name)
    if isinstance(app.json, DefaultJSONProvider):
        app.json.sort_keys = False
    # werkzeug refuses a Content-Length over the limit, but cuts a chunked body short at
    # it: reading to one byte more tells a body too large from one that fits
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1

    @app.before_request
    def refuse_a_body_too_large() -> None:
        if len(flask.request.get_data(cache=True)) > MAX_BODY_BYTES:
            raise RequestEntityTooLarge()

    @app.errorhandler(FakeError)
    def refused(error: FakeError) -> ResponseReturnValue:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
        return (*error.reply(), headers)

    @app.errorhandler(404)
    def not_found(_: Exception) -> ResponseReturnValue:
        return {"error": f"no route for {flask.request.method} {flask.request.path}"}, 404

    @app.errorhandler(405)
    def not_allowed(error: MethodNotAllowed) -> ResponseReturnValue:
        allowed = ", ".join(error.valid_methods or ())
        return {"error": f"{flask.request.method} is not allowed here"}, 405, {"Allow": allowed}

    @app.errorhandler(413)
    def too_large(_: Exception) -> ResponseReturnValue:
        return {"error": f"the request body is over {MAX_BODY_BYTES} bytes"}, 413

    @app.errorhandler(500)
    def crashed(_: Exception) -> ResponseReturnValue:
        return {"error": "the fake failed unexpectedly; see its log"}, 500

    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    return app


def require_bearer(
    app: flask.Flask, api_key: str, endpoints: Collection[str] | None = None
) -> None:
    """Refuse with 401 every request without ``Authorization: Bearer <api_key>``.

    ``/healthz`` and the test-only ``/_fake/`` routes stay open; with ``endpoints`` (the
    names of ``app``'s views, registered by then), only the requests those views serve are
    checked. :class:`ValueError` for an empty key, which would let in
    ``Authorization: Bearer`` with none, or for an endpoint ``app`` does not have (a route
    meant to be closed would stay open).
    """
    if not api_key.strip():
        raise ValueError("the API key must not be empty")
    unknown = sorted(set(endpoints or ()) - app.view_functions.keys())
    if unknown:
        raise ValueError(f"no such endpoints to authenticate: {', '.join(unknown)}")
    expected = f"Bearer {api_key}".encode()
    guarded = None if endpoints is None else frozenset(endpoints)

    @app.before_request
    def authenticate() -> None:
        path = flask.request.path
        if path == "/healthz" or path.startswith("/_fake/"):
            return
        if guarded is not None and flask.request.endpoint not in guarded:
            return
        given = flask.request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise FakeError(401, "missing or invalid API key (Authorization: Bearer <key>)")


def idempotency_key() -> str:
    """The request's ``Idempotency-Key``; 400 when it is missing or too long."""
    key = flask.request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise FakeError(400, "the Idempotency-Key header is required")
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise FakeError(400, f"Idempotency-Key: at most {MAX_IDEMPOTENCY_KEY} characters")
    return key


def request_json() -> Any:
    """The current request's JSON body, or ``None`` when it is not JSON (or nested deeper
    than the decoder goes)."""
    try:
        return flask.request.get_json(silent=True)
    except RecursionError:
        return None


def parse_body(model: type[M]) -> M:
    """The JSON body validated as ``model``; 400 with a message per field otherwise."""
    data = request_json()
    if not isinstance(data, dict):
        raise FakeError(400, "the body must be a JSON object (Content-Type: application/json)")
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    """``data`` validated as ``model``; 400 with a message per field otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        fields = {".".join(str(p) for p in err["loc"]) or "$": err["msg"] for err in e.errors()}
        message = "invalid request: " + "; ".join(f"{k}: {v}" for k, v in fields.items())
        raise FakeError(400, message, fields=fields) from e


def new_id(prefix: str) -> str:
    """A fresh random id such as ``auth_3f9c...``."""
    return f"{prefix}_{secrets.token_hex(12)}"


def now_iso() -> str:
    """The current UTC time as ISO 8601 with milliseconds, e.g. ``2026-01-01T12:00:00.000Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
