"""The subsystem's entry points: one functions-framework target per function; the bootstrap."""

from __future__ import annotations

import inspect

import flask
import pytest

import order.main
from order.ports import bootstrap
from order.pos_esg.client import HttpPointOfSale, PosLine, PosOrder
from order.topology import TOPOLOGY
from shared import id_tokens
from shared.clock import ManualClock
from shared.http import WsgiTransport
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
        "customer": {"customer.order-placed", "customer.order-cancel-requested"},
        "restaurant": {
            "restaurant.order-accepted",
            "restaurant.order-rejected",
            "restaurant.order-ready",
            "restaurant.restaurant-updated",
        },
        "delivery": {"delivery.delivery-status-changed"},
    }


SETTINGS = {
    "POS_URL": "http://pos.test",
    "POS_CALLBACK_URL": "https://order.example",
    "POS_WEBHOOK_SECRET": "s",
    "POS_API_KEY": "pos-key",
}
TOKEN_FOR = {"https://pos.run.app": "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.sig"}


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
    assert ports.pos_callback_url == "https://order.example"
    assert ports.pos_webhook_secret.reveal() == "s"


def test_with_an_audience_the_point_of_sale_is_called_with_an_id_token_beside_its_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cloud Run checks the ID token in ``X-Serverless-Authorization`` and hands
    ``Authorization``, the point of sale's own API key, on to it."""
    monkeypatch.setattr(id_tokens, "fetch_google_id_token", TOKEN_FOR.__getitem__)
    pos = flask.Flask("private-pos")
    seen: list[tuple[str | None, str | None]] = []

    @pos.post("/orders")
    def submit() -> tuple[dict[str, str], int]:
        headers = flask.request.headers
        seen.append((headers.get("Authorization"), headers.get("X-Serverless-Authorization")))
        return {}, 201

    for audience in ({}, {"POS_AUDIENCE": "https://pos.run.app"}):
        ports = bootstrap(
            Infrastructure(
                "order",
                InMemoryDocumentStore(),
                ManualClock(),
                settings={**SETTINGS, **audience},
                transports={"http://pos.test": WsgiTransport(pos)},
            )
        )
        ports.pos.submit(PosOrder("o-1", "r-1", (PosLine("Margherita", 1),), "https://cb"))

    assert seen == [
        ("Bearer pos-key", None),
        ("Bearer pos-key", f"Bearer {TOKEN_FOR['https://pos.run.app']}"),
    ]


def test_bootstrap_names_a_missing_setting() -> None:
    with pytest.raises(KeyError, match="FOODDELIVERY_POS_CALLBACK_URL"):
        bootstrap(infra(POS_URL="http://pos.test"))


def test_a_secret_is_read_only_when_used_and_a_missing_one_says_how_to_get_it() -> None:
    ports = bootstrap(infra(POS_URL="http://pos.test", POS_CALLBACK_URL="http://order.test"))

    with pytest.raises(KeyError, match=r"FOODDELIVERY_POS_WEBHOOK_SECRET: declare it in"):
        ports.pos_webhook_secret.reveal()
