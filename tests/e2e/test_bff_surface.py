"""Every BFF found in the topology: a well-formed OpenAPI document with its docstrings as prose,
health, no way in without a token."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

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


ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`")
"""A reStructuredText role (``:class:`~x.Y```): Python-side markup, never published."""


def document_of(stack, app, service, fn) -> dict:
    return (
        stack.system.serve(app.name, fn.target(service))
        .test_client()
        .get("/openapi.json")
        .get_json()
    )


def texts(node) -> list[str]:
    """Every string in a JSON document, keys included."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in [key, *texts(value)]]
    if isinstance(node, list):
        return [text for value in node for text in texts(value)]
    return [node] if isinstance(node, str) else []


def refs(node) -> list[str]:
    if isinstance(node, dict):
        return [*([node["$ref"]] if "$ref" in node else []), *refs(list(node.values()))]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


@pytest.mark.parametrize(("app", "service", "fn"), BFFS, ids=lambda v: getattr(v, "name", ""))
def test_a_bff_document_is_well_formed(stack, app, service, fn):
    document = document_of(stack, app, service, fn)
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)  # OpenAPI 3.1's default schema dialect
        assert schema.get("description"), f"{name} is not documented"
    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in schemas, f"{ref} is dangling"
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len({op["operationId"] for op in operations}) == len(operations)
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert op["summary"] and "Callers: " in op["description"], f"{method} {path}"
            assert all(r["description"] for r in op["responses"].values()), f"{method} {path}"
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), f"{method} {path}"


@pytest.mark.parametrize(("app", "service", "fn"), BFFS, ids=lambda v: getattr(v, "name", ""))
def test_a_bff_document_is_prose_without_restructured_text(stack, app, service, fn):
    for text in texts(document_of(stack, app, service, fn)):
        assert "``" not in text and not ROLE.search(text), text


def test_field_and_handler_docstrings_reach_the_documents(stack):
    bffs = {service.name: (app, service, fn) for app, service, fn in BFFS}
    tracking = document_of(stack, *bffs["tracking-bff"])
    push_topic = tracking["components"]["schemas"]["Tracking"]["properties"]["pushTopic"]
    assert push_topic["description"].startswith(
        "The push topic of this order's notifications (the order's `customerRef`): the "
        "customer's app subscribes to it at the push provider."
    )
    get_order = tracking["paths"]["/orders/{order_id}"]["get"]
    assert get_order["summary"] == "Where one of the caller's orders stands."
    assert get_order["description"].startswith(
        "Tracking hears of an order from whichever of checkout's events comes first "
        "(normally `order-submitted`): for a second or so after checkout answers"
    )
    assert get_order["description"].endswith("\n\nCallers: customer.")

    browse = document_of(stack, *bffs["browse-bff"])
    parameters = browse["paths"]["/restaurants"]["get"]["parameters"]
    delivers_to = next(p for p in parameters if p["name"] == "deliversTo")
    assert delivers_to["description"] == "`<lat>,<lng>`: only restaurants that deliver there."


@pytest.mark.parametrize(("app", "service", "fn"), BFFS, ids=lambda v: getattr(v, "name", ""))
def test_every_field_and_query_parameter_of_a_bff_says_what_it_is(stack, app, service, fn):
    """An app developer builds against the document alone: every property of every schema
    (the kit's ``Error`` included) and every query parameter has a description."""
    document = document_of(stack, app, service, fn)
    undocumented = [
        f"{name}.{prop}"
        for name, schema in document["components"]["schemas"].items()
        for prop, spec in schema.get("properties", {}).items()
        if not spec.get("description", "").strip()
    ]
    undocumented += [
        f"{method.upper()} {path} ?{parameter['name']}"
        for path, item in document["paths"].items()
        for method, op in item.items()
        for parameter in op["parameters"]
        if parameter["in"] == "query" and not parameter.get("description", "").strip()
    ]
    assert not undocumented, f"{service.name} leaves undocumented: {', '.join(undocumented)}"
