"""Backfills stop costing a full read once done; the kit's own backfill expires old keys.

A backfill brings up to date documents only older versions wrote: once a run of it finds
nothing to change it is recorded done in the subsystem's store, and ``fooddelivery
migrate`` skips it unless ``--force``. Every other migration runs every time.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from customer.browse_bff.models import RESTAURANTS
from customer.topology import APP as CUSTOMER
from order.topology import APP as ORDER
from shared.cli import main
from shared.exceptions import TopologyError
from shared.idempotency_keys import COLLECTION as KEYS
from shared.idempotency_keys import IdempotencyKeys
from shared.migrations import Migration
from shared.migrations import done as done_record
from shared.migrations.command import migrate
from shared.migrations.kit import KIT_MIGRATIONS, expire_unstamped_keys
from shared.runtime import operator
from shared.stores import InMemoryDocumentStore
from shared.system import load_subsystems

NOW_MS = 1_767_225_600_000
A_DAY_ON = datetime.fromtimestamp(NOW_MS / 1000, UTC) + timedelta(days=1)
EVENT = {"id": "e-1", "orderId": "o-1", "type": "order-placed"}  # as stored before expireAt


class CountingStore(InMemoryDocumentStore):
    """Counts the queries of each collection."""

    def __init__(self) -> None:
        super().__init__()
        self.queried: list[str] = []

    def query(self, collection: str, *args: Any, **kwargs: Any) -> Any:
        self.queried.append(collection)
        return super().query(collection, *args, **kwargs)


def lines(capsys: pytest.CaptureFixture[str], name: str) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith(name)]


def test_a_backfill_is_skipped_once_a_run_found_nothing_to_change(capsys) -> None:
    store = CountingStore()
    store.put("order-events", "e-1", EVENT)

    def run(**options: bool) -> list[str]:
        store.queried.clear()
        migrate([ORDER], lambda _: store, **options)
        return lines(capsys, "order/order-records-expire")

    # The run that changed documents records nothing: an old instance still finishing its
    # requests may write the old shape behind it.
    assert run() == ["order/order-records-expire: 1 document changed"]
    assert run() == ["order/order-records-expire: 0 documents changed (done: later runs skip it)"]
    skipped = run()
    assert len(skipped) == 1
    assert skipped[0].startswith("order/order-records-expire: skipped, a backfill done (")
    assert "order-events" not in store.queried

    store.put("order-events", "e-2", EVENT | {"id": "e-2"})  # written by a version rolled back to
    assert run(force=True) == ["order/order-records-expire: 1 document changed"]
    assert "expireAt" in (store.get("order-events", "e-2") or {})


def test_a_dry_run_records_no_backfill_done(capsys) -> None:
    store = InMemoryDocumentStore()

    migrate([ORDER], lambda _: store, dry_run=True)

    assert lines(capsys, "order/order-records-expire") == [
        "order/order-records-expire: 0 documents would change"
    ]
    assert store.get(done_record.COLLECTION, done_record.KEY) is None
    migrate([ORDER], lambda _: store)
    assert lines(capsys, "order/order-records-expire") == [
        "order/order-records-expire: 0 documents changed (done: later runs skip it)"
    ]


def test_a_migration_that_is_no_backfill_runs_every_time(capsys) -> None:
    store = CountingStore()
    store.put(RESTAURANTS, "r-1", {"id": "r-1", "name": "Zaika", "cuisine": "indian"})

    for changed in ("1 document", "0 documents", "0 documents"):
        store.queried.clear()
        migrate([CUSTOMER], lambda _: store)
        assert lines(capsys, "customer/catalog-sort-names") == [
            f"customer/catalog-sort-names: {changed} changed"
        ]
        assert RESTAURANTS in store.queried


def test_a_backfill_given_a_new_version_runs_again(capsys) -> None:
    store = InMemoryDocumentStore()
    ran: list[int] = []
    first = Migration("fill-it", "fills it", lambda _: ran.append(1) or 0, backfill=True)
    app = dataclasses.replace(ORDER, migrations=(first,))
    migrate([app], lambda _: store)
    migrate([app], lambda _: store)
    assert ran == [1]

    again = dataclasses.replace(first, version=2)
    migrate([dataclasses.replace(app, migrations=(again,))], lambda _: store)

    assert ran == [1, 1]


def test_migrate_force_runs_the_backfills_found_done(monkeypatch, capsys) -> None:
    store = InMemoryDocumentStore()
    monkeypatch.setattr(operator, "connect", lambda name, environ=None: (store, None))
    assert main(["migrate", "delivery"]) == 0
    assert main(["migrate", "delivery"]) == 0
    assert "skipped" in capsys.readouterr().out

    assert main(["migrate", "--force", "delivery"]) == 0

    assert capsys.readouterr().out == (
        "delivery/idempotency-keys-expire: 0 documents changed (done: later runs skip it)\n"
        "delivery/faults-arisen-at: 0 documents changed\n"
    )


def test_every_subsystem_runs_the_kits_migrations_first() -> None:
    apps = load_subsystems()
    assert sorted(app.name for app in apps) == ["customer", "delivery", "order", "restaurant"]
    assert KIT_MIGRATIONS
    for app in apps:
        assert app.all_migrations[: len(KIT_MIGRATIONS)] == KIT_MIGRATIONS, app.name
        assert app.all_migrations[len(KIT_MIGRATIONS) :] == app.migrations, app.name


def test_two_migrations_of_one_name_are_refused() -> None:
    # a backfill is recorded done by its name
    with pytest.raises(TopologyError, match="more than one migration is named 'order-records"):
        dataclasses.replace(ORDER, migrations=(*ORDER.migrations, *ORDER.migrations))
    with pytest.raises(TopologyError, match="'idempotency-keys-expire'"):
        dataclasses.replace(ORDER, migrations=KIT_MIGRATIONS)


def test_answers_stored_before_they_expired_expire_as_a_key_used_now_does() -> None:
    store = InMemoryDocumentStore()
    old_answer = {"fingerprint": "f-1", "status": 201, "body": {"id": "o-1"}}
    stamped = {**old_answer, "expireAt": datetime(2026, 2, 1, tzinfo=UTC)}
    store.put(KEYS, "k-1", old_answer)
    store.put(KEYS, "k-2", {"fingerprint": "f-2", "status": None, "body": None, "reservedAt": 1})
    store.put(KEYS, "k-3", stamped)

    assert expire_unstamped_keys(store, NOW_MS) == 2

    assert store.get(KEYS, "k-1") == {**old_answer, "expireAt": A_DAY_ON}
    assert (store.get(KEYS, "k-2") or {})["expireAt"] == A_DAY_ON
    assert store.get(KEYS, "k-3") == stamped
    assert expire_unstamped_keys(store, NOW_MS) == 0


def test_a_key_stored_before_it_expired_runs_again_once_its_new_expiry_passed() -> None:
    store = InMemoryDocumentStore()
    keys = IdempotencyKeys(store)
    calls: list[int] = []

    def call() -> tuple[Any, int]:
        calls.append(1)
        return {"n": len(calls)}, 201

    keys.run(("customer", "c-1"), "key-1", "f-1", call)
    (stored,) = store.query(KEYS)
    del stored.data["expireAt"]
    store.put(KEYS, stored.key, stored.data)  # as a version before expireAt stored it
    assert keys.run(("customer", "c-1"), "key-1", "f-1", call) == ({"n": 1}, 201)  # for good

    a_day_and_more_ago = int(time.time() * 1000) - 25 * 3600 * 1000
    assert expire_unstamped_keys(store, a_day_and_more_ago) == 1

    assert keys.run(("customer", "c-1"), "key-1", "f-1", call) == ({"n": 2}, 201)
