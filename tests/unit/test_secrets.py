"""Secrets are read on first use, and a running function may read only those it declares."""

from __future__ import annotations

import flask
import pytest

from shared.clock import ManualClock
from shared.runtime.app import Infrastructure, SubsystemApp
from shared.runtime.embedded import EmbeddedSystem
from shared.runtime.functions import FunctionHost
from shared.runtime.secrets import Secret, secrets_scope, serve_endpoint
from shared.settings import Settings
from shared.stores.memory import InMemoryDocumentStore
from shared.topology.model import Endpoint, Role, Subsystem

KEY = Secret("API_KEY", "customer", {"API_KEY": "k-1", "OTHER_KEY": "k-2"})


def test_outside_any_function_a_secret_reads_as_set() -> None:
    assert KEY.reveal() == "k-1"


def test_a_function_reads_a_secret_it_declares() -> None:
    with secrets_scope("customer/payment-esg/processor", ("API_KEY",)):
        assert KEY.reveal() == "k-1"


def test_a_function_that_does_not_declare_a_secret_is_told_what_to_declare() -> None:
    with (
        secrets_scope("customer/payment-esg/processor", ("OTHER_KEY",)),
        pytest.raises(KeyError, match=r"processor reads the secret API_KEY but does not declare"),
    ):
        KEY.reveal()
    assert KEY.reveal() == "k-1"  # the scope ended with the block


def test_a_missing_secret_names_its_environment_variable() -> None:
    with pytest.raises(KeyError, match="FOODDELIVERY_API_KEY"):
        Secret("API_KEY", "customer", {}).reveal()


def test_a_declared_secret_without_a_value_says_to_give_it_one_not_to_declare_it() -> None:
    with (
        secrets_scope("customer/payment-esg/processor", ("API_KEY",)),
        pytest.raises(KeyError) as raised,
    ):
        Secret("API_KEY", "customer", {}).reveal()
    said = str(raised.value)
    assert "processor declares the secret API_KEY, but FOODDELIVERY_API_KEY is not set" in said
    assert "declare it in" not in said


def test_an_endpoint_serves_each_request_within_its_declared_secrets() -> None:
    def app(_ports: object) -> flask.Flask:
        web = flask.Flask("keys")

        @web.get("/<name>")
        def reveal(name: str) -> str:
            return Secret(name, "order", {"API_KEY": "k-1", "OTHER_KEY": "k-2"}).reveal()

        return web

    served = serve_endpoint(
        Endpoint("webhook", Role.API, app=app, secrets=("API_KEY",)), None, "order/pos-esg/webhook"
    )
    served.testing = True
    client = served.test_client()

    assert client.get("/API_KEY").text == "k-1"
    with pytest.raises(KeyError, match="webhook reads the secret OTHER_KEY but does not declare"):
        client.get("/OTHER_KEY")


def test_no_repr_shows_a_secret_value() -> None:
    settings = {"API_KEY": "k-1"}
    infra = Infrastructure("customer", InMemoryDocumentStore(), ManualClock(), "dev", settings)
    assert "k-1" not in repr(infra)
    assert "k-1" not in repr(infra.secret("API_KEY"))
    assert infra.secret("API_KEY").reveal() == "k-1"
    loaded = Settings.from_env({"FOODDELIVERY_API_KEY": "k-1"})
    assert loaded.extra["API_KEY"] == "k-1"
    assert "k-1" not in repr(loaded)


def _eager_app() -> SubsystemApp[object]:
    """A subsystem whose bootstrap reads a secret up front, as it must not."""

    def eager(infra: Infrastructure) -> object:
        return infra.secret("API_KEY").reveal()

    return SubsystemApp(Subsystem("eager", ()), eager)


def test_a_bootstrap_that_reads_a_secret_up_front_fails_locally_as_on_google_cloud() -> None:
    """On Google Cloud only the functions that declare a secret get it, and a bootstrap runs
    in every function; locally one bootstrap serves them all, so it may reveal none."""
    app = _eager_app()
    with pytest.raises(KeyError, match=r"eager's bootstrap reads the secret API_KEY.*infra.secret"):
        EmbeddedSystem([app], settings={"API_KEY": "k-1"})
    host = FunctionHost(app, Settings(mode="memory", extra={"API_KEY": "k-1"}))
    with (
        secrets_scope("eager/some-esg/egress", ("API_KEY",)),  # the first function to run
        pytest.raises(KeyError, match="eager's bootstrap reads the secret API_KEY"),
    ):
        host.infrastructure()
