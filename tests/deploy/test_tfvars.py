"""The generated Terraform inputs: fresh, deterministic, and refusing what GCP cannot hold."""

from __future__ import annotations

import json

import pytest

from shared import idempotency_keys
from shared.deploy import tfvars
from shared.deploy.command import environments
from shared.deploy.tfvars import DeployError
from shared.exceptions import TopologyError
from shared.hub.routing import on_types
from shared.topology.model import (
    Channel,
    Consumer,
    Index,
    Role,
    Schedule,
    Service,
    ServiceKind,
    Subsystem,
)


def test_committed_tfvars_are_not_stale(generated):
    stale = tfvars.stale(generated, environments())
    assert stale == [], "run `fooddelivery tfvars` and commit the result"


def test_stale_detects_a_changed_or_missing_file(generated, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    tfvars.write(generated, [tmp_path / "a"])
    assert tfvars.stale(generated, [tmp_path / "a", tmp_path / "b"]) == [
        tmp_path / "b" / tfvars.TFVARS_NAME
    ]
    changed = json.loads((tmp_path / "a" / tfvars.TFVARS_NAME).read_text())
    changed["subsystems"]["order"]["functions"].pop("pos-esg-webhook")
    assert tfvars.stale(changed, [tmp_path / "a"]) == [tmp_path / "a" / tfvars.TFVARS_NAME]


def test_rendering_is_deterministic(topologies):
    subsystems = list(topologies.values())
    assert tfvars.to_json(tfvars.render(subsystems)) == tfvars.to_json(
        tfvars.render(list(reversed(subsystems)))
    )


def test_functions_get_only_the_topics_they_publish_to(generated):
    customer = generated["subsystems"]["customer"]["functions"]
    assert customer["browse-bff-api"]["publishes_to"] == []  # APIs write documents only
    assert customer["order-esg-egress"]["publishes_to"] == ["bus", "external", "faults"]
    assert customer["browse-bff-listener"]["publishes_to"] == ["bus", "faults"]
    assert customer[tfvars.FAULT_RECORDER]["publishes_to"] == []
    assert customer["order-esg-ingress"]["subscription"]["producer"] == "order"


def test_declared_indexes_reach_their_subsystem(generated):
    indexes = generated["subsystems"]["order"]["firestore_indexes"]
    assert {
        "collection": "orders",
        "fields": [
            {"field_path": "status", "order": "ASCENDING"},
            {"field_path": "changedAt", "order": "ASCENDING"},
        ],
    } in indexes
    restaurant = generated["subsystems"]["restaurant"]["firestore_indexes"]
    assert {i["collection"] for i in restaurant} == {"tickets", "faults"}  # faults: the kit's
    customer = generated["subsystems"]["customer"]["firestore_indexes"]
    assert {
        "collection": "tracking",
        "fields": [
            {"field_path": "customerId", "order": "ASCENDING"},
            {"field_path": "createdAt", "order": "DESCENDING"},
        ],
    } in customer


@pytest.mark.parametrize(
    ("every_s", "cron"),
    [
        (60, "* * * * *"),
        (300, "*/5 * * * *"),
        (3600, "0 * * * *"),
        (21600, "0 */6 * * *"),
        (86400, "0 0 * * *"),
    ],
)
def test_schedules_become_cron(every_s, cron):
    assert tfvars.cron(every_s) == cron


@pytest.mark.parametrize("every_s", [0, 30, 90, 420, 25200])
def test_periods_cron_cannot_express_are_refused(every_s):
    with pytest.raises(DeployError, match=f"every_s={every_s}"):
        tfvars.cron(every_s)


def _tiny(service_name: str = "ticker", fn_name: str = "tick", indexes=()) -> Subsystem:
    return Subsystem(
        "tiny",
        (
            Service(
                service_name,
                ServiceKind.CONTROL,
                (
                    Schedule(fn_name, Role.TRIGGER, every_s=60, handlers=(lambda now, ctx: None,)),
                    Consumer(
                        "listener",
                        Role.LISTENER,
                        Channel(on_types("x-happened")),
                        handlers=(lambda e, ctx: None,),
                    ),
                ),
            ),
        ),
        indexes=indexes,
    )


def test_the_fault_recorder_name_is_reserved():
    with pytest.raises(DeployError, match="reserved"):
        tfvars.render([_tiny("faults", "recorder")])


def test_too_long_function_names_are_refused():
    with pytest.raises(DeployError, match="exceeds 63"):
        tfvars.render([_tiny("a" * 40, "b" * 30)])


def test_bad_index_declarations_are_refused():
    with pytest.raises(TopologyError, match="at least two fields"):
        _tiny(indexes=(Index("c", ("only",)),))
    with pytest.raises(TopologyError, match="'b up' must be 'name' or 'name desc'"):
        _tiny(indexes=(Index("c", ("a", "b up")),))


def test_every_subsystem_lets_firestore_expire_stored_idempotency_answers(generated):
    for name, subsystem in generated["subsystems"].items():
        if name in ("restaurant", "order"):
            continue  # they declare more, below
        assert subsystem["firestore_ttl_fields"] == [
            {"collection": "idempotency-keys", "field": "expireAt"}
        ], name


def test_a_subsystems_ttl_collections_get_a_ttl_policy_after_the_kits(generated):
    restaurant = generated["subsystems"]["restaurant"]["firestore_ttl_fields"]
    expiring = ("idempotency-keys", "order-esg-collected", "kitchen-left-to-pos", "tickets")
    assert restaurant == [{"collection": c, "field": "expireAt"} for c in expiring]
    order = generated["subsystems"]["order"]["firestore_ttl_fields"]
    expiring = ("idempotency-keys", "order-events", "pos-inbox")
    assert order == [{"collection": c, "field": "expireAt"} for c in expiring]


def test_a_subsystem_naming_the_kits_ttl_collection_gets_one_policy_for_it():
    # Terraform keys the TTL policies by collection and field: a repeated one stops the plan.
    tiny = Subsystem(
        "tiny", _tiny().services, ttl_collections=("carts", idempotency_keys.COLLECTION)
    )
    rendered = tfvars.render([tiny])["subsystems"]["tiny"]["firestore_ttl_fields"]
    assert rendered == [
        {"collection": idempotency_keys.COLLECTION, "field": "expireAt"},
        {"collection": "carts", "field": "expireAt"},
    ]


def test_an_index_or_ttl_collection_declared_twice_is_refused():
    with pytest.raises(TopologyError, match=r"index on 'c' \('a', 'b'\) is declared twice"):
        _tiny(indexes=(Index("c", ("a", "b")), Index("c", ("a", "b"))))
    _tiny(indexes=(Index("c", ("a", "b")), Index("c", ("a", "b desc"))))  # differ by direction
    with pytest.raises(TopologyError, match="ttl collection 'carts' is declared twice"):
        Subsystem("tiny", _tiny().services, ttl_collections=("carts", "carts"))
