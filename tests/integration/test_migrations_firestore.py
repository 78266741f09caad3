"""The retention migrations on Firestore (the emulator): what an operator's
``fooddelivery migrate`` does to records stored before they expired."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from order.migrations import expire_unstamped_records
from order.topology import APP as ORDER
from restaurant.migrations import expire_unstamped_notes
from shared.migrations import done
from shared.migrations.command import migrate
from shared.migrations.dry_run import ReadOnlyStore
from shared.stores.firestore import FirestoreDocumentStore

pytestmark = pytest.mark.usefixtures("emulator_hosts")

NOW_MS = 1_767_225_600_000
A_MONTH_ON = datetime.fromtimestamp(NOW_MS / 1000, UTC) + timedelta(days=30)


@pytest.fixture
def store() -> Iterator[FirestoreDocumentStore]:
    assert os.environ.get("FIRESTORE_EMULATOR_HOST"), "refusing to run against real Firestore"
    made = FirestoreDocumentStore(project=f"migrate-{uuid.uuid4().hex[:12]}")
    yield made
    made.close()


def test_records_stored_before_they_expired_get_a_timestamp_once(
    store: FirestoreDocumentStore,
) -> None:
    store.put("order-events", "e-1", {"id": "e-1", "orderId": "o-1", "type": "order-placed"})
    store.put("pos-inbox", "o-1:ready", {"orderId": "o-1", "expireAt": NOW_MS})  # not a time
    ticket = {"id": "o-1", "restaurantId": "r-1", "status": "accepted"}
    store.put("tickets", "o-1", ticket)
    store.put("tickets", "o-2", {"id": "o-2", "restaurantId": "r-1", "status": "withdrawn-unseen"})

    assert expire_unstamped_records(ReadOnlyStore(store), NOW_MS) == 2  # a dry run
    assert "expireAt" not in (store.get("order-events", "e-1") or {})

    assert expire_unstamped_records(store, NOW_MS) == 2
    assert expire_unstamped_notes(store, NOW_MS) == 1

    for collection, key in (
        ("order-events", "e-1"),
        ("pos-inbox", "o-1:ready"),
        ("tickets", "o-2"),
    ):
        expires = (store.get(collection, key) or {})["expireAt"]
        assert isinstance(expires, datetime) and expires == A_MONTH_ON, collection
    assert store.get("tickets", "o-1") == ticket
    assert (expire_unstamped_records(store, NOW_MS), expire_unstamped_notes(store, NOW_MS)) == (
        0,
        0,
    )


def test_a_backfill_found_done_on_firestore_is_skipped_until_forced(
    store: FirestoreDocumentStore, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = {"fingerprint": "f-1", "status": 201, "body": {"id": "o-1"}}  # before expireAt
    store.put("idempotency-keys", "k-1", answer)
    store.put("order-events", "e-1", {"id": "e-1", "orderId": "o-1", "type": "order-placed"})
    before = datetime.now(UTC)

    migrate([ORDER], lambda _: store)
    migrate([ORDER], lambda _: store)

    expires = (store.get("idempotency-keys", "k-1") or {})["expireAt"]
    assert before + timedelta(days=1) <= expires <= datetime.now(UTC) + timedelta(days=1)
    recorded = store.get(done.COLLECTION, done.KEY) or {}
    assert sorted(recorded) == ["idempotency-keys-expire", "order-records-expire"]
    assert recorded["order-records-expire"]["version"] == 1
    assert before <= recorded["order-records-expire"]["at"] <= datetime.now(UTC)
    capsys.readouterr()

    store.put("order-events", "e-2", {"id": "e-2", "orderId": "o-1", "type": "order-placed"})
    migrate([ORDER], lambda _: store)
    assert "order/order-records-expire: skipped, a backfill done (" in capsys.readouterr().out
    assert "expireAt" not in (store.get("order-events", "e-2") or {})

    migrate([ORDER], lambda _: store, force=True)
    assert "order/order-records-expire: 1 document changed\n" in capsys.readouterr().out
    assert isinstance((store.get("order-events", "e-2") or {})["expireAt"], datetime)
