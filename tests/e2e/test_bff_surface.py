"""Every BFF found in the topology: an OpenAPI document, health, no way in without a token."""

from __future__ import annotations

import re

import pytest

from scenario.stack import EmbeddedStack
from shared.system import load_subsystems
from shared.topology.model import Endpoint, ServiceKind

BFFS = [
    (app, service, fn)
    for app in load_subsystems()
    for service, fn in app.topology.endpoints()
    if service.kind is ServiceKind.BFF
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    return EmbeddedStack(dev_key=tmp_path_factory.mktemp("key") / "dev-key.pem")


def test_every_subsystem_with_an_actor_has_bffs():
    assert {app.name for app, _, _ in BFFS} == {"customer", "restaurant", "delivery"}


@pytest.mark.parametrize(("app", "service", "fn"), BFFS, ids=lambda v: getattr(v, "name", ""))
def test_a_bff_documents_its_api_and_lets_nobody_in_without_a_token(stack, app, service, fn):
    assert isinstance(fn, Endpoint)
    client = stack.system.serve(app.name, fn.target(service)).test_client()
    assert client.get("/healthz").status_code == 200
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["security"] == [{"bearer": []}]
    operations = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    ]
    assert operations, f"{service.name} documents no operation"
    for method, path in operations:
        concrete = re.sub(r"{\w+}", "x-1", path)
        answer = client.open(concrete, method=method, json={})
        assert answer.status_code == 401, f"{method} {path} answered {answer.status_code}"
        assert "Authorization" in answer.get_json()["error"]
        assert "401" in document["paths"][path][method.lower()]["responses"]
