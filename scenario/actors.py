"""The three actors' apps, as thin HTTP clients of the BFF APIs.

They are what a mobile or web front end would do, and nothing more: every
call is an HTTP request with a bearer token, so the demo, the end-to-end
tests and ``fooddelivery dev --scenario`` exercise the same public surface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from shared import ids
from shared.auth import LocalIssuer, Principal

TIMEOUT_S = 10.0


class ApiError(Exception):
    """A BFF refused a request; carries the status and the JSON error body."""

    def __init__(self, method: str, url: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {url} -> {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class Urls:
    """Where each BFF (and the restaurants' point-of-sale terminal) is served."""

    browse: str
    account: str
    checkout: str
    tracking: str
    profile: str
    kitchen: str
    driver: str
    pos: str


class Api:
    """JSON over HTTP to one BFF, as one authenticated caller."""

    def __init__(self, session: requests.Session, base_url: str, token: str | None) -> None:
        self._session, self._base = session, base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON (``None`` for 204) or raise ApiError.

        ``if_match`` (an ``ETag`` as answered, quotes included) makes the request
        conditional: refused with 412 if the resource changed since."""
        headers = dict(self._headers)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if if_match:
            headers["If-Match"] = if_match
        url = f"{self._base}{path}"
        response = self._session.request(method, url, json=body, headers=headers, timeout=TIMEOUT_S)
        try:
            payload = response.json() if response.content else None
        except ValueError:  # not a BFF's answer: a load balancer's page, an HTML 429 or 503
            raise ApiError(method, url, response.status_code, response.text[:500]) from None
        if response.status_code >= 400:
            raise ApiError(method, url, response.status_code, payload)
        return payload


class CustomerApp:
    """The customer's app: browse, account, cart, checkout and tracking."""

    def __init__(self, session: requests.Session, urls: Urls, token: str) -> None:
        self.browse = Api(session, urls.browse, token)
        self.account = Api(session, urls.account, token)
        self.checkout_api = Api(session, urls.checkout, token)
        self.tracking = Api(session, urls.tracking, token)

    def restaurants(self, cuisine: str | None = None) -> list[dict[str, Any]]:
        """Every open restaurant, optionally of one cuisine, following the pages' ``next``."""
        query = {"open": "true", "limit": "100", **({"cuisine": cuisine} if cuisine else {})}
        found: list[dict[str, Any]] = []
        while True:
            page = self.browse.call("GET", f"/restaurants?{urlencode(query)}")
            found += page["restaurants"]
            if page["next"] is None:
                return found
            query["after"] = page["next"]

    def menu(self, restaurant_id: str) -> list[dict[str, Any]]:
        """The menu's items."""
        items: list[dict[str, Any]] = self.browse.call("GET", f"/restaurants/{restaurant_id}/menu")[
            "items"
        ]
        return items

    def sign_up(self, name: str, address: dict[str, Any], payment_token: str) -> None:
        """Create the account with a delivery address and a saved payment method."""
        email = f"{name.lower().replace(' ', '.')}@example.com"
        self.account.call("PUT", "/me", {"name": name, "email": email, "deliveryAddress": address})
        self.account.call(
            "PUT",
            "/me/payment-method",
            {"token": payment_token, "brand": "visa", "last4": "4242"},
        )

    def want_notifications(self, wanted: bool) -> None:
        """Turn the account's push notifications on or off (``PUT /me`` replaces the profile)."""
        account: dict[str, Any] = self.account.call("GET", "/me")
        profile = {k: account[k] for k in ("name", "email", "phone", "deliveryAddress")}
        preferences = {**account["preferences"], "notifications": wanted}
        self.account.call("PUT", "/me", {**profile, "preferences": preferences})

    def order(self, restaurant_id: str, lines: list[tuple[str, int]]) -> str:
        """Fill the cart and check out; returns the order id."""
        self.fill_cart(restaurant_id, lines)
        return self.checkout(checkout_key())

    def fill_cart(self, restaurant_id: str, lines: list[tuple[str, int]]) -> None:
        """Replace the cart with ``lines`` (dish id, quantity) of one restaurant."""
        items = [{"menuItemId": item, "quantity": qty} for item, qty in lines]
        self.checkout_api.call("PUT", "/cart", {"restaurantId": restaurant_id, "items": items})

    def checkout(self, idempotency_key: str) -> str:
        """Order the cart; returns the order id. A retry must send the same
        ``idempotency_key`` (:func:`checkout_key`): the BFF then answers the first
        checkout's order again instead of placing another."""
        placed = self.checkout_api.call("POST", "/checkout", {}, idempotency_key=idempotency_key)
        order_id: str = placed["orderId"]
        return order_id

    def track(self, order_id: str) -> dict[str, Any]:
        """The order's tracking view."""
        view: dict[str, Any] = self.tracking.call("GET", f"/orders/{order_id}")
        return view

    def cancel(self, order_id: str) -> None:
        """Ask to cancel an order the restaurant has not taken yet."""
        self.tracking.call("POST", f"/orders/{order_id}/cancel")

    def history(self) -> list[dict[str, Any]]:
        """The newest page of the customer's orders (20 by default), newest first."""
        orders: list[dict[str, Any]] = self.tracking.call("GET", "/orders")["orders"]
        return orders


class StaffApp:
    """A restaurant's back office: profile, menu and the kitchen queue.

    It answers a ticket as it last read it: each answer sends the ticket's ``revision`` from
    the queue (or from the answer before) as ``If-Match``, so that an order a colleague
    answered, or Order withdrew, in between is refused (412, :class:`ApiError`) rather than
    answered again on top of what happened; a ticket it has not read is answered
    unconditionally."""

    def __init__(self, session: requests.Session, urls: Urls, token: str, restaurant: str) -> None:
        self.profile = Api(session, urls.profile, token)
        self.kitchen = Api(session, urls.kitchen, token)
        self.restaurant = restaurant
        self._read: dict[str, str] = {}
        """The ``ETag`` of each ticket as last read, by order id."""

    def publish(self, profile: dict[str, Any], items: list[dict[str, Any]]) -> None:
        """Set the restaurant's profile and its menu."""
        self.profile.call("PUT", f"/restaurants/{self.restaurant}", profile)
        self.profile.call("PUT", f"/restaurants/{self.restaurant}/menu", {"items": items})

    def queue(self, status: str = "new") -> list[dict[str, Any]]:
        """The kitchen's open tickets in ``status`` (new, accepted or ready), oldest first,
        following the pages' ``next``."""
        query = {"status": status}
        tickets: list[dict[str, Any]] = []
        while True:
            page = self.kitchen.call(
                "GET", f"/restaurants/{self.restaurant}/orders?{urlencode(query)}"
            )
            tickets += page["orders"]
            self._remember(page["orders"])
            if page["next"] is None:
                return tickets
            query["after"] = page["next"]

    def accept(self, order_id: str, prep_minutes: int = 15) -> None:
        """Take the order."""
        self._act(order_id, "accept", {"prepMinutes": prep_minutes})

    def reject(self, order_id: str, reason: str) -> None:
        """Refuse the order."""
        self._act(order_id, "reject", {"reason": reason})

    def ready(self, order_id: str) -> None:
        """The order is packed for the driver."""
        self._act(order_id, "ready", None)

    def _act(self, order_id: str, action: str, body: dict[str, Any] | None) -> None:
        ticket = self.kitchen.call(
            "POST",
            f"/restaurants/{self.restaurant}/orders/{order_id}/{action}",
            body,
            if_match=self._read.get(order_id),
        )
        self._remember([ticket])

    def _remember(self, tickets: list[dict[str, Any]]) -> None:
        """Keep the tag of each ticket as read: its ``revision``, and ``-expired`` once it is,
        quoted as its ``ETag`` (none from a kitchen that counts no revisions: the next answer
        goes unconditionally)."""
        for ticket in tickets:
            revision = ticket.get("revision")
            if revision is None:
                self._read.pop(ticket["id"], None)
            else:
                expired = "-expired" if ticket.get("expired") else ""
                self._read[ticket["id"]] = f'"{revision}{expired}"'


class PosTerminal:
    """The point-of-sale terminal in a restaurant that uses its own ordering system."""

    def __init__(self, session: requests.Session, urls: Urls) -> None:
        self.api = Api(session, urls.pos, None)

    def received(self) -> list[dict[str, Any]]:
        """Orders the POS received and nobody answered yet."""
        orders: list[dict[str, Any]] = self.api.call("GET", "/orders")["orders"]
        return [o for o in orders if o["status"] == "received"]

    def accepted(self) -> list[dict[str, Any]]:
        """Orders being prepared."""
        orders: list[dict[str, Any]] = self.api.call("GET", "/orders")["orders"]
        return [o for o in orders if o["status"] == "accepted"]

    def accept(self, order_id: str, prep_minutes: int = 20) -> None:
        """Accept on the terminal; the POS calls the Order subsystem back."""
        self.api.call("POST", f"/orders/{order_id}/accept", {"prepMinutes": prep_minutes})

    def reject(self, order_id: str, reason: str) -> None:
        """Refuse on the terminal; the POS calls the Order subsystem back."""
        self.api.call("POST", f"/orders/{order_id}/reject", {"reason": reason})

    def ready(self, order_id: str) -> None:
        """Mark ready on the terminal."""
        self.api.call("POST", f"/orders/{order_id}/ready")


class DriverApp:
    """The driver's app: availability, offers and the delivery steps."""

    def __init__(self, session: requests.Session, urls: Urls, token: str) -> None:
        self.api = Api(session, urls.driver, token)

    def sign_up(self, name: str, vehicle: str = "bike") -> None:
        """Create the driver's profile."""
        self.api.call("PUT", "/me", {"name": name, "vehicle": vehicle})

    def go_online(self, lat: float, lng: float) -> None:
        """Report a position and become available for offers."""
        self.api.call("PUT", "/me/location", {"lat": lat, "lng": lng})
        self.api.call("PUT", "/me/status", {"online": True})

    def profile(self) -> dict[str, Any]:
        """The driver's profile: whether they are online, and ``offlineReason`` when the
        platform took them offline."""
        found: dict[str, Any] = self.api.call("GET", "/me")
        return found

    def go_online_again(self) -> None:
        """Become available again where the app last reported being (the one tap the push
        asks for once the platform took the driver offline)."""
        self.api.call("PUT", "/me/status", {"online": True})

    def go_offline(self) -> None:
        """End the shift: no more offers (refused with 409 while a delivery is active)."""
        self.api.call("PUT", "/me/status", {"online": False})

    def offers(self) -> list[dict[str, Any]]:
        """Open offers to this driver."""
        offers: list[dict[str, Any]] = self.api.call("GET", "/me/offers")["offers"]
        return offers

    def accept(self, offer_id: str) -> None:
        """Take the delivery offered (the offer's ``offerId``)."""
        self.api.call("POST", f"/offers/{offer_id}/accept")

    def decline(self, offer_id: str) -> None:
        """Refuse the offer (its ``offerId``)."""
        self.api.call("POST", f"/offers/{offer_id}/decline")

    def deliveries(self) -> list[dict[str, Any]]:
        """This driver's latest deliveries (the first page), newest first."""
        found = self.api.call("GET", "/me/deliveries")
        deliveries: list[dict[str, Any]] = found["deliveries"]
        return deliveries

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        """One of this driver's deliveries, or None while the app does not know it yet."""
        try:
            found: dict[str, Any] = self.api.call("GET", f"/deliveries/{delivery_id}")
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return found

    def picked_up(self, delivery_id: str) -> None:
        """Collected at the restaurant."""
        self.api.call("POST", f"/deliveries/{delivery_id}/picked-up")

    def delivered(self, delivery_id: str) -> None:
        """Handed to the customer."""
        self.api.call("POST", f"/deliveries/{delivery_id}/delivered")

    def release(self, delivery_id: str, reason: str | None = None) -> dict[str, Any]:
        """Hand the delivery back before picking it up; the delivery as the driver now sees it."""
        body = {} if reason is None else {"reason": reason}
        released: dict[str, Any] = self.api.call("POST", f"/deliveries/{delivery_id}/release", body)
        return released


def checkout_key() -> str:
    """A new ``Idempotency-Key`` for one checkout (drawn from :mod:`shared.ids`, so a seeded
    run draws the same keys)."""
    return f"checkout-{ids.new_uuid()}"


def tokens(issuer: LocalIssuer) -> Any:
    """A function minting a token for ``customer:alice`` style identities."""

    def mint(actor: str, subject: str, restaurant: str | None = None) -> str:
        return issuer.mint(Principal(actor, subject, restaurant), ttl_s=6 * 3600)  # type: ignore[arg-type]

    return mint


def processor_authorizations(read: Callable[[str], Any], order_id: str) -> list[dict[str, Any]]:
    """Every authorization the payment processor holds for ``order_id``, as its dashboard
    lists them (``read`` GETs a path of its API and returns the JSON), following the
    pages (``hasMore``, ``startingAfter``) of its search."""
    query = {"reference": order_id, "limit": "100"}
    found: list[dict[str, Any]] = []
    while True:
        page = read(f"/v1/authorizations?{urlencode(query)}")
        found += page["authorizations"]
        if not page["hasMore"]:
            return found
        query["startingAfter"] = page["authorizations"][-1]["id"]
