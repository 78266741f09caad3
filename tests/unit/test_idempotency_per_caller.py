"""BFF API kit: an ``Idempotency-Key`` belongs to its caller, the actor and the subject."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import HttpApi
from shared.auth import Actor, LocalIssuer, Principal
from shared.idempotency_keys import IdempotencyKeys
from shared.stores import InMemoryDocumentStore

ISSUER = LocalIssuer()


def headers(actor: Actor, subject: str, key: str = "k-1") -> dict[str, str]:
    token = ISSUER.mint(Principal(actor, subject))
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": key}


@pytest.fixture
def notes() -> tuple[Any, list[str]]:
    """A command open to customers and drivers that records who ran it."""
    api = HttpApi("Notes", ISSUER, store=InMemoryDocumentStore())
    ran: list[str] = []

    @api.route("POST", "/notes", actors={"customer", "driver"}, status=201, idempotent=True)
    def write(caller: Principal) -> dict[str, str]:
        """Write a note."""
        ran.append(f"{caller.actor}:{caller.subject}")
        return {"author": f"{caller.actor}:{caller.subject}", "note": f"n-{len(ran)}"}

    return api.flask_app().test_client(), ran


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("customer", "alice"), ("customer", "bob")),  # another subject
        (("customer", "sam"), ("driver", "sam")),  # the same subject, another kind of caller
    ],
)
def test_a_key_another_caller_used_neither_replays_nor_blocks(
    notes: tuple[Any, list[str]], first: tuple[Actor, str], second: tuple[Actor, str]
) -> None:
    client, ran = notes

    mine = client.post("/notes", headers=headers(*first))
    theirs = client.post("/notes", headers=headers(*second))

    assert mine.status_code == theirs.status_code == 201
    assert theirs.get_json() == {"author": ":".join(second), "note": "n-2"}
    assert ran == [":".join(first), ":".join(second)]
    # each caller's retry still replays their own first answer, running nothing
    assert client.post("/notes", headers=headers(*first)).get_json() == mine.get_json()
    assert client.post("/notes", headers=headers(*second)).get_json() == theirs.get_json()
    assert len(ran) == 2


def test_keys_cannot_be_forged_by_moving_a_separator_between_subject_and_key() -> None:
    # Subjects may hold any separator (an Identity Platform uid such as ``github:42``), so
    # the keys' documents keep owner and key apart structurally.
    keys = IdempotencyKeys(InMemoryDocumentStore())
    ran: list[str] = []

    def call(who: str) -> tuple[Any, int]:
        ran.append(who)
        return {"by": who}, 201

    mine = keys.run(("customer", "a:b"), "k", "req", lambda: call("a:b"))
    theirs = keys.run(("customer", "a"), "b:k", "req", lambda: call("a"))

    assert (mine, theirs) == (({"by": "a:b"}, 201), ({"by": "a"}, 201))
    assert ran == ["a:b", "a"]


def test_a_subject_holding_a_separator_calls_and_keeps_its_keys_apart(
    notes: tuple[Any, list[str]],
) -> None:
    client, ran = notes

    mine = client.post("/notes", headers=headers("customer", "a:b", key="k"))
    theirs = client.post("/notes", headers=headers("customer", "a", key="b:k"))

    assert mine.status_code == theirs.status_code == 201
    assert ran == ["customer:a:b", "customer:a"]
    assert client.post("/notes", headers=headers("customer", "a:b", key="k")).get_json() == (
        mine.get_json()
    )
    assert len(ran) == 2
