"""Egress: push notifications to customers and drivers, one per business fact.

Each call carries an idempotency key named after the fact, so a redelivered
event never notifies twice. The customer's notices also need their
``customerRef``, which only ``order-updated`` carries: it is kept in
``notification-orders/{orderId}`` with the facts already notified, so a
location-only update or a repeat costs no call at all. A fact is a status, but
a delivery may be handed back and assigned again: each release is its own fact
(``released:<driverId>``), and so is each assignment after one
(``assigned:<driverId>``). A customer who turned notifications off
(``notifyCustomer``, passed on by Order from Customer) gets none; their driver
is still told what concerns the driver.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from delivery.events import (
    DELIVERY_CANCELLED,
    DELIVERY_OFFERED,
    DELIVERY_STATUS_CHANGED,
    ORDER_UPDATED,
)
from delivery.notification_esg.messages import (
    ORDER_STATUSES,
    cancelled_delivery,
    delivery_update,
    new_offer,
    order_update,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from delivery.notification_esg.provider import PushMessage
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context
    from shared.stores import Doc

ORDERS = "notification-orders"
"""``notification-orders/{orderId}``: ``{customerRef, notify, notified: [fact, ...]}``."""
RELEASED = "released:"
"""The prefix of the fact that a driver handed the delivery back."""


class UnknownOrder(LookupError):
    """A delivery update came before its order; the event is redelivered later."""


def notify(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Send the notification ``event`` calls for, if any."""
    handlers: dict[str, Callable[[Envelope, Context[DeliveryPorts]], None]] = {
        ORDER_UPDATED: _order_updated,
        DELIVERY_STATUS_CHANGED: _delivery_status_changed,
        DELIVERY_OFFERED: _delivery_offered,
        DELIVERY_CANCELLED: _delivery_cancelled,
    }
    handlers[event.type](event, ctx)


def _order_updated(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    order = event.body

    def remember(record: Doc | None) -> Doc:
        notify = order.get("notifyCustomer", True)
        return {
            "notified": [],
            **(record or {}),
            "customerRef": order["customerRef"],
            "notify": notify,
        }

    ctx.ports.store.update(ORDERS, order["id"], remember)
    if order["status"] in ORDER_STATUSES:
        fact = order["status"]
        _tell_customer(ctx, order["id"], lambda _: fact, partial(order_update, order))


def _delivery_status_changed(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    delivery = event.body
    compose = partial(delivery_update, delivery)
    _tell_customer(ctx, delivery["orderId"], partial(delivery_fact, delivery), compose)


def delivery_fact(delivery: Doc, notified: list[str]) -> str | None:
    """The fact the customer hears of from ``delivery``'s status, given those ``notified``
    already; ``None`` for the assignment of a driver who has handed the delivery back since."""
    status, driver_id = delivery["status"], delivery["driver"]["id"]
    if status == "released":
        return f"{RELEASED}{driver_id}"
    if status != "assigned":
        return str(status)
    if f"{RELEASED}{driver_id}" in notified:
        return None
    if any(fact.startswith(RELEASED) for fact in notified):
        return f"assigned:{driver_id}"
    return "assigned"


def _delivery_offered(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    offer = event.body
    key = f"{offer['id']}:offer:{offer['driverId']}:{offer['expiresAt']}"
    ctx.ports.push.send(new_offer(offer), idempotency_key=key)


def _delivery_cancelled(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    delivery = event.body
    if delivery["driverId"] is not None:
        key = f"{delivery['id']}:cancelled:{delivery['driverId']}"
        ctx.ports.push.send(cancelled_delivery(delivery), idempotency_key=key)


def _tell_customer(
    ctx: Context[DeliveryPorts],
    order_id: str,
    fact_of: Callable[[list[str]], str | None],
    compose: Callable[[str], PushMessage],
) -> None:
    """Send the customer the notice ``compose`` makes, once per fact (``fact_of`` the facts
    notified already; ``None``: nothing to tell)."""
    store = ctx.ports.store
    record = store.get(ORDERS, order_id)
    if record is None:
        raise UnknownOrder(f"no customer known for order {order_id} yet")
    if not record.get("notify", True):
        return
    fact = fact_of(record["notified"])
    if fact is None or fact in record["notified"]:
        return
    message = compose(record["customerRef"])
    ctx.ports.push.send(message, idempotency_key=f"{order_id}:{fact}:customer")

    def notified(current: Doc | None) -> Doc | None:
        if current is None or fact in current["notified"]:
            return None
        return {**current, "notified": [*current["notified"], fact]}

    store.update(ORDERS, order_id, notified)
