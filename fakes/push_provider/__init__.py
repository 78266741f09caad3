"""A fake push-notification provider: it keeps the messages it is asked to send.

Every route needs ``Authorization: Bearer <api_key>``.

* ``POST /v1/messages`` ``{to: {kind: "customer"|"driver", id}, title, body, data?}`` (``data``:
  string values, at most 4 KiB of keys and values, as push services take) with an
  ``Idempotency-Key`` -> 202 ``{id: "msg_..."}``; the same key again, within
  ``key_retention_s`` of its first use (a day by default), -> the same id, and the message is
  not kept twice (see :mod:`fakes.idempotency`). A driver's ``id`` is the
  driver's; a customer's is a topic their app subscribed to (an order's ``customerRef``).
  A recipient with no device registered -> 404 ``{error, code: "recipient_unregistered"}``
  (kept and replayed under the key like any refusal)
* ``GET /v1/messages?kind=customer&id=<ref>`` -> ``{messages: [...]}`` in arrival order;
  both filters optional; a message is kept (and listed) as long as its key,
  ``key_retention_s``, then dropped from memory; only the last ``max_messages`` (20 000 by
  default) are kept, the oldest dropped first (see :mod:`fakes.retention`)
* ``POST /_fake/fail-next`` (see :mod:`fakes.faults`)
* ``POST /_fake/unregistered`` ``{kind, id}``: the recipient's device is gone (the app was
  uninstalled, or the driver never signed in on a phone); every recipient has one until then
"""

from __future__ import annotations

import time
from collections.abc import Callable

import flask
from flask.typing import ResponseReturnValue

from fakes import faults
from fakes.idempotency import DEFAULT_KEY_RETENTION_S, IdempotencyStore
from fakes.push_provider.outbox import MessageQuery, MessageRequest, Outbox, Recipient
from fakes.retention import MAX_RECORDS
from fakes.web import (
    FakeError,
    create_base_app,
    idempotency_key,
    parse_body,
    require_bearer,
    validate,
)

DEFAULT_API_KEY = "push_test_fooddelivery"
DEFAULT_PORT = 8703
UNREGISTERED = "recipient_unregistered"
"""The ``code`` of the 404 for a recipient with no device registered."""

__all__ = ["DEFAULT_API_KEY", "DEFAULT_PORT", "UNREGISTERED", "create_app"]


def create_app(
    api_key: str = DEFAULT_API_KEY,
    now_s: Callable[[], float] = time.time,
    key_retention_s: float | None = DEFAULT_KEY_RETENTION_S,
    max_messages: int = MAX_RECORDS,
) -> flask.Flask:
    """The push provider as a Flask app with its own empty outbox of the last
    ``max_messages`` messages; its idempotency keys are kept ``key_retention_s`` after their
    first use by ``now_s`` (epoch seconds; ``None``: for good)."""
    app = create_base_app("fake-push-provider")
    faults.install(app)
    require_bearer(app, api_key)
    outbox = Outbox(key_retention_s, now_s, max_messages)
    replays = IdempotencyStore(retention_s=key_retention_s, now_s=now_s)
    unregistered: set[Recipient] = set()

    @app.post("/v1/messages")
    def send() -> ResponseReturnValue:
        key = idempotency_key()
        request = parse_body(MessageRequest)

        def deliver() -> tuple[dict[str, str], int]:
            if request.to in unregistered:
                raise FakeError(
                    404, "no device is registered for this recipient", code=UNREGISTERED
                )
            return {"id": outbox.add(request, key).id}, 202

        return replays.respond(key, deliver)

    @app.post("/_fake/unregistered")
    def unregister() -> ResponseReturnValue:
        recipient = parse_body(Recipient)
        unregistered.add(recipient)
        return recipient.model_dump()

    @app.get("/v1/messages")
    def search() -> ResponseReturnValue:
        query = validate(MessageQuery, flask.request.args.to_dict())
        found = outbox.find(kind=query.kind, recipient_id=query.id)
        return {"messages": [message.to_json() for message in found]}

    return app
