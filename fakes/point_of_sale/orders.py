"""The orders a point of sale holds, and the staff's answers to them.

Staff answers (accept, reject, ready) are called back to the order's
``callbackUrl`` before the answer counts: when the callback fails the order is
put back as it was, so staff can retry. The point of sale holds the last ``most`` orders,
the oldest forgotten first (see :mod:`fakes.retention`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from fakes.point_of_sale.callbacks import Callbacks
from fakes.point_of_sale.models import OrderRequest
from fakes.retention import MAX_RECORDS, checked_most, drop_oldest
from fakes.web import FakeError, new_id, now_iso

Status = Literal["received", "accepted", "rejected", "ready", "cancelled"]
Event = Literal["accepted", "rejected", "ready"]


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the point of sale holds it."""

    pos_order_id: str
    request: OrderRequest
    status: Status
    received_at: str
    prep_minutes: int | None = None
    reason: str | None = None

    @property
    def order_id(self) -> str:
        """The platform's order id."""
        return self.request.order_id

    def receipt(self) -> dict[str, Any]:
        """The answer to ``POST /orders``."""
        return {"posOrderId": self.pos_order_id, "orderId": self.order_id, "status": self.status}

    def view(self) -> dict[str, Any]:
        """The whole order."""
        return {
            **self.receipt(),
            "restaurantId": self.request.restaurant_id,
            "items": [item.model_dump() for item in self.request.items],
            "callbackUrl": self.request.callback_url,
            "prepMinutes": self.prep_minutes,
            "reason": self.reason,
            "receivedAt": self.received_at,
        }

    def callback(self, event: Event) -> dict[str, Any]:
        """The callback body announcing ``event``."""
        body: dict[str, Any] = {
            "orderId": self.order_id,
            "restaurantId": self.request.restaurant_id,
            "event": event,
        }
        if event == "accepted":
            body["prepMinutes"] = self.prep_minutes
        if event == "rejected":
            body["reason"] = self.reason
        return body


class PointOfSale:
    """The last ``most`` orders by the platform's order id; thread-safe. Callbacks run
    outside the lock."""

    def __init__(self, callbacks: Callbacks, most: int = MAX_RECORDS) -> None:
        self._callbacks = callbacks
        self._most = checked_most(most)
        self._orders: dict[str, Order] = {}
        self._lock = threading.Lock()
        self.on_received: list[Callable[[str], None]] = []
        """Called with the order id of each new order."""

    def receive(self, request: OrderRequest) -> Order:
        """Take a new order; 409 if its order id is already known."""
        order = Order(new_id("pos"), request, "received", now_iso())
        with self._lock:
            if request.order_id in self._orders:
                raise FakeError(409, f"order {request.order_id} already exists")
            self._orders[request.order_id] = order
            drop_oldest(self._orders, self._most)
        for listener in self.on_received:
            listener(order.order_id)
        return order

    def cancel(self, order_id: str) -> Order:
        """Cancel an order, whatever its state (no callback: the platform asked)."""
        with self._lock:
            order = replace(self._get(order_id), status="cancelled")
            self._orders[order_id] = order
            return order

    def accept(self, order_id: str, prep_minutes: int) -> Order:
        """Staff accept a received order."""
        return self._answer(order_id, "accepted", "received", prep_minutes=prep_minutes)

    def reject(self, order_id: str, reason: str) -> Order:
        """Staff reject a received order."""
        return self._answer(order_id, "rejected", "received", reason=reason)

    def ready(self, order_id: str) -> Order:
        """Staff mark an accepted order ready."""
        return self._answer(order_id, "ready", "accepted")

    def get(self, order_id: str) -> Order:
        """One order; 404 if unknown."""
        with self._lock:
            return self._get(order_id)

    def all(self) -> list[Order]:
        """Every order, oldest first."""
        with self._lock:
            return list(self._orders.values())

    def _answer(self, order_id: str, event: Event, needed: Status, **changes: Any) -> Order:
        with self._lock:
            before = self._get(order_id)
            if before.status != needed:
                raise FakeError(409, f"cannot mark order {order_id} {event}: it is {before.status}")
            after = replace(before, status=event, **changes)
            # Taken before calling back, so a second press cannot call back twice; the
            # lock is not held during the call, as the webhook may call the POS itself.
            self._orders[order_id] = after
        try:
            self._callbacks.send(before.request.callback_url, after.callback(event))
        except Exception:
            with self._lock:
                if self._orders.get(order_id) is after:
                    self._orders[order_id] = before
            raise
        return after

    def _get(self, order_id: str) -> Order:
        try:
            return self._orders[order_id]
        except KeyError:
            raise FakeError(404, f"no order {order_id}") from None
