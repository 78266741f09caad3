"""Sample subsystem ``alpha``: a cart BFF and its gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import flask

from shared.envelope import Envelope
from shared.exceptions import BusinessRuleViolation
from shared.hub.routing import on_types
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.runtime.context import Context
from shared.stores import AbstractDocumentStore, DocumentChange, apply_event
from shared.topology import (
    Channel,
    Consumer,
    Endpoint,
    Role,
    Service,
    ServiceKind,
    Subsystem,
    Topic,
    Trigger,
)


@dataclass
class AlphaPorts:
    store: AbstractDocumentStore
    calls: list[str] = field(default_factory=list)
    fail_times: dict[str, int] = field(default_factory=dict)


def api(ports: AlphaPorts) -> flask.Flask:
    app = flask.Flask("alpha-cart-api")

    @app.post("/carts/<cart_id>/checkout")
    def checkout(cart_id: str) -> Any:
        body = flask.request.get_json(silent=True) or {}
        items = body.get("items")
        if not isinstance(items, list) or not items:
            return {"error": "items: must be a non-empty list"}, 400
        if not ports.store.create(
            "carts", cart_id, {"id": cart_id, "items": items, "status": "checked-out"}
        ):
            return {"error": f"cart {cart_id} is already checked out"}, 409
        return {"id": cart_id, "status": "checked-out"}, 202

    @app.get("/carts/<cart_id>")
    def get_cart(cart_id: str) -> Any:
        cart = ports.store.get("carts", cart_id)
        return (cart, 200) if cart else ({"error": "not found"}, 404)

    return app


def publish_checkout(change: DocumentChange, ctx: Context[AlphaPorts]) -> None:
    if change.kind == "created" and change.after is not None:
        ctx.emit("cart-checked-out", "cart", change.after, partition_key=change.key)


def submit_order(event: Envelope, ctx: Context[AlphaPorts]) -> None:
    ctx.ports.calls.append(f"egress:{event.partition_key}")
    remaining = ctx.ports.fail_times.get(event.partition_key, 0)
    if remaining:
        ctx.ports.fail_times[event.partition_key] = remaining - 1
        raise ConnectionError("the partner is down")
    if event.body.get("items") == ["forbidden"]:
        raise BusinessRuleViolation("forbidden items cannot be ordered")
    ctx.emit(
        "alpha.order-submitted",
        "order",
        {"id": event.partition_key, "items": event.body["items"]},
        partition_key=event.partition_key,
        external=True,
    )


def receive_shipment(event: Envelope, ctx: Context[AlphaPorts]) -> None:
    ctx.emit("order-shipped", "order", {"id": event.body["id"]}, partition_key=event.partition_key)


def materialize_shipment(event: Envelope, ctx: Context[AlphaPorts]) -> None:
    ctx.ports.calls.append(f"view:{event.partition_key}")
    apply_event(
        ctx.ports.store,
        "carts",
        event.partition_key,
        event,
        lambda cart: {**(cart or {}), "status": "shipped"},
    )


TOPOLOGY = Subsystem(
    name="alpha",
    services=(
        Service(
            "cart-bff",
            ServiceKind.BFF,
            (
                Endpoint("api", Role.API, app=api),
                Trigger("trigger", Role.TRIGGER, collection="carts", handlers=(publish_checkout,)),
                Consumer(
                    "listener",
                    Role.LISTENER,
                    Channel(on_types("order-shipped")),
                    handlers=(materialize_shipment,),
                ),
            ),
        ),
        Service(
            "orders-esg",
            ServiceKind.ESG,
            (
                Consumer(
                    "egress",
                    Role.EGRESS,
                    Channel(on_types("cart-checked-out"), min_backoff_s=0.01, max_backoff_s=0.1),
                    handlers=(submit_order,),
                    publishes=("alpha.order-submitted",),
                ),
                Consumer(
                    "ingress",
                    Role.INGRESS,
                    Channel(on_types("beta.order-shipped"), topic=Topic.EXTERNAL, subsystem="beta"),
                    handlers=(receive_shipment,),
                ),
            ),
        ),
    ),
)


def bootstrap(infra: Infrastructure) -> AlphaPorts:
    return AlphaPorts(store=infra.store)


APP = SubsystemApp(TOPOLOGY, bootstrap)
