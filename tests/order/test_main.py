"""The subsystem's entry points: one functions-framework target per function; the bootstrap."""

from __future__ import annotations

import inspect

import pytest

import order.main
from order.ports import bootstrap
from order.pos_esg.client import HttpPointOfSale
from order.topology import TOPOLOGY
from shared.clock import ManualClock
from shared.runtime.app import Infrastructure
from shared.stores import InMemoryDocumentStore


def test_main_exposes_exactly_one_target_per_function() -> None:
    expected = {fn.target(service) for service, fn in TOPOLOGY.functions()}
    exposed = {name for name, value in vars(order.main).items() if inspect.isfunction(value)}
    assert exposed == expected
    assert all(getattr(order.main, name).__name__ == name for name in expected)
    assert len(expected) == len(list(TOPOLOGY.functions())) == 11


def test_the_subsystem_reads_and_publishes_what_the_design_says() -> None:
    assert TOPOLOGY.publishes == {"order.order-status-changed"}
    assert TOPOLOGY.consumes() == {
        "customer": {"customer.order-placed"},
        "restaurant": {
            "restaurant.order-accepted",
            "restaurant.order-rejected",
            "restaurant.order-ready",
            "restaurant.restaurant-updated",
        },
        "delivery": {"delivery.delivery-status-changed"},
    }


def infra(**settings: str) -> Infrastructure:
    return Infrastructure("order", InMemoryDocumentStore(), ManualClock(), settings=settings)


def test_bootstrap_builds_the_ports_from_the_settings() -> None:
    ports = bootstrap(
        infra(
            POS_URL="http://pos.test",
            POS_CALLBACK_URL="https://order.example/",
            POS_WEBHOOK_SECRET="s",
        )
    )
    assert isinstance(ports.pos, HttpPointOfSale)
    assert (ports.pos_callback_url, ports.pos_webhook_secret) == ("https://order.example", "s")


def test_bootstrap_names_a_missing_setting() -> None:
    with pytest.raises(KeyError, match="FOODDELIVERY_POS_WEBHOOK_SECRET"):
        bootstrap(infra(POS_URL="http://pos.test", POS_CALLBACK_URL="http://order.test"))
