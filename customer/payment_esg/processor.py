"""The payment processor: the port payment-esg calls, and its HTTP adapter.

Every call carries an ``Idempotency-Key`` chosen by the caller from the
business fact (``{orderId}:capture``), so a redelivered event repeats a call
harmlessly. A 5xx, a 408 or a 429 (or a broken connection) raises a retryable
error (the event is redelivered with backoff), and so does a 409 saying a
request with the same key is still running at the processor (the earlier attempt
whose answer was given up on): every 409 to an authorization, and a settlement's
409 whose ``code`` is :data:`KEY_IN_USE_CODE`. Any other 409 to a settlement is a
state its authorization is not in: a refusal, unless the authorization is in the
state the settlement leads to already, which is the settlement done (by a first
request whose answer was lost and is no longer replayed: processors keep keys
about a day).

Processors keep an idempotency key about a day, no longer: a request whose first
attempt is older than :data:`KEY_SAFE_WINDOW_MS` may run anew, so the caller first
looks for what it made by the business reference (:meth:`PaymentProcessor.find`),
reading every page of the list (``limit``, ``startingAfter``, ``hasMore``) up to
:data:`FIND_MAX_PAGES`.

Processors keep a 5xx under its key too, once the request began to run (Stripe does):
a retry with the key gets the same 5xx again until the key is pruned, so a 5xx
answered as a replay (``Idempotent-Replayed: true``) is no outage to wait out but a
:class:`FailureKept`: the request is over, whatever it did. To an authorization, the
caller looks for what it made by the reference and asks anew under a new key only if
there is nothing. A settlement reads the authorization: in the state the settlement leads
to, it is done (the first request did its work before it failed); still in the state the
settlement takes it from, it did nothing, and the caller asks anew under a new key (the
state keeps the processor from settling twice); in any other, it is a
:class:`BusinessRuleViolation` for a person.

An authorization's answer says where the money stands (``status``): ``authorized`` (or
no status at all: the processor's 201 to an authorization) holds it; ``captured`` (an
account set to capture when it authorizes) took it, and pays for the order as well;
one of :data:`HOLDS_NOTHING` (``requires_action``: the customer must confirm the
payment first, which this flow has no step for) holds nothing, a :class:`Declined`
(reason ``authorization_requires_action``); any other is a
:class:`BusinessRuleViolation` for a person, never taken for an authorization.

A settlement refused (409) because the authorization is in another state than it needs
or leads to raises :class:`InAnotherState`, naming that state (and how much of it was
refunded, when the processor says: ``amountRefunded``), so the caller can tell a
void that found the money captured (to refund) or refunded already, or a settlement that
found the authorization in a status of :data:`HOLDS_NOTHING`, such as :data:`EXPIRED`
(processors let one neither captured nor voided lapse, Stripe after 7 days) or
:data:`CANCELED` (Stripe's name for that, and for one cancelled at its dashboard), from a
true refusal.

A 401 or 403 says our own credentials are wrong, a 404 or 405 to an
authorization (or any redirect) our own processor URL: a
:class:`BusinessRuleViolation` (a fault for a person to fix at once), never a
decline the customer would be blamed for; the order then ends at checkout's
payment deadline. So is a refusal of an authorization whose ``code`` is
:data:`KEY_REUSED_CODE`: the key was first used with another request, which may
have authorized, money a person must find by the order's reference. Any other
refusal of an authorization is a :class:`Declined`, as the processor will never
accept that request; any other refusal of a settlement is a
:class:`BusinessRuleViolation`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from shared.clock import LATEST_MS
from shared.exceptions import BusinessRuleViolation
from shared.http import DEFAULT_TIMEOUT_S

if TYPE_CHECKING:
    import requests

    from shared.runtime.secrets import Secret

Settlement = Literal["capture", "void", "refund"]
"""What can be done with an authorization after the fact."""
REACHES: dict[Settlement, str] = {"capture": "captured", "void": "voided", "refund": "refunded"}
"""The status each settlement leaves an authorization in."""
NEEDS: dict[Settlement, str] = {"capture": "authorized", "void": "authorized", "refund": "captured"}
"""The status each settlement takes an authorization from."""
RETRY_LATER = frozenset({408, 429})
"""The 4xx answers that ask to try again later: a request timeout, too many requests."""
KEY_IN_USE = 409
"""What processors answer a request whose idempotency key another request is still using;
to a settlement, it may also say the authorization is in the wrong state."""
KEY_IN_USE_CODE = "idempotency_key_in_use"
"""The error ``code`` of a 409 that means the key is in use, not a refusal."""
KEY_REUSED_CODE = "idempotency_key_reused"
"""The error ``code`` of a refusal (422) of a key first used with another request."""
KEY_SAFE_WINDOW_MS = 23 * 60 * 60 * 1000
"""How long after a request's first attempt (epoch ms, by our clock, noted before the
call) a retry may count on the processor replaying the first answer under the same
idempotency key. Processors keep keys about 24 hours (Stripe may prune a key once it is
24 hours old and runs a request with a pruned key as a new one; Checkout.com's keys expire
after 24 hours by default): this leaves an hour for the two clocks and the time the first
request took. Past it, a retried authorization looks the order's up by its reference
before asking anew."""
FIND_PAGE_LIMIT = 100
"""How many authorizations a look-up by reference asks for a page (Stripe-like lists page)."""
FIND_MAX_PAGES = 10
"""How many pages a look-up by reference reads at most: an order has one authorization, a
few when people made others by hand; past that it is a fault, never a part read as all."""
REPLAYED_HEADER = "Idempotent-Replayed"
"""The header (``true``) with which a processor marks an answer replayed for a reused key."""
EXPIRED = "expired"
"""The status of an authorization the processor let lapse, neither captured nor voided in
time (Stripe: 7 days): the money is free again, and it can be neither captured nor voided."""
CANCELED = "canceled"
"""Stripe's status of an authorization released without a void of ours: lapsed, or cancelled
by a person at its dashboard. The money is free again, as for :data:`EXPIRED`."""
HOLDS_NOTHING = frozenset(
    {
        "voided",
        "refunded",
        EXPIRED,
        "declined",
        "failed",
        CANCELED,
        "requires_action",
        "requires_confirmation",
        "requires_payment_method",
    }
)
"""The statuses an authorization may be answered with that hold none of the customer's money:
released (by a settlement, or lapsed), refused, or waiting for the customer
(``requires_action``: 3-D Secure, say)."""
NOT_US = frozenset({401, 403, 404, 405})
"""The 4xx answers about our own credentials or URL, not about the customer's payment: an
authorization is made at one fixed path, which cannot be missing unless it is wrong."""
CONCEALED = "[card token]"
"""What a card token the processor quotes in an error message is logged as."""
REFUSED = "payment_refused"
"""The decline reason when the processor refuses an authorization without a code of its own."""


Held = Literal["authorized", "captured"]
"""Where an authorization that holds the customer's money stands."""


@dataclass(frozen=True, slots=True)
class Authorized:
    """The processor reserved the amount on the payment method.

    ``authorized_at_ms`` is when, by the processor's clock (epoch ms), if it said: a
    retried request answered with the first attempt's outcome still tells the
    time of that first attempt. ``status`` is ``captured`` when the processor took the
    money at once (an account set to capture automatically).
    """

    authorization_id: str
    authorized_at_ms: int | None = None
    status: Held = "authorized"


@dataclass(frozen=True, slots=True)
class Declined:
    """The processor refused the payment; ``reason`` is its code (``card_declined``).

    ``refusal`` is set when the processor refused the request rather than the card
    (a 4xx other than 402), or answered with an authorization that holds nothing: its
    status and message, for the logs, never for the customer.
    """

    reason: str
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class Authorization:
    """An authorization the processor holds, as a look-up by reference finds it.

    ``status`` is the processor's (``authorized``, ``captured``, ``voided``, ``refunded``,
    ``expired``...); ``authorized_at_ms`` is when it was made (epoch ms), ``amount`` (minor
    units) and ``currency`` what it holds, each if the processor says.
    """

    authorization_id: str
    status: str
    authorized_at_ms: int | None = None
    amount: int | None = None
    currency: str | None = None


class ProcessorUnavailable(Exception):
    """The processor failed on its side; the same call may succeed later."""


class FailureKept(BusinessRuleViolation):
    """The processor failed a request on its side and keeps that failure under the
    idempotency key: asked again with the key, it answers the same failure until it prunes
    the key (about a day). The request is over: an authorization's, if it made anything, is
    found by the reference, and a new key may ask again once nothing is; a settlement's did
    nothing (it is raised only then), and a new key may ask again at once."""


class InAnotherState(BusinessRuleViolation):
    """The processor refused a settlement: the authorization is ``status`` (``None`` when
    the processor would not say), neither the state the settlement needs nor the one it
    leads to. ``refunded`` is how much of it the processor says it refunded (minor units,
    its ``amountRefunded``), ``None`` when it does not say: a processor whose refunds are
    whole (as the dev stack's fake) says ``refunded`` for all of it."""

    def __init__(self, message: str, status: str | None, refunded: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.refunded = refunded


class PaymentProcessor(ABC):
    """Authorizes card payments and settles the authorizations."""

    @abstractmethod
    def authorize(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
    ) -> Authorized | Declined:
        """Reserve ``amount`` (minor units) on ``payment_method``."""

    @abstractmethod
    def settle(self, authorization_id: str, action: Settlement, *, idempotency_key: str) -> None:
        """Capture, void or refund an authorization; :class:`InAnotherState` when its state
        allows neither."""

    @abstractmethod
    def find(self, reference: str) -> list[Authorization]:
        """The authorizations made with ``reference``, whatever their status, oldest first."""


class HttpPaymentProcessor(PaymentProcessor):
    """The processor's HTTP API at ``base_url``, authenticated with ``api_key``."""

    def __init__(self, session: requests.Session, base_url: str, api_key: Secret) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key

    def authorize(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
    ) -> Authorized | Declined:
        body = {
            "amount": amount,
            "currency": currency,
            "paymentMethod": payment_method,
            "reference": reference,
        }
        response = self._post("/v1/authorizations", body, idempotency_key)
        if _failure_kept(response):
            raise FailureKept(_kept(response, f"authorize {reference}", idempotency_key))
        if response.status_code == KEY_IN_USE:
            raise ProcessorUnavailable(f"payment processor is still authorizing {reference}")
        if response.status_code >= 400 and _body(response).get("code") == KEY_REUSED_CODE:
            raise BusinessRuleViolation(
                f"payment processor refused to authorize {reference}: {idempotency_key} was "
                "first used with another request, which may hold an authorization: find it "
                f"by reference {reference} and void it by hand"
            )
        if _is_final_refusal(response.status_code):
            return _declined(response, payment_method)
        _raise_for_status(response, f"authorize {reference}", payment_method)
        authorization = _body(response)
        authorization_id = authorization.get("id")
        if not isinstance(authorization_id, str) or not authorization_id:
            # a body cut short on the way, say: asked again under the same key, the processor
            # replays its answer whole
            raise ProcessorUnavailable(
                f"payment processor answered authorize {reference} with "
                f"{response.status_code} but no authorization id"
            )
        status = authorization.get("status") or "authorized"
        answered = f"payment processor answered authorize {reference}"
        if isinstance(status, str) and status in HOLDS_NOTHING:
            refusal = f"{response.status_code} authorization {authorization_id} is {status}"
            return Declined(f"authorization_{status}", refusal=refusal)
        if status not in ("authorized", "captured"):
            raise BusinessRuleViolation(
                f"{answered} with authorization {authorization_id} in status {status!r}, "
                f"which it may or may not hold money in: settle it by hand"
            )
        held = (authorization.get("amount", amount), authorization.get("currency", currency))
        if held != (amount, currency):
            raise BusinessRuleViolation(
                f"{answered} ({amount} {currency}) with authorization {authorization_id} of "
                f"{held[0]} {held[1]}: {'refund' if status == 'captured' else 'void'} it by hand"
            )
        held_as: Held = "captured" if status == "captured" else "authorized"
        return Authorized(authorization_id, _epoch_ms(authorization.get("authorizedAt")), held_as)

    def settle(self, authorization_id: str, action: Settlement, *, idempotency_key: str) -> None:
        response = self._post(
            f"/v1/authorizations/{authorization_id}/{action}", {}, idempotency_key
        )
        what = f"{action} authorization {authorization_id}"
        if _failure_kept(response):
            status, refunded = self._state(authorization_id)
            if status == REACHES[action]:
                return
            kept = _kept(response, what, idempotency_key)
            if status == NEEDS[action]:
                # Over, and nothing done: the authorization's state keeps a request under a
                # new key from settling it twice.
                raise FailureKept(kept)
            raise InAnotherState(f"{kept}; it is {status}: settle it by hand", status, refunded)
        if response.status_code == KEY_IN_USE:
            if _body(response).get("code") == KEY_IN_USE_CODE:
                raise ProcessorUnavailable(f"payment processor is still working to {what}")
            status, refunded = self._state(authorization_id)
            if status == REACHES[action]:
                return
            raise InAnotherState(_refused(response, what), status, refunded)
        _raise_for_status(response, what)

    def find(self, reference: str) -> list[Authorization]:
        what = f"find the authorizations of {reference}"
        found: list[Authorization] = []
        params = {"reference": reference, "limit": str(FIND_PAGE_LIMIT)}
        for _ in range(FIND_MAX_PAGES):
            response = self._get("/v1/authorizations", params)
            _raise_for_status(response, what)
            page, more = _page(_body(response))
            if page is None:
                # an answer cut short, say: asked again, the processor lists them whole; never
                # taken for "none", which would authorize the order a second time
                raise ProcessorUnavailable(f"payment processor could not {what}: unreadable answer")
            found += page
            if not more:
                return found
            params = {**params, "startingAfter": page[-1].authorization_id}
        # never a part taken for the whole: the one to adopt may be on a page not read
        raise BusinessRuleViolation(
            f"payment processor holds more than {FIND_MAX_PAGES * FIND_PAGE_LIMIT} "
            f"authorizations by reference {reference}: settle them by hand"
        )

    def _state(self, authorization_id: str) -> tuple[str | None, int | None]:
        """The authorization's status and how much of it was refunded (``amountRefunded``), as
        the processor tells them; ``None`` for what it does not (or refuses to) tell."""
        response = self._get(f"/v1/authorizations/{authorization_id}")
        if response.status_code >= 500 or response.status_code in RETRY_LATER:
            raise ProcessorUnavailable(
                f"payment processor could not read authorization {authorization_id}: "
                f"{response.status_code}"
            )
        if response.status_code >= 400:
            return None, None
        body = _body(response)
        status = body.get("status")
        return status if isinstance(status, str) else None, _minor_units(body.get("amountRefunded"))

    def _get(self, path: str, params: dict[str, str] | None = None) -> requests.Response:
        return self._session.get(
            self._base_url + path,
            params=params,
            headers={"Authorization": f"Bearer {self._api_key.reveal()}"},
            timeout=DEFAULT_TIMEOUT_S,
            allow_redirects=False,
        )

    def _post(self, path: str, body: dict[str, Any], idempotency_key: str) -> requests.Response:
        return self._session.post(
            self._base_url + path,
            json=body,
            headers={
                "Authorization": f"Bearer {self._api_key.reveal()}",
                "Idempotency-Key": idempotency_key,
            },
            timeout=DEFAULT_TIMEOUT_S,
            # Followed, a redirect turns the POST into a GET whose 2xx would pass for a
            # capture or void done: it is answered as our processor URL being wrong.
            allow_redirects=False,
        )


def _is_final_refusal(status: int) -> bool:
    """A 4xx the same request will get again, however often it is sent."""
    return 400 <= status < 500 and status not in RETRY_LATER | NOT_US


def _declined(response: requests.Response, payment_method: str) -> Declined:
    error = _body(response)
    if response.status_code == 402:
        return Declined(str(error.get("code") or "declined"))
    problem = _concealed(error.get("error", response.reason), payment_method)
    return Declined(str(error.get("code") or REFUSED), refusal=f"{response.status_code} {problem}")


def _concealed(problem: object, payment_method: str | None) -> str:
    """The processor's error message without the card token it may quote (``No such
    PaymentMethod: 'pm_...'``): it goes to logs and faults, which keep no card tokens."""
    text = str(problem)
    return text.replace(payment_method, CONCEALED) if payment_method else text


def _failure_kept(response: requests.Response) -> bool:
    """Whether the answer is a 5xx the processor replays for the key: every retry gets it."""
    replayed = response.headers.get(REPLAYED_HEADER, "").lower() == "true"
    return replayed and response.status_code >= 500


def _kept(response: requests.Response, what: str, key: str) -> str:
    """What a failure the processor keeps under ``key`` says."""
    return (
        f"payment processor could not {what}: {response.status_code}, kept under "
        f"idempotency key {key} and replayed to every retry until the processor prunes "
        "the key, about a day after its first use"
    )


def _raise_for_status(
    response: requests.Response, what: str, payment_method: str | None = None
) -> None:
    if response.status_code >= 500 or response.status_code in RETRY_LATER:
        raise ProcessorUnavailable(f"payment processor could not {what}: {response.status_code}")
    if response.status_code >= 400:
        raise BusinessRuleViolation(_refused(response, what, payment_method))
    if not 200 <= response.status_code < 300:
        where = response.headers.get("Location", "nowhere")
        raise BusinessRuleViolation(
            f"payment processor did not {what}: {response.status_code} to {where} "
            "(is PAYMENT_PROCESSOR_URL the API's own?)"
        )


def _refused(response: requests.Response, what: str, payment_method: str | None = None) -> str:
    """What a refusal (4xx) of ``what`` says, without the card token it may quote."""
    problem = _concealed(_body(response).get("error", response.reason), payment_method)
    return f"payment processor refused to {what}: {response.status_code} {problem}"


def _page(body: dict[str, Any]) -> tuple[list[Authorization] | None, bool]:
    """A page of a look-up's authorizations and whether another follows (``hasMore``, false
    when the processor does not page); ``None`` for a page that cannot be read whole."""
    listed, more = body.get("authorizations"), body.get("hasMore", False)
    if not isinstance(listed, list) or not isinstance(more, bool):
        return None, False
    page = [_authorization(entry) for entry in listed]
    readable = [a for a in page if a is not None]
    if len(readable) < len(page) or (more and not readable):
        return None, False
    return readable, more


def _authorization(entry: object) -> Authorization | None:
    """One listed authorization; ``None`` when it lacks its id or status."""
    if not isinstance(entry, dict):
        return None
    authorization_id, status = entry.get("id"), entry.get("status")
    if not isinstance(authorization_id, str) or not authorization_id:
        return None
    if not isinstance(status, str) or not status:
        return None
    currency = entry.get("currency")
    return Authorization(
        authorization_id,
        status,
        _epoch_ms(entry.get("authorizedAt")),
        _minor_units(entry.get("amount")),
        currency if isinstance(currency, str) else None,
    )


def _minor_units(amount: object) -> int | None:
    """An amount the processor gave (a JSON integer); ``None`` for anything else."""
    return amount if isinstance(amount, int) and not isinstance(amount, bool) else None


def _epoch_ms(stamp: object) -> int | None:
    """An ISO 8601 time with its offset (``2026-01-01T12:00:00.000Z``) in epoch ms; ``None``
    for anything else, so a processor that does not say leaves the time to the caller. A
    time before 1970 or past :data:`LATEST_MS` is no time an event can carry: ``None`` too."""
    if not isinstance(stamp, str):
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    ms = round(when.timestamp() * 1000)
    return ms if 0 <= ms <= LATEST_MS else None


def _body(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object (an error's ``{error, code}``); empty for anything else."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
