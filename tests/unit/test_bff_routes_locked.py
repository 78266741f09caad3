"""Every route every BFF's Flask app serves, found in the app itself (not in its OpenAPI
document, which lists only what the kit declared): none but ``/healthz`` and
``/openapi.json`` answers without a bearer token, ``HEAD`` included; ``OPTIONS`` tells no
more than the methods the OpenAPI document lists; and every answer is marked private."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scenario.stack import EmbeddedStack
from shared.api import ANSWER_HEADERS
from shared.auth import Principal
from shared.system import load_subsystems
from shared.topology.model import ServiceKind

if TYPE_CHECKING:
    import flask
    from werkzeug.test import TestResponse

BFFS = [
    (app.name, fn.target(service))
    for app in load_subsystems()
    for service, fn in app.topology.endpoints()
    if service.kind is ServiceKind.BFF
]
OPEN = {"/healthz", "/openapi.json"}
"""The only paths a caller without a token may read."""
CALLERS = {
    "customer": Principal("customer", "alice"),
    "restaurant": Principal("staff", "sam", "r-1"),
    "delivery": Principal("driver", "dan"),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStack:
    return EmbeddedStack(dev_key=tmp_path_factory.mktemp("key") / "dev-key.pem")


def served(stack: EmbeddedStack, subsystem: str, target: str) -> flask.Flask:
    app: flask.Flask = stack.system.serve(subsystem, target)
    return app


def requests(app: flask.Flask) -> list[tuple[str, str, str]]:
    """``(method, rule, concrete path)`` of every method of every rule the app serves but
    ``OPTIONS``; a path parameter is filled with an id that names nothing."""
    found = []
    for rule in app.url_map.iter_rules():
        concrete = rule.rule
        for name in rule.arguments:
            concrete = concrete.replace(f"<{name}>", "x-1")
        for method in sorted((rule.methods or set()) - {"OPTIONS"}):
            found.append((method, rule.rule, concrete))
    return found


def private(answer: TestResponse) -> bool:
    return all(answer.headers.get(name) == value for name, value in ANSWER_HEADERS.items())


def test_every_bff_is_found() -> None:
    assert {subsystem for subsystem, _ in BFFS} == {"customer", "restaurant", "delivery"}
    assert len(BFFS) >= 7


@pytest.mark.parametrize(("subsystem", "target"), BFFS)
def test_a_bff_serves_its_documented_routes_and_nothing_else(
    stack: EmbeddedStack, subsystem: str, target: str
) -> None:
    app = served(stack, subsystem, target)
    document = app.test_client().get("/openapi.json").get_json()
    documented = {
        (method.upper(), path.replace("{", "<").replace("}", ">"))
        for path, item in document["paths"].items()
        for method in item
    }

    routes = {(method, rule) for method, rule, _ in requests(app) if method != "HEAD"}

    assert routes == documented | {("GET", path) for path in OPEN}


@pytest.mark.parametrize(("subsystem", "target"), BFFS)
def test_no_route_but_health_and_the_document_answers_without_a_token(
    stack: EmbeddedStack, subsystem: str, target: str
) -> None:
    client = served(stack, subsystem, target).test_client()
    reached = []
    for method, rule, path in requests(served(stack, subsystem, target)):
        if rule in OPEN:
            continue
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            answer = client.open(path, method=method, json={}, headers=headers)
            if answer.status_code != 401 or "WWW-Authenticate" not in answer.headers:
                reached.append(f"{method} {path} {headers}: {answer.status_code}")
    assert reached == []


@pytest.mark.parametrize(("subsystem", "target"), BFFS)
def test_options_answers_the_allowed_methods_only(
    stack: EmbeddedStack, subsystem: str, target: str
) -> None:
    app = served(stack, subsystem, target)
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<", "").replace(">", "")

        answer = client.options(path, headers={"Origin": "https://evil.example"})

        assert answer.status_code == 200
        assert answer.data == b""
        assert set(answer.headers["Allow"].split(", ")) == _methods_at(app, rule.rule)
        assert not [h for h, _ in answer.headers if h.lower().startswith("access-control-")]
        assert private(answer)


def _methods_at(app: flask.Flask, path: str) -> set[str]:
    """The methods of every rule of ``path`` (``GET /me`` and ``PUT /me``)."""
    return {m for r in app.url_map.iter_rules() if r.rule == path for m in r.methods or ()}


@pytest.mark.parametrize(("subsystem", "target"), BFFS)
def test_every_answer_of_a_bff_is_private_and_documented_so(
    stack: EmbeddedStack, subsystem: str, target: str
) -> None:
    app = served(stack, subsystem, target)
    client = app.test_client()
    caller = {"Authorization": "Bearer " + stack.issuer.mint(CALLERS[subsystem])}
    document = client.get("/openapi.json").get_json()
    for method, _, path in requests(app):
        for headers in ({}, caller):
            answer = client.open(path, method=method, headers=headers)
            assert private(answer), f"{method} {path} {headers}: {dict(answer.headers)}"
            assert answer.headers.get("Server") is None
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                assert set(ANSWER_HEADERS) <= set(response["headers"]), status


def test_a_bff_serves_no_static_file_of_its_directory(
    stack: EmbeddedStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "dev-key.pem").write_text("a key")
    monkeypatch.chdir(tmp_path)
    for subsystem, target in BFFS:
        client = served(stack, subsystem, target).test_client()

        answer = client.get("/static/dev-key.pem")

        assert answer.status_code == 404, target
        assert b"a key" not in answer.data
