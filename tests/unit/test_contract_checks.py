"""The topology checks that tie egress and ingress functions to the published contracts."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pytest

from shared.contracts import Contract, Id
from shared.exceptions import TopologyError
from shared.hub.routing import Rule, Selection, on_prefixes, on_types
from shared.system import load_subsystems
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Subsystem, Topic
from shared.topology.checks import UNKNOWN_SUBSYSTEM_HINT, check_contracts, check_system


def noop(event, ctx):
    return None


def producer(*publishes: str) -> Subsystem:
    egress = Consumer(
        "egress", Role.EGRESS, Channel(on_types("x")), handlers=(noop,), publishes=publishes
    )
    return Subsystem("alpha", (Service("out-esg", ServiceKind.ESG, (egress,)),))


def consumer(**tags: str) -> Subsystem:
    return consumer_of(on_types("alpha.thing-happened", **tags))


def consumer_of(rule: Selection) -> Subsystem:
    """Subsystem beta, whose one ingress reads alpha's external topic by ``rule``."""
    ingress = Consumer(
        "ingress",
        Role.INGRESS,
        Channel(rule, topic=Topic.EXTERNAL, subsystem="alpha"),
        handlers=(noop,),
    )
    return Subsystem("beta", (Service("in-esg", ServiceKind.ESG, (ingress,)),))


def test_the_domain_is_consistent_with_its_contracts():
    apps = load_subsystems()
    contracts = {app.name: app.published for app in apps}
    assert check_system(tuple(app.topology for app in apps), contracts) == []
    assert ("order.order-status-changed", 2) in contracts["order"]


def test_an_egress_type_without_a_contract_is_refused():
    assert check_contracts(producer("alpha.thing-happened"), set()) == [
        "alpha publishes 'alpha.thing-happened' from an egress but has no contract for it"
    ]


def test_a_contract_no_egress_publishes_is_refused():
    assert check_contracts(producer(), {("alpha.thing-happened", 1)}) == [
        "alpha has a contract for 'alpha.thing-happened' but no egress publishes it"
    ]


def test_an_external_type_must_carry_its_subsystems_namespace():
    assert check_contracts(producer("thing-happened"), {("thing-happened", 1)}) == [
        "alpha's external type 'thing-happened' must start with 'alpha.'"
    ]


def test_an_external_type_is_published_by_one_egress_only():
    def egress(name: str) -> Consumer:
        return Consumer(
            name,
            Role.EGRESS,
            Channel(on_types("x")),
            handlers=(noop,),
            publishes=("alpha.thing-happened",),
        )

    two = Subsystem("alpha", (Service("out-esg", ServiceKind.ESG, (egress("a"), egress("b"))),))
    assert check_contracts(two, {("alpha.thing-happened", 1)}) == [
        "alpha publishes 'alpha.thing-happened' from 2 egress functions (alpha/out-esg/a, "
        "alpha/out-esg/b): one egress owns each external type, so that its versions, ids and "
        "ordering keys come from one place"
    ]


def test_an_ingress_must_read_a_published_version():
    system = (producer("alpha.thing-happened"), consumer(schemaVersion="3"))
    contracts = {"alpha": {("alpha.thing-happened", 1)}}
    assert check_system(system, contracts) == [
        "beta/in-esg/ingress reads alpha.thing-happened v3, which is not published"
    ]


def test_an_ingress_must_choose_a_version_even_while_there_is_one():
    contracts = {"alpha": {("alpha.thing-happened", 1)}}
    untagged = (producer("alpha.thing-happened"), consumer())
    assert check_system(untagged, contracts) == [
        "beta/in-esg/ingress selects no version: add the routing tag schemaVersion "
        "(a deployed subscription's filter cannot change later)"
    ]
    contracts["alpha"].add(("alpha.thing-happened", 2))
    tagged = (producer("alpha.thing-happened"), consumer(schemaVersion="1"))
    assert check_system(tagged, contracts) == []


def test_each_alternative_of_an_ingress_chooses_a_published_version():
    contracts = {"alpha": {("alpha.thing-happened", 1), ("alpha.thing-happened", 2)}}
    rule = on_types("alpha.thing-happened", schemaVersion=("1", "2", "3")) | on_types(
        "alpha.thing-happened", kind="x"
    )
    reader = consumer_of(rule)
    assert check_system((producer("alpha.thing-happened"), reader), contracts) == [
        "beta/in-esg/ingress reads alpha.thing-happened v3, which is not published",
        "beta/in-esg/ingress selects no version: add the routing tag schemaVersion "
        "(a deployed subscription's filter cannot change later)",
    ]


def test_without_contracts_only_the_producers_are_checked():
    assert check_system((producer("alpha.thing-happened"), consumer(schemaVersion="9"))) == []


def test_loading_the_system_refuses_an_egress_without_a_contract(monkeypatch):
    from dataclasses import replace

    import shared.system as system

    apps = {app.name: app for app in load_subsystems()}
    broken = replace(apps["delivery"], contracts=())

    class EntryPoint:
        name, value = "delivery", "delivery.topology:APP"

        def load(self):
            return broken

    monkeypatch.setattr(system, "entry_points", lambda group: [EntryPoint()])
    with pytest.raises(TopologyError, match="has no contract for it"):
        system.load_subsystems()


def test_loading_the_system_refuses_an_entry_point_named_otherwise_than_its_subsystem(
    monkeypatch,
):
    # Deploying finds a subsystem's files and projects by the entry point's name: it crashed
    # with a KeyError for `points = "loyalty.topology:APP"`.
    import shared.system as system

    delivery = next(app for app in load_subsystems() if app.name == "delivery")

    class EntryPoint:
        name, value = "drivers", "delivery.topology:APP"

        def load(self):
            return delivery

    monkeypatch.setattr(system, "entry_points", lambda group: [EntryPoint()])
    with pytest.raises(TopologyError) as refused:
        system.load_subsystems()
    assert str(refused.value) == (
        "entry point drivers = delivery.topology:APP names subsystem 'delivery': name the "
        "entry point 'delivery', as its subsystem is named"
    )


def test_two_subsystems_of_one_name_are_refused_before_anything_else() -> None:
    from shared.system import checked

    apps = load_subsystems()
    twin = next(app for app in apps if app.name == "order")
    with pytest.raises(TopologyError, match=r"^two subsystems are named 'order'$"):
        checked([*apps, twin])


@pytest.mark.parametrize(
    ("key", "field"),
    [("orderId", "order_id: Id"), ("order_id", "order_id: Id | None = None"), ("n", "n: int")],
    ids=["wire-name", "optional", "not-a-string"],
)
def test_a_contract_must_be_keyed_by_a_required_string_field(key: str, field: str) -> None:
    source = (
        "class Keyed(Contract):\n"
        "    TYPE: ClassVar[str] = 'test.keyed'\n"
        "    ENTITY: ClassVar[str] = 'keyed'\n"
        f"    PARTITION_KEY: ClassVar[str] = {key!r}\n"
        f"    {field}\n"
    )
    with pytest.raises(TypeError, match=f"PARTITION_KEY = '{key}' must name a required str"):
        exec(source, {"Contract": Contract, "ClassVar": ClassVar, "Id": Id})


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("TYPE", "'order.Order_Placed'", "TYPE = 'order.Order_Placed' must be lower-case words"),
        ("VERSION", "0", "VERSION = 0 must be a major version"),
        ("VERSION", "True", "VERSION = True must be a major version"),
        ("ENTITY", "'order-line'", "ENTITY = 'order-line' must be a camelCase name"),
        ("ENTITY", "'tags'", "ENTITY = 'tags' is an envelope field of its own"),
    ],
    ids=["type", "version-0", "version-bool", "entity", "entity-reserved"],
)
def test_a_contracts_identity_is_one_the_envelope_and_the_schema_file_can_carry(
    name: str, value: str, problem: str
) -> None:
    """Else the catalog writes a schema file the compatibility gate never reads."""
    identity = {"TYPE": "'test.keyed'", "ENTITY": "'keyed'", "VERSION": "1", name: value}
    source = (
        "class Keyed(Contract):\n"
        + "".join(f"    {k}: ClassVar[Any] = {v}\n" for k, v in identity.items())
        + "    id: Id\n"
    )

    with pytest.raises(TypeError, match=re.escape(problem)):
        exec(source, {"Contract": Contract, "ClassVar": ClassVar, "Any": Any, "Id": Id})


@pytest.mark.parametrize(
    ("attribute", "problem"),
    [("note", "not a required field"), ("type", "is an envelope attribute")],
)
def test_a_contracts_attributes_are_required_fields_named_apart_from_the_envelope(
    attribute: str, problem: str
) -> None:
    source = (
        "class Attributed(Contract):\n"
        "    TYPE: ClassVar[str] = 'test.attributed'\n"
        "    ENTITY: ClassVar[str] = 'thing'\n"
        f"    ATTRIBUTES: ClassVar[tuple[str, ...]] = ({attribute!r},)\n"
        "    id: str\n"
        "    type: str\n"
        "    note: str | None = None\n"
    )
    with pytest.raises(TypeError, match=problem):
        exec(source, {"Contract": Contract, "ClassVar": ClassVar, "Id": Id})


def test_an_ingress_may_filter_only_on_attributes_its_producers_contract_publishes():
    from order.contracts import OrderStatusChanged, OrderStatusChangedV2
    from shared.topology.checks import check_attributes

    order_status = "order.order-status-changed"
    reader = consumer_of(
        on_types(order_status, schemaVersion="1", status="placed")
        | on_types(order_status, schemaVersion="2", ordering="pos")
    )
    assert check_attributes((reader,), {"alpha": (OrderStatusChanged, OrderStatusChangedV2)}) == [
        "beta/in-esg/ingress filters order.order-status-changed v2 on 'ordering', which its "
        "contract does not publish as an attribute"
    ]


def test_an_ingress_selecting_types_by_prefix_is_refused_naming_the_types_to_write():
    # A prefix also selects the types its producer adds later, which the ingress has no
    # reader for; it passed every check, since they compare only the types a rule names.
    system = (
        producer("alpha.thing-happened", "alpha.thing-undone"),
        consumer_of(on_prefixes("alpha.thing-", schemaVersion="2")),
    )
    contracts = {"alpha": {("alpha.thing-happened", 2), ("alpha.thing-undone", 2)}}
    assert check_system(system, contracts) == [
        "beta/in-esg/ingress selects types by prefix 'alpha.thing-': an ingress must name "
        "each type it has a reader for, e.g. on_types('alpha.thing-happened', "
        "'alpha.thing-undone', schemaVersion='2')"
    ]


def test_an_ingress_prefix_that_matches_no_published_type_is_refused():
    system = (producer("alpha.thing-happened"), consumer_of(on_prefixes("alpha.other-")))
    assert check_system(system) == [
        "beta/in-esg/ingress selects types by prefix 'alpha.other-', and no type alpha "
        "publishes starts with it: an ingress must name each type it has a reader for with "
        "on_types(...)"
    ]


def test_an_ingress_prefix_on_an_unknown_subsystem_is_refused_without_guessing_its_types():
    ingress = Consumer(
        "ingress",
        Role.INGRESS,
        Channel(on_prefixes("ghost."), topic=Topic.EXTERNAL, subsystem="ghost"),
        handlers=(noop,),
    )
    reader = Subsystem("beta", (Service("in-esg", ServiceKind.ESG, (ingress,)),))
    assert check_system((producer(), reader)) == [
        f"beta reads unknown subsystem 'ghost' (known: alpha, beta): {UNKNOWN_SUBSYSTEM_HINT}",
        "beta/in-esg/ingress selects types by prefix 'ghost.': an ingress must name each "
        "type it has a reader for with on_types(...)",
    ]


def test_an_ingress_rule_of_every_type_is_refused_in_any_alternative():
    rule = on_types("alpha.thing-happened", schemaVersion="1") | Rule(
        tags={"schemaVersion": "1", "status": frozenset({"a", "b"})}
    )
    system = (producer("alpha.thing-happened"), consumer_of(rule))
    assert check_system(system) == [
        "beta/in-esg/ingress selects every type: an ingress must name each type it has a "
        "reader for, e.g. on_types('alpha.thing-happened', schemaVersion='1', "
        "status=('a', 'b'))"
    ]


def test_loading_the_system_refuses_an_ingress_selecting_by_prefix() -> None:
    from dataclasses import replace

    from shared.system import checked

    apps = {app.name: app for app in load_subsystems()}
    delivery = apps["delivery"]
    [esg] = [s for s in delivery.topology.services if s.name == "order-esg"]
    [ingress] = [f for f in esg.functions if f.name == "ingress"]
    assert isinstance(ingress, Consumer)
    by_prefix = replace(ingress, channel=replace(ingress.channel, rule=on_prefixes("order.")))
    services = tuple(
        replace(s, functions=tuple(by_prefix if f is ingress else f for f in s.functions))
        if s is esg
        else s
        for s in delivery.topology.services
    )
    apps["delivery"] = replace(delivery, topology=replace(delivery.topology, services=services))
    with pytest.raises(TopologyError, match=r"delivery/order-esg/ingress selects types by prefix"):
        checked(list(apps.values()))


@pytest.mark.parametrize(("written", "meant"), [("v2", "2"), ("02", "2")])
def test_an_ingress_version_written_otherwise_than_producers_tag_it_is_refused(
    written: str, meant: str
) -> None:
    # Producers tag schemaVersion=str(VERSION): "v2" read "reads alpha.thing-happened vv2",
    # and "02" passed the check though its filter matches no event.
    system = (producer("alpha.thing-happened"), consumer(schemaVersion=written))
    contracts = {"alpha": {("alpha.thing-happened", 2)}}
    assert check_system(system, contracts) == [
        f"beta/in-esg/ingress selects schemaVersion={written!r}, which no event carries: "
        f"the tag is the major version's number, e.g. schemaVersion={meant!r}"
    ]
