"""tracking-bff: an order's payment never moves back, whatever order its news arrives in."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from customer.tracking_bff.progress import APPLY, blank
from shared.envelope import Envelope
from shared.hub.message import from_message
from shared.topology import Topic
from tests.customer.conftest import MINUTE, START, Customer


def delivered(shop: Customer) -> str:
    order_id = shop.place_order()
    shop.clock.advance_to(START + 40 * MINUTE)
    shop.order_status(order_id, "delivered")
    return order_id


def cancelled(shop: Customer) -> str:
    order_id = shop.place_order()
    shop.order_status(order_id, "cancelled", reason="rejected", detail="out of dough")
    return order_id


def news_of(shop: Customer, order_id: str) -> list[Envelope]:
    """The events tracking applied to the order's view, in the order they were published."""
    published = [from_message(m) for m in shop.messages[Topic.BUS]]
    return [e for e in published if e.type in APPLY and e.partition_key == order_id]


@pytest.mark.parametrize(
    ("story", "payment"),
    [(delivered, "captured"), (cancelled, "voided")],
    ids=["delivered", "cancelled"],
)
def test_the_payment_shown_is_the_furthest_along_however_late_the_earlier_news_comes(
    shop: Customer, story: Callable[[Customer], str], payment: str
) -> None:
    order_id = story(shop)
    news = news_of(shop, order_id)
    payment_news = {"payment-captured", "payment-voided"}
    assert any(e.type in payment_news for e in news), "the story settles the payment"
    assert news[-1].type in payment_news, "the settlement comes last as published"

    view = blank(order_id)
    for event in reversed(news):  # the settlement first, the authorization after it
        view = APPLY[event.type](view, event)

    assert view["payment"] == payment
    assert shop.call("tracking-bff", "GET", f"/orders/{order_id}").get_json()["payment"] == payment
