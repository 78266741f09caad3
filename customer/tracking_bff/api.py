"""The tracking BFF's HTTP API: the caller's orders and where each one stands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.tracking_bff.cancellation import CANCEL_REQUESTS, CANCELLABLE
from customer.tracking_bff.models import (
    TRACKING,
    CancelRequest,
    HistoryQuery,
    OrderList,
    OrderSummary,
    Tracking,
)
from shared.api import HttpApi, HttpError
from shared.stores import Where
from shared.stores.paging import newest_first

if TYPE_CHECKING:
    import flask

    from customer.ports import CustomerPorts
    from shared.auth import Principal


def http_app(ports: CustomerPorts) -> flask.Flask:
    """The Flask app serving ``/orders``; a customer sees only their own orders."""
    api = HttpApi("Customer tracking", ports.verifier, store=ports.store)
    store = ports.store

    @api.route("GET", "/orders", actors={"customer"}, response=OrderList, query=HistoryQuery)
    def list_orders(caller: Principal, query: HistoryQuery) -> OrderList:
        """The caller's orders, newest first, a page at a time."""
        mine = [Where("customerId", "==", caller.subject)]
        page = newest_first(store, TRACKING, mine, "createdAt", query.limit, query.before)
        summaries = [OrderSummary.model_validate(d.data) for d in page.documents]
        return OrderList(orders=summaries, next=page.next)

    @api.route(
        "GET",
        "/orders/{order_id}",
        actors={"customer"},
        response=Tracking,
        refusals={404: "no such order"},
    )
    def get_order(caller: Principal, order_id: str) -> Tracking:
        """Where one of the caller's orders stands."""
        return Tracking.model_validate(_own_view(caller, order_id))

    @api.route(
        "POST",
        "/orders/{order_id}/cancel",
        actors={"customer"},
        response=CancelRequest,
        status=202,
        refusals={
            404: "no such order",
            409: "the restaurant has taken the order already, or it is finished",
        },
    )
    def cancel_order(caller: Principal, order_id: str) -> CancelRequest:
        """Ask to cancel an order the restaurant has not taken yet; the payment is then voided.

        The answer means the request is on its way. An order still awaiting its
        payment is cancelled by checkout at once; a placed one's request goes to
        Order, which refuses it if it arrives after the restaurant accepted. The
        tracking view shows ``cancelled`` (reason ``customer``) once it is decided.
        """
        view = _own_view(caller, order_id)
        if view["status"] not in CANCELLABLE:
            raise HttpError(409, f"order {order_id} is {view['status']}: it cannot be cancelled")
        request = {"orderId": order_id, "customerId": caller.subject}
        store.create(CANCEL_REQUESTS, order_id, {**request, "requestedAt": ports.clock.now_ms()})
        return CancelRequest(order_id=order_id, status="cancellation-requested")

    def _own_view(caller: Principal, order_id: str) -> dict[str, object]:
        view = store.get(TRACKING, order_id)
        if view is None or view["customerId"] is None:
            raise HttpError(404, f"no order {order_id}")
        if view["customerId"] != caller.subject:
            raise HttpError(403, f"order {order_id} is not yours")
        return view

    return api.flask_app()
