"""The fakes' replays by ``Idempotency-Key``, as third parties keep them."""

from __future__ import annotations

import threading

import pytest

from fakes.idempotency import IdempotencyStore
from fakes.web import FakeError, Reply


def test_a_request_whose_key_is_still_in_use_is_409_and_runs_nothing() -> None:
    store = IdempotencyStore()
    entered, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow() -> Reply:
        runs.append("first")
        entered.set()
        release.wait(5)
        return {"id": "x"}, 201

    first = threading.Thread(target=store.run, args=("k", "same", slow))
    first.start()
    assert entered.wait(5)
    try:
        with pytest.raises(FakeError) as refused:
            store.run("k", "same", lambda: (runs.append("retry"), ({"id": "y"}, 201))[1])
    finally:
        release.set()
        first.join()

    assert refused.value.status == 409
    assert "still being processed" in refused.value.message
    assert refused.value.extra == {"code": "idempotency_key_in_use"}
    assert runs == ["first"]
    assert store.run("k", "same", lambda: ({"id": "z"}, 201)) == (({"id": "x"}, 201), True)
