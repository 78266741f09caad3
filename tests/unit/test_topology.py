from __future__ import annotations

import pytest

from shared.exceptions import TopologyError
from shared.hub.routing import on_types
from shared.sample import alpha, beta
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
    check_system,
)
from shared.topology.checks import UNKNOWN_SUBSYSTEM_HINT


def noop(event, ctx):
    return None


def listener(name="listener", **channel):
    return Consumer(name, Role.LISTENER, Channel(on_types("x"), **channel), handlers=(noop,))


def test_sample_topology_views():
    topo = alpha.TOPOLOGY
    assert [fn.target(s) for s, fn in topo.functions()] == [
        "cart_bff_api",
        "cart_bff_trigger",
        "cart_bff_listener",
        "orders_esg_egress",
        "orders_esg_ingress",
    ]
    assert topo.publishes == {"alpha.order-submitted"}
    assert topo.consumes() == {"beta": {"beta.order-shipped"}}
    assert [c.subscription(s) for s, c in topo.consumers()] == [
        "cart-bff-listener",
        "orders-esg-egress",
        "orders-esg-ingress",
    ]
    assert topo.find("cart_bff_trigger")[1].name == "trigger"
    with pytest.raises(TopologyError, match="no function with target 'nope'"):
        topo.find("nope")
    assert check_system((alpha.TOPOLOGY, beta.TOPOLOGY)) == []


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ((Service("Bad Name", ServiceKind.BFF, (listener(),)),), "service 'Bad Name'"),
        ((Service("svc", ServiceKind.BFF, ()),), "at least one function"),
        ((Service("svc", ServiceKind.BFF, (listener(), listener())),), "declared twice"),
        (
            (Service("svc", ServiceKind.CONTROL, (Endpoint("api", Role.API, app=noop),)),),
            "function 'api': a control service cannot have an API function",
        ),
        (
            (Service("svc", ServiceKind.ESG, (listener(),)),),
            "function 'listener': an ESG cannot have a listener function",
        ),
        (
            (Service("svc", ServiceKind.BFF, (Trigger("t", Role.INGRESS, "c", (noop,)),)),),
            "function 't': a BFF cannot have an ingress function",
        ),
        (
            (Service("svc", ServiceKind.BFF, (listener(max_delivery_attempts=3),)),),
            "max_delivery_attempts must be 5-100",
        ),
        (
            (Service("svc", ServiceKind.BFF, (listener(topic=Topic.EXTERNAL),)),),
            "only an ingress reads an 'external' topic",
        ),
        (
            (Service("svc", ServiceKind.BFF, (listener(subsystem="other"),)),),
            "can only read its 'external' topic",
        ),
        (
            (
                Service(
                    "svc",
                    ServiceKind.BFF,
                    (Consumer("listener", Role.LISTENER, Channel(on_types("x")), handlers=()),),
                ),
            ),
            "at least one handler",
        ),
        (
            (
                Service(
                    "svc",
                    ServiceKind.BFF,
                    (Trigger("trigger", Role.TRIGGER, collection="", handlers=(noop,)),),
                ),
            ),
            "must name the collection",
        ),
        (
            (
                Service("a", ServiceKind.BFF, (listener("b-c"),)),
                Service("a-b", ServiceKind.BFF, (listener("c"),)),
            ),
            "target 'a_b_c'",
        ),
    ],
)
def test_invalid_declarations_fail_fast_naming_the_service(services, message):
    with pytest.raises(TopologyError) as info:
        Subsystem("shop", services)
    assert "subsystem 'shop'" in str(info.value)
    assert message in str(info.value)


def test_system_check_finds_consumed_types_nobody_publishes():
    reader = Subsystem(
        "reader",
        (
            Service(
                "esg",
                ServiceKind.ESG,
                (
                    Consumer(
                        "ingress",
                        Role.INGRESS,
                        Channel(on_types("alpha.unknown"), topic=Topic.EXTERNAL, subsystem="alpha"),
                        handlers=(noop,),
                    ),
                    Consumer(
                        "ingress2",
                        Role.INGRESS,
                        Channel(on_types("ghost.x"), topic=Topic.EXTERNAL, subsystem="ghost"),
                        handlers=(noop,),
                    ),
                ),
            ),
        ),
    )
    assert check_system((alpha.TOPOLOGY, reader)) == [
        f"alpha reads unknown subsystem 'beta' (known: alpha, reader): {UNKNOWN_SUBSYSTEM_HINT}",
        "reader consumes 'alpha.unknown' but alpha does not publish it",
        f"reader reads unknown subsystem 'ghost' (known: alpha, reader): {UNKNOWN_SUBSYSTEM_HINT}",
    ]
