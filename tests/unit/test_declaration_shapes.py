"""A declaration that holds the wrong shape fails at import naming the fix, not deep inside.

``(x)`` is ``x`` in Python: a tuple of one written without its trailing comma, or a
service's module given for its ``SERVICE``, are the slips of someone copying a subsystem.
"""

from __future__ import annotations

import pytest

from order import status_esg
from order.contracts import OrderStatusChanged
from shared.clock import ManualClock
from shared.exceptions import TopologyError
from shared.hub.routing import on_types
from shared.migrations import Migration
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.sample import alpha
from shared.stores import InMemoryDocumentStore
from shared.topology import (
    Channel,
    Consumer,
    Index,
    Role,
    Schedule,
    Service,
    ServiceKind,
    Subsystem,
    Trigger,
)
from shared.topology.checks import UNKNOWN_SUBSYSTEM_HINT, check_system


def noop(event, ctx):
    return None


def listener(**fields):
    return Consumer("listener", Role.LISTENER, Channel(on_types("x")), **fields)


def bff(*functions):
    return Service("shop-bff", ServiceKind.BFF, functions)


def refusal(**fields) -> str:
    fields.setdefault("services", (bff(listener(handlers=(noop,))),))
    with pytest.raises(TopologyError) as info:
        Subsystem("shop", **fields)
    return str(info.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"services": bff(listener(handlers=(noop,)))},
            "services must be a tuple of services, got a Service 'shop-bff': write "
            "services=(item,), the trailing comma makes the tuple",
        ),
        (
            {"services": (status_esg,)},
            "services[0] is the module order.status_esg, not one of the services: "
            "name its service, order.status_esg.SERVICE",
        ),
        (
            {"services": (Service("shop-bff", ServiceKind.BFF, listener(handlers=(noop,))),)},
            "service 'shop-bff': functions must be a tuple of functions, got a Consumer "
            "'listener': write functions=(item,)",
        ),
        (
            {"services": (bff(listener(handlers=noop)),)},
            "function 'listener': handlers must be a tuple of handler functions, got the "
            "function noop: write handlers=(noop,), the trailing comma makes the tuple",
        ),
        (
            {"services": (bff(Trigger("t", Role.TRIGGER, collection="c", handlers=noop)),)},
            "function 't': handlers must be a tuple of handler functions, got the function noop",
        ),
        (
            {"services": (bff(Schedule("s", Role.TRIGGER, every_s=60, handlers=noop)),)},
            "function 's': handlers must be a tuple of handler functions, got the function noop",
        ),
        (
            {"services": (bff(listener(handlers=(noop,), secrets="API_KEY")),)},
            "function 'listener': secrets must be a tuple of setting names, got the string "
            "'API_KEY': write secrets=('API_KEY',)",
        ),
        (
            {
                "services": (
                    Service(
                        "out-esg",
                        ServiceKind.ESG,
                        (
                            Consumer(
                                "egress",
                                Role.EGRESS,
                                Channel(on_types("x")),
                                handlers=(noop,),
                                publishes="shop.thing-done",
                            ),
                        ),
                    ),
                )
            },
            "publishes must be a tuple of external types, got the string 'shop.thing-done': "
            "write publishes=('shop.thing-done',)",
        ),
        (
            {"services": (bff(Consumer("listener", Role.LISTENER, on_types("x"), handlers=())),)},
            "function 'listener': channel must be a Channel, got a Rule: Channel(on_types(...))",
        ),
        (
            {"services": (bff(Consumer("listener", Role.LISTENER, Channel("x"), handlers=())),)},
            "the channel's rule must be a routing rule, on_types(...), on_prefixes(...) or "
            "Rule(...), got the string 'x'",
        ),
        (
            {"indexes": Index("orders", ("a", "b"))},
            "indexes must be a tuple of indexes, got an Index: write indexes=(item,)",
        ),
        (
            {"indexes": (Index("orders", ["a", "b"]),)},
            "index on 'orders': fields must be a tuple of field names, got a list",
        ),
        (
            {"ttl_collections": "events"},
            "ttl_collections must be a tuple of collection ids, got the string 'events': "
            "write ttl_collections=('events',)",
        ),
    ],
)
def test_a_lone_item_or_a_module_is_refused_with_the_fix(fields, message):
    found = refusal(**fields)
    assert "subsystem 'shop' is declared wrongly" in found
    assert message in found


def test_lists_still_declare_as_tuples_do():
    shop = Subsystem("shop", [bff(*[listener(handlers=[noop], secrets=["API_KEY"])])])
    assert [fn.target(s) for s, fn in shop.functions()] == ["shop_bff_listener"]


def test_an_unknown_target_lists_the_subsystems_targets():
    with pytest.raises(TopologyError) as info:
        alpha.TOPOLOGY.find("cart_bff_listner")
    assert str(info.value) == (
        "subsystem 'alpha' has no function with target 'cart_bff_listner' (its targets: "
        "cart_bff_api, cart_bff_trigger, cart_bff_listener, orders_esg_egress, "
        "orders_esg_ingress)"
    )


def test_an_ingress_of_an_unknown_subsystem_says_where_to_look():
    [problem] = check_system((alpha.TOPOLOGY,))
    assert problem.startswith("alpha reads unknown subsystem 'beta' (known: alpha): ")
    assert "subsystem=" in UNKNOWN_SUBSYSTEM_HINT
    assert "pyproject.toml" in UNKNOWN_SUBSYSTEM_HINT
    assert "standalone=True" in UNKNOWN_SUBSYSTEM_HINT


def bootstrap(infra):
    return infra


def migration() -> Migration:
    return Migration("backfill-x", "writes x", lambda store: 0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"contracts": OrderStatusChanged},
            "alpha: contracts must be a tuple of Contract classes, got the class "
            "OrderStatusChanged: write contracts=(OrderStatusChanged,), the trailing comma",
        ),
        (
            {"contracts": ("order.order-status-changed",)},
            "alpha: contracts[0] is the string 'order.order-status-changed', not one of the "
            "Contract classes",
        ),
        (
            {"migrations": migration()},
            "alpha: migrations must be a tuple of migrations, got a Migration 'backfill-x': "
            "write migrations=(item,)",
        ),
        (
            {"bootstrap": bootstrap(None)},
            "alpha: bootstrap must be the function that builds the ports from the "
            "Infrastructure, got a NoneType",
        ),
        (
            {"topology": alpha.TOPOLOGY.services},
            "SubsystemApp's topology must be a Subsystem, got a tuple: "
            "SubsystemApp(TOPOLOGY, bootstrap, ...)",
        ),
    ],
)
def test_a_subsystem_app_of_the_wrong_shape_is_refused_with_the_fix(arguments, message):
    arguments = {"topology": alpha.TOPOLOGY, "bootstrap": bootstrap, **arguments}
    with pytest.raises(TopologyError) as info:
        SubsystemApp(**arguments)
    assert message in str(info.value)


def test_a_missing_setting_says_how_each_runtime_is_given_it():
    infra = Infrastructure("rating", InMemoryDocumentStore(), ManualClock(0), settings={})
    with pytest.raises(KeyError) as info:
        infra.setting("PARTNER_URL")
    assert info.value.args[0] == (
        "rating needs the setting FOODDELIVERY_PARTNER_URL (in the environment; in process, "
        "EmbeddedSystem(settings={'PARTNER_URL': ...}))"
    )
