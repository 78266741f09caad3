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


def _failing() -> Reply:
    raise FakeError(503, "the fake's backend is down")


def test_a_5xx_not_kept_frees_the_key_for_any_request() -> None:
    store = IdempotencyStore()
    failed = ({"error": "the fake's backend is down"}, 503)
    assert store.run("k", "first", _failing) == (failed, False)

    # nothing was kept under the key: another request with it runs, as with a new key
    assert store.run("k", "other", lambda: ({"id": "y"}, 201)) == (({"id": "y"}, 201), False)
    assert store.run("k", "other", lambda: ({"id": "z"}, 201)) == (({"id": "y"}, 201), True)
    with pytest.raises(FakeError) as refused:
        store.run("k", "first", lambda: ({"id": "w"}, 201))
    assert refused.value.status == 422


def test_a_crash_frees_the_key() -> None:
    store = IdempotencyStore(keep_server_errors=True)

    def crash() -> Reply:
        raise RuntimeError("bug in the fake")

    with pytest.raises(RuntimeError):
        store.run("k", "first", crash)

    assert store.run("k", "other", lambda: ({"id": "y"}, 201)) == (({"id": "y"}, 201), False)


def test_a_kept_5xx_is_replayed_and_holds_the_key_as_stripe_does() -> None:
    store = IdempotencyStore(keep_server_errors=True)
    failed = ({"error": "the fake's backend is down"}, 503)
    assert store.run("k", "first", _failing) == (failed, False)

    assert store.run("k", "first", lambda: ({"id": "y"}, 201)) == (failed, True)
    with pytest.raises(FakeError) as refused:
        store.run("k", "other", lambda: ({"id": "y"}, 201))
    assert refused.value.status == 422
    assert refused.value.extra == {"code": "idempotency_key_reused"}
