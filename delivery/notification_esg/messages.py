"""What the notifications say, and to whom."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.events import offer_id_of
from delivery.notification_esg.provider import PushMessage

if TYPE_CHECKING:
    from shared.stores import Doc

CANCEL_REASONS = {
    "customer": "You cancelled it.",
    "rejected": "The restaurant could not take your order.",
    "restaurant-timeout": "The restaurant did not answer in time.",
    "no-driver": "No driver was free to bring it to you.",
    "driver-no-show": "The driver did not collect it.",
    "not-delivered": "It was not delivered.",
}
"""Why an order was cancelled, by Order's ``reason``."""
NOT_CHARGED = "You will not be charged: the amount held on your card is released."
"""What every cancellation in :data:`CANCEL_REASONS` means for the customer's money: Order
places an order only once its payment is authorized and cancels it only before it is
delivered, when the payment would be captured, so the authorization is voided (never
refunded, and never missing). Of a reason added since, nothing is said: it may not be so."""
ORDER_STATUSES = ("accepted", "cancelled")
"""Order statuses the customer hears of from the order; the rest come from the delivery."""


def order_update(order: Doc, customer_ref: str) -> PushMessage:
    """The customer's notice that the restaurant accepted the order, or that it was cancelled."""
    if order["status"] == "accepted":
        title, text = "Order accepted", f"{order['restaurant']['name']} is preparing your order."
    else:
        reason = order["reason"] or ""
        why = f"{CANCEL_REASONS[reason]} {NOT_CHARGED}" if reason in CANCEL_REASONS else ""
        title, text = "Order cancelled", f"Your order was cancelled. {why}".strip()
    return _to_customer(customer_ref, order["id"], order["status"], title, text)


def delivery_update(delivery: Doc, customer_ref: str) -> PushMessage:
    """The customer's notice of the delivery's new status."""
    name = delivery["driver"]["name"]
    title, text = {
        "assigned": ("Driver assigned", f"{name} will bring your order."),
        "released": (
            "Finding another driver",
            "Your driver had to hand your order over; we are finding another one.",
        ),
        "picked-up": ("On its way", f"{name} has picked up your order."),
        "delivered": ("Delivered", "Your order has arrived. Enjoy your meal!"),
    }[delivery["status"]]
    return _to_customer(customer_ref, delivery["orderId"], delivery["status"], title, text)


def new_offer(offer: Doc) -> PushMessage:
    """The driver's notice of a delivery offered to them."""
    pickup = offer["pickup"]
    return PushMessage(
        kind="driver",
        recipient=offer["driverId"],
        title="New delivery offer",
        body=f"Pick up at {pickup['name']}, {pickup['address']['street']}.",
        data={
            "offerId": offer_id_of(offer["id"], offer["expiresAt"]),
            "deliveryId": offer["id"],
            "orderId": offer["orderId"],
            "expiresAt": str(offer["expiresAt"]),
        },
    )


def cancelled_delivery(delivery: Doc) -> PushMessage:
    """The assigned driver's notice that the order was cancelled."""
    return PushMessage(
        kind="driver",
        recipient=delivery["driverId"],
        title="Delivery cancelled",
        body="The order was cancelled; there is nothing to pick up.",
        data={"deliveryId": delivery["id"], "orderId": delivery["orderId"]},
    )


def taken_offline(driver: Doc) -> PushMessage:
    """The driver's notice that the platform took them offline (``driver-taken-offline``),
    and that going online again is one tap."""
    return PushMessage(
        kind="driver",
        recipient=driver["id"],
        title="You are offline",
        body=(
            "You let several offers in a row run out, so we took you offline to keep orders "
            "moving. Tap to go online again."
        ),
        data={"reason": driver["reason"], "action": "go-online"},
    )


def _to_customer(ref: str, order_id: str, status: str, title: str, text: str) -> PushMessage:
    return PushMessage(
        kind="customer",
        recipient=ref,
        title=title,
        body=text,
        data={"orderId": order_id, "status": status},
    )
