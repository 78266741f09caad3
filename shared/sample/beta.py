"""Sample subsystem ``beta``: a gateway and a shipping control service."""

from __future__ import annotations

from dataclasses import dataclass

from shared.envelope import Envelope
from shared.hub.routing import on_types
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.runtime.context import Context
from shared.stores import AbstractDocumentStore, DocumentChange, record_event
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic, Trigger


@dataclass
class BetaPorts:
    store: AbstractDocumentStore


def receive_order(event: Envelope, ctx: Context[BetaPorts]) -> None:
    ctx.emit("order-received", "order", event.body, partition_key=event.partition_key)


def collect(event: Envelope, ctx: Context[BetaPorts]) -> None:
    record_event(ctx.ports.store, "shipping-events", event, orderId=event.partition_key)


def ship(change: DocumentChange, ctx: Context[BetaPorts]) -> None:
    if change.kind == "created" and change.after and change.after["type"] == "order-received":
        order_id = change.after["orderId"]
        ctx.emit("order-shipped", "order", {"id": order_id}, partition_key=order_id)


def publish_shipment(event: Envelope, ctx: Context[BetaPorts]) -> None:
    ctx.emit(
        "beta.order-shipped",
        "order",
        {"id": event.body["id"]},
        partition_key=event.partition_key,
        external=True,
    )


TOPOLOGY = Subsystem(
    name="beta",
    services=(
        Service(
            "alpha-esg",
            ServiceKind.ESG,
            (
                Consumer(
                    "ingress",
                    Role.INGRESS,
                    Channel(
                        on_types("alpha.order-submitted"), topic=Topic.EXTERNAL, subsystem="alpha"
                    ),
                    handlers=(receive_order,),
                ),
                Consumer(
                    "egress",
                    Role.EGRESS,
                    Channel(on_types("order-shipped")),
                    handlers=(publish_shipment,),
                    publishes=("beta.order-shipped",),
                ),
            ),
        ),
        Service(
            "shipping",
            ServiceKind.CONTROL,
            (
                Consumer(
                    "listener",
                    Role.LISTENER,
                    Channel(on_types("order-received")),
                    handlers=(collect,),
                ),
                Trigger("trigger", Role.TRIGGER, collection="shipping-events", handlers=(ship,)),
            ),
        ),
    ),
)


def bootstrap(infra: Infrastructure) -> BetaPorts:
    return BetaPorts(store=infra.store)


APP = SubsystemApp(TOPOLOGY, bootstrap)
