"""The restaurants' point-of-sale service: the port and its HTTP adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from shared.exceptions import BusinessRuleViolation
from shared.http import DEFAULT_TIMEOUT_S

if TYPE_CHECKING:
    import requests

    from shared.id_tokens import IdTokens
    from shared.runtime.secrets import Secret


@dataclass(frozen=True, slots=True)
class PosLine:
    """One line of an order as the kitchen needs it."""

    name: str
    quantity: int


@dataclass(frozen=True, slots=True)
class PosOrder:
    """An order handed to a restaurant's point of sale."""

    order_id: str
    restaurant_id: str
    lines: tuple[PosLine, ...]
    callback_url: str


ID_TOKEN_HEADER = "X-Serverless-Authorization"
"""Where a call carries its Google ID token: Cloud Run takes it from there when
``Authorization`` holds the callee's own credentials."""
RETRY_LATER = frozenset({408, 429})
"""The 4xx answers that ask to call again later: a request timeout, too many requests."""
CONFLICT = 409
OUR_CREDENTIALS = frozenset({401, 403})
"""The answers saying the point of sale refused our credentials: a fault naming ``POS_API_KEY``."""
NOTHING_TO_WITHDRAW = frozenset({404, 410})
"""A withdrawal's answers saying the point of sale holds no such order (any more): done."""
KEY_IN_USE_CODE = "idempotency_key_in_use"
"""The error ``code`` of a 409 saying a request with the same ``Idempotency-Key`` still runs
there (an earlier attempt whose answer was given up on): the call is made again later, when
the first attempt's outcome is replayed."""


class PosUnavailable(Exception):
    """The point of sale failed for now (5xx, 408, 429, a 409 whose key is in use): the call
    is retried."""


class PointOfSale(ABC):
    """Where orders for restaurants with their own ordering system go."""

    @abstractmethod
    def submit(self, order: PosOrder) -> None:
        """Hand ``order`` over; repeating it for the same order changes nothing."""

    @abstractmethod
    def cancel(self, order_id: str, *, again: bool = False) -> None:
        """Withdraw an order; one the point of sale does not know is fine.

        ``again``: a withdrawal after one that may have reached the point of sale before
        the order did, made under a key of its own (the first one's answer is not replayed).
        """


class HttpPointOfSale(PointOfSale):
    """The point of sale over HTTP, with the API key it issued us (``Authorization: Bearer``,
    revealed from ``api_key`` on each call) and an ``Idempotency-Key`` on every call.

    A point of sale answers a retry with the first attempt's outcome while it remembers the
    key, and a 409 with the code :data:`KEY_IN_USE_CODE` while that attempt still runs
    (retried later). Any other 409 is the operation's own: to a hand-over, the point of sale
    already holds an order with that id (it took an earlier attempt, and has forgotten the
    key since): handed over; a withdrawal has none (it cancels from any state), so one
    there is a fault, as any other 4xx is. A withdrawal answered 404 or 410 finds nothing
    to withdraw there, which is fine. A redirect is never followed: ``requests`` would turn
    the POST into a GET whose 2xx would pass for the call done; it is a fault naming where
    it leads (our point-of-sale URL is wrong). A 401 or 403 refuses our credentials: a
    fault that names ``POS_API_KEY``, to resubmit once the secret is right.

    With ``id_tokens``, every call also carries a Google ID token, for a point
    of sale that runs as a private service on Google Cloud (the dev sandbox's), in
    ``X-Serverless-Authorization``: Cloud Run checks it there, and hands ``Authorization``
    (the API key) on to the point of sale.
    """

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        api_key: Secret,
        id_tokens: IdTokens | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._id_tokens = id_tokens

    def submit(self, order: PosOrder) -> None:
        body = {
            "orderId": order.order_id,
            "restaurantId": order.restaurant_id,
            "items": [{"name": line.name, "quantity": line.quantity} for line in order.lines],
            "callbackUrl": order.callback_url,
        }
        response = self._post("/orders", body, key=f"{order.order_id}:submit")
        if response.status_code == CONFLICT and not _key_in_use(response):
            return  # the point of sale holds the order already
        _check(response, "submit order", order.order_id)

    def cancel(self, order_id: str, *, again: bool = False) -> None:
        key = f"{order_id}:cancel" + (":again" if again else "")
        response = self._post(f"/orders/{quote(order_id, safe='')}/cancel", {}, key=key)
        if response.status_code not in NOTHING_TO_WITHDRAW:
            _check(response, "cancel order", order_id)

    def _post(self, path: str, body: Mapping[str, object], *, key: str) -> requests.Response:
        return self._session.post(
            self._base_url + path,
            json=body,
            headers={
                "Authorization": f"Bearer {self._api_key.reveal()}",
                "Idempotency-Key": key,
                **self._identity(),
            },
            timeout=DEFAULT_TIMEOUT_S,
            allow_redirects=False,
        )

    def _identity(self) -> dict[str, str]:
        """The Google ID token's header, if calls carry one."""
        if self._id_tokens is None:
            return {}
        return {ID_TOKEN_HEADER: f"Bearer {self._id_tokens.token()}"}


def _check(response: requests.Response, action: str, order_id: str) -> None:
    """Accept a 2xx; raise a retryable or a poison error for anything else."""
    status = response.status_code
    if 200 <= status < 300:
        return
    problem = f"the point of sale refused to {action} {order_id}: {status} {response.text[:200]}"
    if response.is_redirect:
        location = response.headers.get("Location", "")
        problem = (
            f"the point of sale answered {action} {order_id} with a redirect, {status} to "
            f"{location[:200]}: not followed; is POS_URL right?"
        )
    elif status in OUR_CREDENTIALS:
        problem = (
            f"the point of sale refused our credentials to {action} {order_id}: {status} "
            f"{response.text[:200].strip()}; check the secret POS_API_KEY (and, for a private "
            "point of sale, that this function may invoke it), then resubmit"
        )
    if status >= 500 or status in RETRY_LATER or _key_in_use(response):
        raise PosUnavailable(problem)
    raise BusinessRuleViolation(problem)


def _key_in_use(response: requests.Response) -> bool:
    """Whether ``response`` is the 409 of a request whose ``Idempotency-Key`` is in use."""
    if response.status_code != CONFLICT:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == KEY_IN_USE_CODE
