"""Declarations Google Cloud would refuse at apply, or run wrongly, fail at import instead."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import verifier_from
from shared.exceptions import TopologyError
from shared.hub.routing import on_types
from shared.topology import (
    Channel,
    Consumer,
    Endpoint,
    Index,
    Role,
    Schedule,
    Service,
    ServiceKind,
    Subsystem,
    Topic,
    Trigger,
)
from shared.topology.model import KIT_SETTINGS


def noop(*_):
    return None


def listener() -> Consumer:
    return Consumer("listener", Role.LISTENER, Channel(on_types("x")), handlers=(noop,))


def declare(*services: Service) -> str:
    """The problems of a subsystem made of ``services``, as its TopologyError says them."""
    with pytest.raises(TopologyError) as info:
        Subsystem("shop", services)
    return str(info.value)


def api(*secrets: str) -> Endpoint:
    return Endpoint("api", Role.API, app=noop, secrets=secrets)


def test_a_secret_declared_twice_is_refused():
    # Terraform maps each declared secret to an environment variable: a repeated one is a
    # duplicate map key, and the plan fails.
    problems = declare(Service("cart-bff", ServiceKind.BFF, (api("API_KEY", "API_KEY"),)))
    assert "function 'api': secret 'API_KEY' is declared twice" in problems


@pytest.mark.parametrize(
    "name", ["MODE", "ENV", "PROJECT", "AUTH", "DEV_KEY", "JWKS_URL", "PROJECT_ORDER"]
)
def test_a_secret_named_like_a_kit_setting_is_refused(name):
    problems = declare(Service("cart-bff", ServiceKind.BFF, (api(name),)))
    assert f"secret {name!r} is the kit's setting FOODDELIVERY_{name}" in problems


class Recording(dict[str, str]):
    """Settings that note every name read from them."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return super().get(name, default)


@pytest.mark.parametrize(
    "settings",
    [
        {"MODE": "gcp", "AUTH": "identity-platform", "IDENTITY_PROJECT": "idp"},
        {"MODE": "gcp", "AUTH": "local"},
        {},
    ],
)
def test_every_setting_the_verifier_reads_is_a_kit_setting(settings):
    # A function's secret of such a name would be taken for the kit's own setting (a
    # JWKS_URL secret would point the BFFs' token checks at whatever URL it holds).
    recording = Recording(settings)
    verifier_from(recording)
    assert recording.read and recording.read <= KIT_SETTINGS, recording.read - KIT_SETTINGS


def test_a_secret_of_its_own_name_is_accepted():
    Subsystem(
        "shop", (Service("cart-bff", ServiceKind.BFF, (api("PROJECTOR_KEY", "ENVOY_TOKEN"),)),)
    )


def test_a_consumers_subscription_id_cannot_start_with_goog():
    problems = declare(Service("google-maps-esg", ServiceKind.ESG, (egress(),)))
    assert "service 'google-maps-esg': name 'google-maps-esg' starts its consumers'" in problems
    # Without a consumer the service has no subscription, and the name is fine.
    Subsystem("shop", (Service("google-bff", ServiceKind.BFF, (api(),)),))


def egress() -> Consumer:
    return Consumer("egress", Role.EGRESS, Channel(on_types("x")), handlers=(noop,))


@pytest.mark.parametrize("every_s", [90, 420, 25_200])
def test_a_schedule_cron_cannot_express_fails_naming_the_function(every_s):
    tick = Schedule("tick", Role.TRIGGER, every_s=every_s, handlers=(noop,))
    problems = declare(Service("timer", ServiceKind.CONTROL, (tick, listener())))
    assert f"service 'timer': function 'tick': every_s={every_s} cannot be a cron" in problems


@pytest.mark.parametrize("topic", [Topic.BUS, Topic.EXTERNAL])
def test_an_ingress_names_the_subsystem_it_reads(topic):
    # Reading its own topics, its types would need no producer and no published version.
    ingress = Consumer(
        "ingress", Role.INGRESS, Channel(on_types("x.y"), topic=topic), handlers=(noop,)
    )
    problems = declare(Service("in-esg", ServiceKind.ESG, (ingress,)))
    assert "function 'ingress': an ingress reads another subsystem's 'external' topic" in problems


@pytest.mark.parametrize("collection", ["orders/items", "..", "__stats__"])
def test_a_trigger_index_or_ttl_collection_must_be_a_collection_id(collection):
    # The trigger's Eventarc pattern would be "<collection>/{document}": a path Firestore
    # refuses, or one matching documents of some other collection.
    watch = Trigger("trigger", Role.TRIGGER, collection=collection, handlers=(noop,))
    problems = declare(Service("cart-bff", ServiceKind.BFF, (watch,)))
    assert f"function 'trigger': collection {collection!r}" in problems
    service = Service("cart-bff", ServiceKind.BFF, (api(),))
    with pytest.raises(TopologyError, match=f"index on {collection!r}: collection"):
        Subsystem("shop", (service,), indexes=(Index(collection, ("a", "b")),))
    with pytest.raises(TopologyError, match=f"ttl collection {collection!r}: collection"):
        Subsystem("shop", (service,), ttl_collections=(collection,))
