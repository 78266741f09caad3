"""Every route of every BFF, read from its OpenAPI document, against hostile input.

Each route is called as an authorised actor of its kind with generated bodies
(random JSON, bytes that are not JSON, wrong content types, deep nesting, lone
surrogates), path parameters (``/``, ``%2F``, ``..``, ``__x__``, 2 KB), query
strings (repeated, unknown, huge parameters) and bodies drawn from the route's
own request schema with one field broken. Whatever it is sent, a BFF answers
below 500; a 4xx is a JSON body with an ``error`` message and leaves every
store as it was; and no subsystem records a fault. Examples are derandomised,
so a run is reproducible. Nothing here is expected to fail: a defect found is
fixed, not pinned as ``xfail``.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from scenario.stack import BFFS, EmbeddedStack
from shared.auth import Principal
from shared.system import load_subsystems
from shared.topology.model import ServiceKind
from tests.e2e.conftest import World

if TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse


TRATTORIA = "trattoria-roma"
IDENTITIES: dict[str, Principal] = {
    "customer": Principal("customer", "alice"),
    "staff": Principal("staff", f"sam-{TRATTORIA}", TRATTORIA),
    "driver": Principal("driver", "dan"),
}
"""Who calls a route, by the actor kind its document names; all seeded by :class:`Seeded`."""
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CALLERS = re.compile(r"Callers: ([a-z, ]+)\.$")
PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True, slots=True)
class Operation:
    """One route as its BFF's OpenAPI document describes it."""

    subsystem: str
    target: str
    method: str
    path: str
    actor: str
    query: tuple[str, ...]
    headers: tuple[str, ...]
    body: dict[str, Any] | None
    """The request body's JSON schema, its ``$ref`` resolvable within it (``None``: none)."""

    def __str__(self) -> str:
        return f"{self.target} {self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        """The path parameters, in order."""
        return PARAM.findall(self.path)

    def fields(self) -> list[str]:
        """The names of the body's top-level properties (none without a body)."""
        if self.body is None:
            return []
        name = self.body["$ref"].rsplit("/", 1)[-1]
        schema = self.body["components"]["schemas"][name]
        return list(schema.get("properties", {}))


def _operations_of(subsystem: str, target: str, document: dict[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            callers = CALLERS.search(op["description"])
            assert callers, f"{method} {path}: its description names no callers"
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            yield Operation(
                subsystem,
                target,
                method.upper(),
                path,
                callers.group(1).split(", ")[0],
                tuple(p["name"] for p in op["parameters"] if p["in"] == "query"),
                tuple(p["name"] for p in op["parameters"] if p["in"] == "header"),
                {**body["schema"], "components": document["components"]} if body else None,
            )


def _operations() -> list[Operation]:
    """Every operation of every BFF in the topology, from the documents the BFFs serve."""
    with tempfile.TemporaryDirectory() as tmp:
        stack = EmbeddedStack(dev_key=Path(tmp) / "dev-key.pem")
        return [
            operation
            for app in load_subsystems()
            for service, fn in app.topology.endpoints()
            if service.kind is ServiceKind.BFF
            for operation in _operations_of(
                app.name,
                fn.target(service),
                stack.system.serve(app.name, fn.target(service))
                .test_client()
                .get("/openapi.json")
                .get_json(),
            )
        ]


OPERATIONS = _operations()
WITH_PARAMS = [op for op in OPERATIONS if op.params]
WITH_BODY = [op for op in OPERATIONS if op.body is not None]


class Seeded:
    """The whole system embedded, with something behind each kind of id: three restaurants,
    Alice signed up with an order the kitchen took, and Dan offered its delivery."""

    def __init__(self, dev_key: Path) -> None:
        self.stack = EmbeddedStack(dev_key=dev_key)
        world = World(self.stack)
        dan = world.driver("dan")
        order_id = world.alice.order(TRATTORIA, [("margherita", 2)])
        self.stack.settle()
        world.staff[TRATTORIA].accept(order_id)
        self.stack.settle()
        [offer] = dan.offers()
        self.ids = {
            "restaurant_id": TRATTORIA,
            "order_id": order_id,
            "offer_id": offer["offerId"],
            "delivery_id": offer["deliveryId"],
        }
        self._clients: dict[tuple[str, str], FlaskClient] = {}

    def client(self, operation: Operation) -> FlaskClient:
        """A test client of the operation's BFF (one per BFF)."""
        key = (operation.subsystem, operation.target)
        if key not in self._clients:
            self._clients[key] = self.stack.system.serve(*key).test_client()
        return self._clients[key]

    def headers(self, operation: Operation) -> dict[str, str]:
        """The bearer token of the seeded identity of the operation's actor."""
        assert operation.actor in IDENTITIES, f"{operation}: no identity for {operation.actor}"
        token = self.stack.issuer.mint(IDENTITIES[operation.actor], ttl_s=6 * 3600)
        return {"Authorization": f"Bearer {token}"}

    def path(self, operation: Operation, **given: str) -> str:
        """The operation's path with the seeded ids, or the raw ``given`` text, in it."""
        return PARAM.sub(
            lambda m: given.get(m.group(1), self.ids.get(m.group(1), "x-1")), operation.path
        )

    def snapshot(self) -> dict[tuple[str, str, str], Any]:
        """Every stored document of every subsystem (the faults included)."""
        return {
            (subsystem, collection, key): doc
            for subsystem, store in self.stack.system.stores.items()
            for (collection, key), doc in store.snapshot().items()
        }

    def call(
        self,
        operation: Operation,
        path: str,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
        query: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send the request and check the answer, the stores and the faults."""
        before = self.snapshot()
        response = self.client(operation).open(
            path,
            method=operation.method,
            data=data,
            content_type=content_type,
            query_string=query,
            headers={**self.headers(operation), **(headers or {})},
        )
        self.stack.settle()
        check(operation, response, before, self.snapshot(), f"{path}?{query} {data!r:.300}")


def check(
    operation: Operation,
    response: TestResponse,
    before: dict[tuple[str, str, str], Any],
    after: dict[tuple[str, str, str], Any],
    sent: str,
) -> None:
    """The rule: below 500; a 4xx is JSON naming what is wrong and changes nothing; no fault."""
    status = response.status_code
    said = response.get_data(as_text=True)[:300]
    assert status < 500, f"{operation}: {sent} -> {status} {said}"
    faults = [k for k in after.keys() - before.keys() if k[1] == "faults"]
    assert not faults, f"{operation}: {sent} -> {status}, recorded faults {faults}"
    if 400 <= status < 500:
        body = response.get_json(silent=True)
        assert isinstance(body, dict), f"{operation}: {sent} -> {status} not JSON: {said}"
        assert isinstance(body.get("error"), str) and body["error"], f"{operation}: {said}"
        fields = body.get("fields", {})
        assert isinstance(fields, dict), f"{operation}: {said}"
        assert all(isinstance(v, str) for v in fields.values()), f"{operation}: {said}"
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert not changed, f"{operation}: {sent} -> {status} {said} yet changed {changed}"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The seeded system, shared by every example of the module."""
    return Seeded(tmp_path_factory.mktemp("fuzz") / "dev-key.pem")


# -- strategies ------------------------------------------------------------------------------

ODD_IDS = ("__x__", "__name__", "..", ".", "a/b", "", " ", "\x00", "a" * 1501, "é" * 800)
HUGE_NUMBERS = (2**63, 2**64, -(2**63) - 1, 10**40, 10**400, 1e308, -0.0, 5e-324)
JUNK = (
    b"",
    b"null",
    b"NaN",
    b'{"a": Infinity}',
    b"\xff\xfe{\x00}\x00",
    b'{"a": 1, "a": 2}',
    b'{"a": "\\ud800"}',
    b'{"a": "\\udfff\\ud800"}',
    b'{"a":',
    b"\xef\xbb\xbf{}",
    b"{}" * 2,
)
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-16",
    "application/merge-patch+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    None,
)

texts = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
    st.sampled_from(ODD_IDS),
    st.integers(1_000, 20_000).map(lambda n: "ß" * n),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_NUMBERS),
    st.floats(),
    texts,
)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Any JSON value, nested a few levels, its object keys drawn from ``keys``."""
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=12,
    )


def encoded(value: Any) -> bytes:
    """``value`` as JSON (lone surrogates escaped, NaN as Python writes it)."""
    return json.dumps(value).encode()


def hostile_bodies(fields: list[str]) -> st.SearchStrategy[tuple[bytes, str | None]]:
    """Request bodies with a content type: JSON of any shape, junk, deep nesting."""
    keys = st.sampled_from(fields) | texts if fields else texts
    values = json_values(keys)
    nested = st.tuples(st.integers(10, 50_000), st.sampled_from(["[", '{"a":'])).map(
        lambda d: (d[1] * d[0]).encode()
    )
    return st.one_of(
        st.tuples(values.map(encoded), st.just("application/json")),
        st.tuples(
            st.dictionaries(keys, values, max_size=6).map(encoded), st.just("application/json")
        ),
        st.tuples(values.map(encoded), st.sampled_from(CONTENT_TYPES)),
        st.tuples(
            st.sampled_from(JUNK) | st.binary(max_size=64) | nested, st.sampled_from(CONTENT_TYPES)
        ),
    )


path_texts = st.one_of(
    st.sampled_from(
        (*ODD_IDS[:-2], "%2F", "a%2Fb", "%2e%2e", "%00", "%ED%A0%80", "%ff", "a" * 2048)
    ),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30).map(
        lambda s: quote(s, safe="")
    ),
)
"""A path parameter: raw (``/`` and ``%`` kept as they are) or percent-encoded."""


def query_strings(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Query strings with repeated, unknown and huge parameters, and broken escapes."""
    name = st.sampled_from(names) | st.text(max_size=8) if names else st.text(max_size=8)
    value = st.one_of(
        st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
        st.sampled_from(["-1", "0", "1e400", str(2**64), "true", "null", "__x__", "..", "a,b"]),
        st.integers(1_000, 6_000).map(lambda n: "9" * n),
    )
    pair = st.tuples(name, value).map(lambda p: f"{quote(p[0], safe='')}={quote(p[1], safe='')}")
    junk = st.sampled_from(["%", "%zz", "%ff", "%ED%A0%80", "&&", "=", "a=b=c", ";"])
    return st.lists(pair | junk, max_size=8).map("&".join)


def mutate(data: st.DataObject, value: Any, keys: st.SearchStrategy[str]) -> Any:
    """``value`` with one place in it replaced, removed, or given an unknown neighbour."""
    places: list[tuple[Any, ...]] = [()]
    todo: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while todo:
        path, node = todo.pop()
        children = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else []
        )
        for key, child in children:
            places.append((*path, key))
            todo.append(((*path, key), child))
    place = data.draw(st.sampled_from(places), label="place")
    if not place:
        return data.draw(json_values(keys), label="whole body")
    parent = value
    for key in place[:-1]:
        parent = parent[key]
    how = data.draw(st.sampled_from(["replace", "remove", "add"]), label="how")
    if how == "remove":
        del parent[place[-1]]
    elif how == "add" and isinstance(parent, dict):
        parent[data.draw(texts, label="new key")] = data.draw(json_values(keys), label="new value")
    else:
        parent[place[-1]] = data.draw(json_values(keys), label="new value")
    return value


# -- the properties -----------------------------------------------------------------------


def test_every_bff_is_fuzzed_and_every_kind_of_input_has_routes_to_take_it() -> None:
    """The properties below are parametrised by the operations read from the documents: a
    BFF whose document lost its paths, or no route with a path parameter or a body, would
    leave a property with no case (skipped, not failed), checking nothing."""
    fuzzed = {(op.subsystem, op.target) for op in OPERATIONS}
    assert fuzzed == {(app.name, target) for app, target in BFFS.values()}
    assert WITH_PARAMS, "no route with a path parameter to fuzz"
    assert WITH_BODY, "no route with a request body to fuzz"


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_hostile_bodies_are_refused_cleanly(seeded: Seeded, operation: Operation) -> None:
    @FUZZ
    @given(hostile_bodies(operation.fields()))
    def send(body: tuple[bytes, str | None]) -> None:
        seeded.call(operation, seeded.path(operation), data=body[0], content_type=body[1])

    send()


@pytest.mark.parametrize("operation", WITH_PARAMS, ids=str)
def test_odd_path_parameters_are_refused_cleanly(seeded: Seeded, operation: Operation) -> None:
    body = None if operation.body is None else b"{}"

    @FUZZ
    @given(st.sampled_from(operation.params), path_texts)
    def send(param: str, value: str) -> None:
        path = seeded.path(operation, **{param: value})
        seeded.call(operation, path, data=body, content_type="application/json")

    send()


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_hostile_query_strings_are_refused_cleanly(seeded: Seeded, operation: Operation) -> None:
    keys = st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=300)

    @FUZZ
    @given(query_strings(operation.query), st.none() | keys)
    def send(query: str, key: str | None) -> None:
        headers = {"Idempotency-Key": key} if key is not None and operation.headers else {}
        seeded.call(operation, seeded.path(operation), query=query, headers=headers)

    send()


@pytest.mark.parametrize("operation", WITH_BODY, ids=str)
def test_a_schema_body_with_one_field_broken_is_refused_cleanly(
    seeded: Seeded, operation: Operation
) -> None:
    assert operation.body is not None
    valid = from_schema(operation.body)
    keys = st.sampled_from(operation.fields()) | texts

    @FUZZ
    @given(valid, st.data())
    def send(body: Any, data: st.DataObject) -> None:
        broken = mutate(data, body, keys)
        seeded.call(
            operation, seeded.path(operation), data=encoded(broken), content_type="application/json"
        )

    send()
