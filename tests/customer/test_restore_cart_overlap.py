"""checkout-bff's restore_cart handled twice at once (the decline's change delivered again
while the first handling stalls, as Eventarc does): the stalled handling, resuming, puts back
no dishes the customer emptied from the cart, or ordered, meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from shared.runtime.outcome import Outcome
from shared.stores import DocumentChange
from tests.customer.conftest import DECLINED_CARD, Customer
from tests.customer.test_checkout_bff import PRICED, cart, checkout, orders_trigger


@pytest.mark.parametrize("since", ["emptied", "ordered"])
def test_a_stale_restore_does_not_put_back_dishes_the_customer_dealt_with_meanwhile(
    shop: Customer, monkeypatch: pytest.MonkeyPatch, since: str
) -> None:
    update = shop.store.update
    stalled: list[str] = []

    def stall_before_restoring(collection: str, key: str, updater: Any) -> Any:
        # Handling A of the decline's change read the order (not restored yet) and stalls
        # here, just before it writes the cart; meanwhile:
        if collection == "carts" and not stalled:
            [order] = [d.data for d in shop.store.query("orders")]
            assert order["status"] == "payment-declined"  # restore_cart's write
            stalled.append(order["id"])
            before = {**order, "status": "pending-payment"}
            change = DocumentChange("orders", order["id"], before, order, "v")
            # A' (the same change, delivered again at A's ack deadline) restores the cart ...
            assert orders_trigger(shop).handle(change) is Outcome.ACK
            assert cart(shop) == PRICED
            # ... and the customer deals with the dishes back in it
            if since == "emptied":
                assert shop.call("checkout-bff", "DELETE", "/cart").status_code == 204
            else:
                assert checkout(shop, {"paymentMethod": "pm_card_visa"}).status_code == 201
            assert cart(shop)["items"] == []
        return update(collection, key, updater)

    monkeypatch.setattr(shop.store, "update", stall_before_restoring)
    shop.place_order(card={"token": DECLINED_CARD, "brand": "visa", "last4": "0002"})
    shop.system.run_until_quiet()

    assert stalled
    # A resumed with what it read before: the cart stays as the customer left it
    assert cart(shop)["items"] == []
