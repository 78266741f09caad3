"""The push provider: the port the notifications go through, and its HTTP adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from shared.exceptions import BusinessRuleViolation
from shared.http import DEFAULT_TIMEOUT_S

if TYPE_CHECKING:
    import requests

    from shared.runtime.secrets import Secret

Recipient = Literal["customer", "driver"]
RETRY_LATER = frozenset({408, 409, 429})
"""The 4xx answers that ask to send again later: a request timeout, a request with the same
idempotency key still running, too many requests."""
OUR_CREDENTIALS = frozenset({401, 403})
"""The answers refusing our API key (wrong, revoked or without the right): our configuration,
not the message, so the message is sent again once it is fixed."""
UNREGISTERED = "recipient_unregistered"
"""The ``code`` of the provider's 404 for a recipient with no device registered."""
GONE = 410
"""The answer for a device token the push service dropped (an app uninstalled: APNs' and Web
Push's ``Unregistered``): no device to send to, like a 404 with :data:`UNREGISTERED`."""
TITLE_CHARS, BODY_CHARS = 120, 500
"""The longest title and body the provider takes; longer ones are shortened to fit."""
DATA_BYTES = 4096
"""The most the provider takes of a message's ``data``, keys and values in UTF-8 (push services
refuse a payload over 4 KiB)."""
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class PushMessage:
    """One notification for one person's phone."""

    kind: Recipient
    recipient: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)


class PushUnavailable(ConnectionError):
    """The provider could not take the message now; the event is redelivered later."""


class PushCredentialsRefused(PushUnavailable):
    """The provider refused our API key: every message fails alike until ``PUSH_PROVIDER_KEY``
    is put right, so each is redelivered with backoff, then dead-lettered (to be resubmitted
    once it is), rather than a fault of its own at once."""


class RecipientUnregistered(LookupError):
    """No device is registered for the recipient: the message can never be delivered, so it
    is neither retried nor a fault."""


class PushProvider(Protocol):
    """Sends push notifications; the same ``idempotency_key`` is delivered only once."""

    def send(self, message: PushMessage, *, idempotency_key: str) -> str:
        """Hand ``message`` to the provider and return its message id."""
        ...


class HttpPushProvider:
    """The push provider's HTTP API (``POST /v1/messages``) with a bearer API key."""

    def __init__(self, session: requests.Session, base_url: str, api_key: Secret) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/v1/messages"
        self._api_key = api_key

    def send(self, message: PushMessage, *, idempotency_key: str) -> str:
        """POST the message, its title and body shortened to the provider's limits; 5xx and
        :data:`RETRY_LATER` are retryable (:class:`PushUnavailable`), and so is a refusal of
        our API key (:class:`PushCredentialsRefused`); a recipient with no device registered
        (or :data:`GONE`) is :class:`RecipientUnregistered`; ``data`` over
        :data:`DATA_BYTES`, which cannot be shortened, and any other refusal are a fault."""
        size = sum(len(key.encode()) + len(value.encode()) for key, value in message.data.items())
        if size > DATA_BYTES:
            raise BusinessRuleViolation(
                f"the data of {idempotency_key} is {size} bytes, over the push provider's "
                f"{DATA_BYTES}"
            )
        response = self._session.post(
            self._url,
            json={
                "to": {"kind": message.kind, "id": message.recipient},
                "title": _fit(message.title, TITLE_CHARS),
                "body": _fit(message.body, BODY_CHARS),
                "data": message.data,
            },
            headers={
                "Authorization": f"Bearer {self._api_key.reveal()}",
                "Idempotency-Key": idempotency_key,
            },
            timeout=DEFAULT_TIMEOUT_S,
        )
        if response.status_code >= 500 or response.status_code in RETRY_LATER:
            raise PushUnavailable(f"the push provider answered {response.status_code}")
        if response.status_code in OUR_CREDENTIALS:
            raise PushCredentialsRefused(
                f"the push provider refused our API key ({response.status_code}): check the "
                "secret PUSH_PROVIDER_KEY; the notification is sent once it is right"
            )
        unregistered = response.status_code == 404 and _code(response) == UNREGISTERED
        if unregistered or response.status_code == GONE:
            raise RecipientUnregistered(f"no device is registered for {idempotency_key}")
        if not response.ok:
            raise BusinessRuleViolation(
                f"the push provider refused {idempotency_key}: "
                f"{response.status_code} {response.text[:300]}"
            )
        return str(response.json()["id"])


def _code(response: requests.Response) -> object:
    """The ``code`` of the provider's JSON error body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def _fit(text: str, chars: int) -> str:
    """``text``, cut to ``chars`` characters with an ellipsis if it is longer (a restaurant's
    name, say, that Order's contract does not bound)."""
    return text if len(text) <= chars else text[: chars - len(ELLIPSIS)].rstrip() + ELLIPSIS
