"""The conformance check of :mod:`tests.e2e.conformance`: it sees the BFFs' answers in the
e2e tests, and names each status or body a BFF's OpenAPI document does not allow."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from scenario.actors import ApiError
from scenario.stack import BFFS, EmbeddedStack
from shared.api import ANSWER_HEADERS, PROBLEM_JSON, HttpApi, HttpError
from shared.api_models import ResponseView
from shared.auth import LocalIssuer, Principal
from tests.e2e.conformance import Conformance, DocumentChecker
from tests.e2e.conftest import World


class Thing(ResponseView):
    """A thing."""

    name: str
    """Its name."""


def _api(answer: Any, tmp: Path) -> tuple[HttpApi, LocalIssuer]:
    issuer = LocalIssuer.from_file(tmp / "dev-key.pem")
    api = HttpApi("Things", issuer)

    @api.route(
        "GET",
        "/things/{thing_id}",
        actors={"customer"},
        response=Thing,
        refusals={418: "the thing is a teapot"},
    )
    def get_thing(caller: Principal, thing_id: str) -> Any:
        """One thing."""
        if thing_id == "gone":
            raise HttpError(410, "gone")
        if thing_id == "teapot":
            raise HttpError(418, "a teapot", fields={"x": 1})  # type: ignore[dict-item]
        return answer

    return api, issuer


def _problems(answer: Any, thing_id: str = "t-1") -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        api, issuer = _api(answer, Path(tmp))
        watcher = Conformance()
        client = watcher.watch(api.flask_app()).test_client()
        token = issuer.mint(Principal("customer", "alice"), ttl_s=60)
        client.get(f"/things/{thing_id}", headers={"Authorization": f"Bearer {token}"})
        client.get("/healthz")
        client.get("/no/such/route")
        return watcher.take_problems()


def test_an_answer_the_document_allows_is_no_problem() -> None:
    assert _problems(Thing(name="mug")) == []


def test_an_undocumented_status_is_named() -> None:
    [problem] = _problems(None, "gone")
    assert problem.startswith("Things GET /things/{thing_id} -> 410: status not documented")


def test_a_refusal_that_breaks_the_problem_schema_is_named() -> None:
    [problem] = _problems(None, "teapot")
    assert problem.startswith("Things GET /things/{thing_id} -> 418: the body breaks its schema")
    assert "$.fields.x: 1 is not of type 'string'" in problem


def test_a_missing_required_field_and_a_wrong_type_are_named() -> None:
    [problem] = _problems({"nam": "mug"})
    assert "-> 200: the body breaks its schema: $: 'name' is a required property" in problem
    [problem] = _problems({"name": 7})
    assert "$.name: 7 is not of type 'string'" in problem


def test_a_field_a_closed_schema_does_not_list_is_named() -> None:
    document = {
        "info": {"title": "T"},
        "paths": {
            "/t": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/T"}}
                            },
                        },
                        "204": {"description": "nothing"},
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "T": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}},
                    "additionalProperties": False,
                }
            }
        },
    }
    checker = DocumentChecker(document)
    assert checker.problem("GET", "/t", 200, b'{"a": "x"}', "application/json") is None
    problem = checker.problem("GET", "/t", 200, b'{"a": "x", "b": 1}', "application/json")
    assert problem is not None and "'b' was unexpected" in problem
    problem = checker.problem("GET", "/t", 204, b"{}", "application/json")
    assert problem == "T GET /t -> 204: a body where none is documented: {}"
    problem = checker.problem("GET", "/t", 200, b"<html>", "text/html")
    assert problem == "T GET /t -> 200: text/html where JSON is documented"
    assert checker.problem("GET", "/other", 500, b"", "") is None


def test_a_documented_header_left_out_is_named() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        api, _ = _api(None, Path(tmp))
        checker = DocumentChecker(api.openapi())
    body = json.dumps(HttpError(401, "no token").problem()).encode()
    path = "/things/{thing_id}"
    private = {name.lower(): value for name, value in ANSWER_HEADERS.items()}
    challenge = {"www-authenticate": 'Bearer realm="Things"', **private}
    assert checker.problem("GET", path, 401, body, PROBLEM_JSON, challenge) is None
    problem = checker.problem("GET", path, 401, body, PROBLEM_JSON, private)
    assert problem == (
        "Things GET /things/{thing_id} -> 401: without the documented header(s) WWW-Authenticate"
    )


def test_a_refusal_in_another_media_type_than_problem_json_is_named() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        api, _ = _api(None, Path(tmp))
        checker = DocumentChecker(api.openapi())
    path = "/things/{thing_id}"
    headers = [*ANSWER_HEADERS, "WWW-Authenticate"]
    body = json.dumps(HttpError(401, "no token").problem()).encode()

    problem = checker.problem("GET", path, 401, body, "application/json", headers)

    assert problem == (
        "Things GET /things/{thing_id} -> 401: application/json where "
        "application/problem+json is documented"
    )
    old_shape = checker.problem("GET", path, 401, b'{"error": "no token"}', PROBLEM_JSON, headers)
    assert old_shape is not None and "'type' is a required property" in old_shape


def test_the_e2e_tests_answers_are_watched(
    world: World, conformance: Conformance, tmp_path: Path
) -> None:
    """Through the servers on loopback (the actors' apps) and through test clients."""
    seen = conformance.answers
    world.alice.restaurants()
    assert conformance.answers == seen + 1
    app, target = BFFS["browse"]
    stack = EmbeddedStack(dev_key=tmp_path / "other-key.pem")
    stack.system.serve(app.name, target).test_client().get("/restaurants")
    assert conformance.answers == seen + 2


@pytest.mark.parametrize("name", sorted(BFFS))
def test_every_bff_is_watched(world: World, conformance: Conformance, name: str) -> None:
    seen = conformance.answers
    base = getattr(world.stack.urls, name)
    document = world.stack.session.get(f"{base}/openapi.json", timeout=10).json()
    path, item = next(iter(document["paths"].items()))
    method = next(iter(item)).upper()
    world.stack.session.request(method, f"{base}{path}", timeout=10)  # no token: 401
    assert conformance.answers == seen + 1


def test_a_bff_that_fails_answers_a_500_its_document_lists(
    world: World, conformance: Conformance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler's unexpected failure is answered 500 in the error shape, on every route, so
    every operation documents it (the e2e flows never fail so; here the store breaks)."""
    store = world.stack.system.stores["customer"]

    def broken(*_: Any) -> None:
        raise ConnectionError("the process died here")

    monkeypatch.setattr(store, "get", broken)
    with pytest.raises(ApiError) as failed:
        world.alice.account.call("GET", "/me")

    assert failed.value.status == 500
    assert conformance.take_problems() == []
