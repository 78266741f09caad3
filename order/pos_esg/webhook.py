"""Endpoint: the point of sale's callbacks, verified and kept in the ``pos-inbox``.

``POST /pos/callbacks`` with a JSON body ``{orderId, restaurantId, event, prepMinutes?,
reason?}`` signed in ``X-Pos-Signature: t=<unix seconds>,v1=<hex>``, the hex
HMAC-SHA256 of the sending time, a dot and the raw body, keyed with the key of the
restaurant the body names (:mod:`order.pos_esg.keys`): a point of sale cannot sign
for another restaurant. A callback sent more than :data:`SIGNATURE_TOLERANCE_S`
from the webhook's clock is refused, so a captured callback cannot be replayed
later; one replayed sooner changes nothing, because a verified, valid callback is
stored as ``pos-inbox/{orderId}:{event}`` (a repeat changes nothing; it expires a
month later, :mod:`order.retention`). It is answered 202; the relay takes it from there.

A callback about an order not handed to that restaurant's point of sale
(``pos-orders``) is refused with 404 before it is stored, so it cannot take the key
of the real answer, nor is one about an order id the document store refuses. One about an
order the Order subsystem cancelled since (its note says ``withdrawn``) is refused with 409,
saying so, and nothing is stored or relayed: the answer would change nothing, as the kitchen
app refuses (409) an answer to a cancelled order, and the point of sale's staff learn the
order is off rather than prepare it. The same callback again, stored before the
cancellation (a retry after a lost answer), is still answered 202. A callback that crosses
the withdrawal (stored before the note says so) is answered 202, relayed, and changes
nothing: the order is cancelled.
Without a secret (an empty one) the webhook refuses every callback (503).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import flask
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from order.pos_esg.keys import restaurant_key
from order.pos_esg.to_pos import sent_to_pos, was_withdrawn
from order.retention import EXPIRES, expire_at
from shared.api import (
    HttpError,
    answer_errors_in_json,
    field_errors,
    invalid,
    json_api_flask,
    limit_bodies,
    not_a_json_object,
    request_json,
)
from shared.exceptions import InvalidKey

if TYPE_CHECKING:
    from order.ports import OrderPorts

INBOX = "pos-inbox"
SIGNATURE_HEADER = "X-Pos-Signature"
SIGNATURE_TOLERANCE_S = 300


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
    app = json_api_flask("order-pos-webhook")
    limit_bodies(app)

    @app.post("/pos/callbacks")
    def receive() -> Any:
        raw, secret = flask.request.get_data(), ports.pos_webhook_secret.reveal()
        if not secret:  # an empty key would let anyone sign
            return {"error": "the webhook has no signing secret configured"}, 503
        header = flask.request.headers.get(SIGNATURE_HEADER, "")
        signature = _Signature.parse(header, ports.clock.now_ms() // 1000)
        if isinstance(signature, str):
            return {"error": signature}, 401
        data = request_json()
        if not isinstance(data, dict):
            return {"error": not_a_json_object(data)}, 400
        restaurant_id = data.get("restaurantId")
        if not isinstance(restaurant_id, str) or not restaurant_id:
            return _refused(invalid("callback", {"restaurantId": "required: whose key signs"}))
        if not signature.vouches_for(raw, restaurant_key(secret, restaurant_id)):
            error = f"wrong {SIGNATURE_HEADER} (signed with the key of the restaurant named?)"
            return {"error": error}, 401
        try:
            callback = PosCallback.model_validate(data)
        except ValidationError as e:
            return _refused(invalid("callback", field_errors(e)))
        if callback.missing():
            return _refused(invalid("callback", callback.missing()))
        order, restaurant = callback.order_id, callback.restaurant_id
        note = _handed_over(ports, callback)
        if note is None:
            error = f"order {order} was not handed to the point of sale of restaurant {restaurant}"
            return {"error": error}, 404
        key = f"{order}:{callback.event}"
        if was_withdrawn(note) and ports.store.get(INBOX, key) is None:
            error = (
                f"order {order} was cancelled by the Order subsystem and withdrawn from the "
                f"point of sale of restaurant {restaurant}: the answer {callback.event!r} "
                "changes nothing; do not prepare the order"
            )
            return {"error": error}, 409
        doc = callback.model_dump(by_alias=True, exclude_none=True)
        doc["receivedAt"] = ports.clock.now_ms()
        doc[EXPIRES] = expire_at(doc["receivedAt"])
        ports.store.create(INBOX, key, doc)
        return {"status": "accepted"}, 202

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    answer_errors_in_json(app)
    return app


@dataclass(frozen=True, slots=True)
class _Signature:
    """A well-formed, timely ``X-Pos-Signature``: its time and the digests it offers."""

    sent: str
    digests: tuple[str, ...]

    @classmethod
    def parse(cls, header: str, now_s: int) -> _Signature | str:
        """The signature in ``header`` received at ``now_s``, or why it is refused."""
        parts: dict[str, list[str]] = {}
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            parts.setdefault(name, []).append(value)
        sent = parts.get("t", [""])[0]
        if not (sent.isascii() and sent.isdigit() and len(sent) <= 12) or "v1" not in parts:
            return f"missing or malformed {SIGNATURE_HEADER} (expected t=<unix seconds>,v1=<hex>)"
        if abs(now_s - int(sent)) > SIGNATURE_TOLERANCE_S:
            return f"{SIGNATURE_HEADER} was made more than {SIGNATURE_TOLERANCE_S} s from now"
        return cls(sent, tuple(parts["v1"]))

    def vouches_for(self, raw: bytes, key: str) -> bool:
        """Whether one of the digests is that of ``raw`` signed with ``key``."""
        signed = f"{self.sent}.".encode() + raw
        expected = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest().encode()
        return any(hmac.compare_digest(d.encode(), expected) for d in self.digests)


def _handed_over(ports: OrderPorts, callback: PosCallback) -> dict[str, Any] | None:
    """The note that the callback's order was handed to its restaurant's point of sale, if
    it was (never for one whose id the document store refuses)."""
    try:
        note = sent_to_pos(ports.store, callback.order_id)
    except InvalidKey:
        return None
    return note if note is not None and note["restaurantId"] == callback.restaurant_id else None


def _refused(error: HttpError) -> tuple[dict[str, Any], int]:
    return error.body(), error.status
