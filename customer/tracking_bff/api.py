"""The tracking BFF's HTTP API: the caller's orders and where each one stands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.tracking_bff.cancellation import CANCEL_REQUESTS, CANCELLABLE, record_request
from customer.tracking_bff.models import (
    TRACKING,
    CancelRequest,
    HistoryQuery,
    OrderList,
    OrderSummary,
    Tracking,
)
from shared.api import HttpApi, HttpError, echoed
from shared.stores import Where
from shared.stores.paging import newest_first

if TYPE_CHECKING:
    import flask

    from customer.ports import CustomerPorts
    from shared.auth import Principal

NOT_KNOWN = "no such order, or one placed a moment ago that tracking does not know yet (retry)"
"""The 404 refusal, as the OpenAPI document lists it."""


def http_app(ports: CustomerPorts) -> flask.Flask:
    """The Flask app serving ``/orders``; a customer sees only their own orders."""
    api = HttpApi("Customer tracking", ports.verifier, store=ports.store)
    store = ports.store

    @api.route("GET", "/orders", actors={"customer"}, response=OrderList, query=HistoryQuery)
    def list_orders(caller: Principal, query: HistoryQuery) -> OrderList:
        """The caller's orders, newest first, a page at a time."""
        mine = [Where("customerId", "==", caller.subject)]
        page = newest_first(store, TRACKING, mine, "createdAt", query.limit, query.cursor())
        summaries = [OrderSummary.model_validate(d.data) for d in page.documents]
        return OrderList(orders=summaries, next=page.next_token)

    @api.route(
        "GET",
        "/orders/{order_id}",
        actors={"customer"},
        response=Tracking,
        refusals={404: NOT_KNOWN},
    )
    def get_order(caller: Principal, order_id: str) -> Tracking:
        """Where one of the caller's orders stands.

        Tracking hears of an order from whichever of checkout's events comes first
        (normally ``order-submitted``):
        for a second or so after checkout answers (longer while that event waits
        for a retry), the order is not known here yet and the answer is 404.
        """
        return Tracking.model_validate(_own_view(caller, order_id))

    @api.route(
        "POST",
        "/orders/{order_id}/cancel",
        actors={"customer"},
        response=CancelRequest,
        status=202,
        refusals={
            404: NOT_KNOWN,
            409: "the restaurant has taken the order already, or it is finished",
        },
    )
    def cancel_order(caller: Principal, order_id: str) -> CancelRequest:
        """Ask to cancel an order the restaurant has not taken yet; the payment is then voided.

        The answer means the request is on its way, and the order's
        ``cancellation`` shows it as ``requested``. An order still awaiting its
        payment is cancelled by checkout at once; a placed one's request goes to
        Order, which refuses it if it arrives after the restaurant accepted, and
        says nothing. The tracking view decides the request from where the order
        goes next: ``granted`` once it is ``cancelled`` (reason ``customer``),
        ``refused`` once it moves on past ``placed``. Asking again changes nothing.
        """
        view = _own_view(caller, order_id)
        if view["status"] not in CANCELLABLE:
            raise HttpError(
                409, f"order {echoed(order_id)} is {view['status']}: it cannot be cancelled"
            )
        at = ports.clock.now_ms()
        request = {"orderId": order_id, "customerId": caller.subject, "requestedAt": at}
        if not store.create(CANCEL_REQUESTS, order_id, request):
            at = (store.get(CANCEL_REQUESTS, order_id) or {"requestedAt": at})["requestedAt"]
        store.update(TRACKING, order_id, lambda current: record_request(current, at))
        return CancelRequest(order_id=order_id, status="cancellation-requested")

    def _own_view(caller: Principal, order_id: str) -> dict[str, object]:
        """The caller's order's view; another customer's order is as unknown as one that does
        not exist, so that the answer never tells whether an order id is taken; the refusal
        repeats at most :data:`~shared.api.MAX_ECHO_CHARS` characters of the id asked for."""
        view = store.get(TRACKING, order_id)
        if view is None or view["customerId"] != caller.subject:
            raise HttpError(
                404,
                f"no order {echoed(order_id)}: if it was placed a moment ago, tracking does not "
                "know of it yet; retry in a second or two",
            )
        return view

    return api.flask_app()
