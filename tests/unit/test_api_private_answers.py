"""Every answer of a kit app is the caller's own: ``Cache-Control: no-store`` so no proxy or
browser keeps it, ``X-Content-Type-Options: nosniff`` so no browser reads a JSON body as
HTML; no server banner; no static files; and a refused token is never echoed back."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from pydantic import Field

from shared.api import ANSWER_HEADERS, MAX_BODY_BYTES, HttpApi, HttpError
from shared.api_models import RequestBody, ResponseView
from shared.auth import AUDIENCE, LOCAL_ISSUER, LocalIssuer, Principal
from shared.exceptions import StoreError
from shared.stores import InMemoryDocumentStore

ISSUER = LocalIssuer()
ALICE = {"Authorization": "Bearer " + ISSUER.mint(Principal("customer", "alice"))}
DAN = {"Authorization": "Bearer " + ISSUER.mint(Principal("driver", "dan"))}


class Note(RequestBody):
    text: str = Field(min_length=1)


class Saved(ResponseView):
    text: str
    owner: str


def notes_api() -> HttpApi:
    api = HttpApi("Notes", ISSUER, store=InMemoryDocumentStore())

    @api.route(
        "POST",
        "/notes",
        actors={"customer"},
        body=Note,
        response=Saved,
        status=201,
        idempotent=True,
    )
    def save(caller: Principal, body: Note) -> Saved:
        """Save a note."""
        if body.text == "fail":
            raise RuntimeError("boom")
        if body.text == "down":
            raise StoreError("the store is down")
        if body.text == "gone":
            raise HttpError(404, "no such note")
        return Saved(text=body.text, owner=caller.subject)

    @api.route("GET", "/notes/{note_id}", actors={"customer"}, response=Saved)
    def read(caller: Principal, note_id: str) -> Saved:
        """Read a note."""
        return Saved(text=note_id, owner=caller.subject)

    return api


def note(text: str) -> dict[str, str]:
    return {"text": text}


ANSWERS = [
    ("POST", "/notes", ALICE, note("hello"), 201),
    ("POST", "/notes", {**ALICE, "Idempotency-Key": "k-1"}, note("hello"), 201),
    ("GET", "/notes/n-1", ALICE, None, 200),
    ("HEAD", "/notes/n-1", ALICE, None, 200),
    ("GET", "/notes/n-1", {}, None, 401),
    ("HEAD", "/notes/n-1", {}, None, 401),
    ("GET", "/notes/n-1", {"Authorization": "Bearer x.y.z"}, None, 401),
    ("GET", "/notes/n-1", DAN, None, 403),
    ("POST", "/notes", ALICE, {"text": ""}, 400),
    ("POST", "/notes", ALICE, note("gone"), 404),
    ("GET", "/nothing-here", ALICE, None, 404),
    ("PUT", "/notes", ALICE, note("hello"), 405),
    ("POST", "/notes", ALICE, note("x" * MAX_BODY_BYTES), 413),
    ("POST", "/notes", ALICE, note("fail"), 500),
    ("POST", "/notes", ALICE, note("down"), 503),
    ("OPTIONS", "/notes", {}, None, 200),
    ("GET", "/healthz", {}, None, 200),
    ("GET", "/openapi.json", {}, None, 200),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status"), ANSWERS)
def test_every_answer_is_private_and_never_sniffed(
    method: str, path: str, headers: dict[str, str], body: object, status: int
) -> None:
    client = notes_api().flask_app().test_client()

    answer = client.open(path, method=method, headers=headers, json=body)

    assert answer.status_code == status
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in answer.headers


def test_a_replayed_answer_is_private_too() -> None:
    client = notes_api().flask_app().test_client()
    keyed = {**ALICE, "Idempotency-Key": "k-1"}
    client.post("/notes", headers=keyed, json=note("hello"))

    replayed = client.post("/notes", headers=keyed, json=note("hello"))

    assert replayed.status_code == 201
    assert replayed.get_json() == {"text": "hello", "owner": "alice"}
    assert replayed.headers["Cache-Control"] == "no-store"


def test_the_document_names_the_headers_on_every_answer_as_they_are_sent() -> None:
    document = notes_api().openapi()

    for item in document["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                documented = response["headers"]
                for name, value in ANSWER_HEADERS.items():
                    assert documented[name]["schema"]["const"] == value
                    assert documented[name]["description"]
    assert "WWW-Authenticate" in document["paths"]["/notes"]["post"]["responses"]["401"]["headers"]


def test_the_app_serves_no_static_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "settings.env").write_text("API_KEY=sk_live_1")
    monkeypatch.chdir(tmp_path)
    app = notes_api().flask_app()

    answer = app.test_client().get("/static/settings.env")

    assert answer.status_code == 404
    assert b"sk_live_1" not in answer.data
    assert {rule.rule for rule in app.url_map.iter_rules()} == {
        "/notes",
        "/notes/<note_id>",
        "/healthz",
        "/openapi.json",
    }


def _claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": LOCAL_ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "actor": "customer",
        "iat": now,
        "exp": now + 600,
    }
    return claims | changes


def _signed(claims: dict[str, object]) -> str:
    return jwt.encode(claims, ISSUER._key, algorithm="RS256", headers={"kid": ISSUER.key_id})


REFUSED = {
    "expired": _signed(_claims(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)),
    "another audience": _signed(_claims(aud="someone-else")),
    "another issuer": _signed(_claims(iss="https://evil.example")),
    "another key": LocalIssuer().mint(Principal("customer", "alice")),
    "tampered": ISSUER.mint(Principal("customer", "alice"))[:-6] + "AAAAAA",
    "not a jwt": "c2VjcmV0LXBhc3N3b3Jk",
}


@pytest.mark.parametrize("token", REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_token_is_never_echoed(token: str) -> None:
    client = notes_api().flask_app().test_client()

    answer = client.get("/notes/n-1", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 401
    told = answer.get_data(as_text=True) + answer.headers["WWW-Authenticate"]
    for part in filter(None, token.split(".")):
        assert part not in told
