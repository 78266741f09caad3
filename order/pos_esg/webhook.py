"""Endpoint: the point of sale's callbacks, verified and kept in the ``pos-inbox``.

``POST /pos/callbacks`` with a JSON body ``{orderId, restaurantId, event, prepMinutes?,
reason?}`` signed in ``X-Pos-Signature`` (hex HMAC-SHA256 of the raw body with the
shared secret). A verified, valid callback is stored as ``pos-inbox/{orderId}:{event}``
(a repeat changes nothing) and answered 202; the relay takes it from there.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any, Literal

import flask
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from shared.api import MAX_BODY_BYTES, HttpError, field_errors, invalid, request_json

if TYPE_CHECKING:
    from order.ports import OrderPorts

INBOX = "pos-inbox"
SIGNATURE_HEADER = "X-Pos-Signature"


class PosCallback(BaseModel):
    """A kitchen's answer from its point of sale; fields added by the vendor are ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    order_id: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")
    restaurant_id: str = Field(min_length=1, max_length=200)
    event: Literal["accepted", "rejected", "ready"]
    prep_minutes: int | None = Field(default=None, ge=0, le=240)
    reason: str | None = Field(default=None, min_length=1, max_length=500)

    def missing(self) -> dict[str, str]:
        """The fields this kind of answer needs but lacks, with a message each."""
        if self.event == "accepted" and self.prep_minutes is None:
            return {"prepMinutes": "required when event is 'accepted'"}
        if self.event == "rejected" and self.reason is None:
            return {"reason": "required when event is 'rejected'"}
        return {}


def webhook(ports: OrderPorts) -> flask.Flask:
    """The Flask app behind the webhook: ``POST /pos/callbacks`` and ``GET /healthz``."""
    app = flask.Flask("order-pos-webhook")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.post("/pos/callbacks")
    def receive() -> Any:
        raw, secret = flask.request.get_data(), ports.pos_webhook_secret.reveal()
        if not _signed(raw, flask.request.headers.get(SIGNATURE_HEADER), secret):
            return {"error": f"missing or wrong {SIGNATURE_HEADER}"}, 401
        data = request_json()
        if not isinstance(data, dict):
            return {"error": "the request body must be a JSON object"}, 400
        try:
            callback = PosCallback.model_validate(data)
        except ValidationError as e:
            return _refused(invalid("callback", field_errors(e)))
        if callback.missing():
            return _refused(invalid("callback", callback.missing()))
        doc = callback.model_dump(by_alias=True, exclude_none=True)
        doc["receivedAt"] = ports.clock.now_ms()
        ports.store.create(INBOX, f"{callback.order_id}:{callback.event}", doc)
        return {"status": "accepted"}, 202

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.errorhandler(404)
    def not_found(_: Exception) -> Any:
        return {"error": f"no route for {flask.request.method} {flask.request.path}"}, 404

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Any:
        return {"error": f"{flask.request.method} is not allowed here"}, 405

    return app


def _signed(raw: bytes, signature: str | None, secret: str) -> bool:
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return signature is not None and hmac.compare_digest(signature.encode(), expected.encode())


def _refused(error: HttpError) -> tuple[dict[str, Any], int]:
    return error.body(), error.status
