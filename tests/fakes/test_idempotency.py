"""The fakes' replays by ``Idempotency-Key``, as third parties keep them."""

from __future__ import annotations

import threading

import pytest

from fakes.idempotency import DEFAULT_KEY_RETENTION_S, IdempotencyStore
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

    with pytest.raises(RuntimeError, match="bug in the fake"):
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


def _store_on_a_clock(retention_s: float | None = 60) -> tuple[IdempotencyStore, list[float]]:
    now = [1_767_225_600.0]
    return IdempotencyStore(retention_s=retention_s, now_s=lambda: now[0]), now


def test_an_outcome_is_replayed_within_its_time_then_the_key_runs_anew() -> None:
    store, now = _store_on_a_clock()
    assert store.run("k", "first", lambda: ({"id": "x"}, 201)) == (({"id": "x"}, 201), False)

    now[0] += 59.9
    assert store.run("k", "first", lambda: ({"id": "y"}, 201)) == (({"id": "x"}, 201), True)
    now[0] += 0.1
    # a new request now, which may carry another body: nothing is held under the key
    assert store.run("k", "other", lambda: ({"id": "z"}, 201)) == (({"id": "z"}, 201), False)
    assert store.run("k", "other", lambda: ({"id": "w"}, 201)) == (({"id": "z"}, 201), True)


def test_keys_past_their_time_leave_memory_as_requests_come() -> None:
    store, now = _store_on_a_clock()
    for n in range(1_000):
        store.run(f"k-{n}", "same", lambda: ({}, 202))
        now[0] += 1
    assert len(store) == 60  # the last minute's

    now[0] += 60
    store.run("late", "same", lambda: ({}, 202))

    assert len(store) == 1


def test_the_default_is_a_day_and_none_keeps_keys_for_good() -> None:
    default = IdempotencyStore(now_s=lambda: 0.0)
    assert default.run("k", "a", lambda: ({"id": "x"}, 201)) == (({"id": "x"}, 201), False)
    assert DEFAULT_KEY_RETENTION_S == 24 * 60 * 60
    forever, now = _store_on_a_clock(retention_s=None)
    forever.run("k", "a", lambda: ({"id": "x"}, 201))

    now[0] += 365 * DEFAULT_KEY_RETENTION_S
    forever.run("other", "a", lambda: ({}, 201))

    assert len(forever) == 2
    assert forever.run("k", "a", lambda: ({"id": "y"}, 201)) == (({"id": "x"}, 201), True)


def test_a_request_still_running_past_the_time_keeps_its_key() -> None:
    store, now = _store_on_a_clock()
    entered, release = threading.Event(), threading.Event()

    def slow() -> Reply:
        entered.set()
        release.wait(5)
        return {"id": "x"}, 201

    first = threading.Thread(target=store.run, args=("k", "same", slow))
    first.start()
    assert entered.wait(5)
    try:
        now[0] += 120
        store.run("other", "same", lambda: ({}, 202))  # prunes what is past its time
        with pytest.raises(FakeError) as refused:
            store.run("k", "same", lambda: ({"id": "y"}, 201))
    finally:
        release.set()
        first.join()

    assert refused.value.status == 409


@pytest.mark.parametrize("retention", [0, -1.0, float("nan")])
def test_a_retention_must_be_positive(retention: float) -> None:
    with pytest.raises(ValueError, match="key retention must be positive"):
        IdempotencyStore(retention_s=retention)
