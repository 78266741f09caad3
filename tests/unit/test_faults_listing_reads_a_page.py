"""``fooddelivery faults list`` reads a page of faults, not every fault.

Every fault record carries when it arose (``arisenAt``), which the listing orders, pages and
filters by in its query, on the kit's indexes of ``faults``; the "... and N older" line
counts the rest without reading them. Records stored before the field are given it by the
kit's ``faults-arisen-at`` migration (or when they recur).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from shared.cli import main
from shared.clock import ManualClock
from shared.deploy import tfvars
from shared.exceptions import BusinessRuleViolation, EnvelopeError
from shared.hub.message import Message, dead_lettered
from shared.migrations.kit import KIT_MIGRATIONS, stamp_fault_times
from shared.runtime import faults_command
from shared.runtime.faults import (
    ARISEN_AT,
    FAULT_INDEXES,
    FAULTS_COLLECTION,
    FaultRecorder,
    fault_record,
)
from shared.stores.delegating import DelegatingStore
from shared.stores.memory import InMemoryDocumentStore
from shared.system import load_subsystems
from tests.unit import test_faults_command as base
from tests.unit.test_faults_command import (
    ACCEPTED,
    BUS_READER,
    BUS_SUBSCRIPTION,
    FROM_RESTAURANT,
    GARBAGE,
    MINUTE,
    PLACED,
    PROJECT,
    Order,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shared.stores.base import Document, Where

order = base.order  # the fixture


class Reads(DelegatingStore):
    """Notes the documents each query hands over, and the queries made."""

    def __init__(self, inner: InMemoryDocumentStore) -> None:
        super().__init__(inner)
        self.read: list[str] = []
        self.queries: list[tuple[list[Where], str | None, bool]] = []
        """Each query's and count's conditions and order."""
        self.counts = 0

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        found = super().query(
            collection, where, order_by=order_by, descending=descending, limit=limit
        )
        self.read += [d.key for d in found]
        self.queries.append((list(where), order_by, descending))
        return found

    def count(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
    ) -> int:
        self.queries.append((list(where), order_by, descending))
        self.counts += 1
        return super().count(collection, where, order_by=order_by, descending=descending)


def listed(capsys: pytest.CaptureFixture[str]) -> tuple[list[str], str]:
    out, err = capsys.readouterr()
    return [line.split()[1] for line in out.splitlines()], err


@pytest.fixture
def many(order: Order, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Twenty faults a minute apart (oldest first), bus consumer's and ingress's by turns."""
    ids = [
        order.fault(BUS_READER, replace(GARBAGE, message_id=f"m-{n}"), EnvelopeError("$", "no"))
        if n % 2
        else order.fault(
            FROM_RESTAURANT,
            replace(
                ACCEPTED, message_id=f"a-{n}", attributes={**ACCEPTED.attributes, "id": f"e-{n}"}
            ),
            BusinessRuleViolation("closed"),
        )
        for n in range(20)
    ]
    monkeypatch.setattr(faults_command, "_now_ms", lambda: order.clock.now_ms() + MINUTE)
    return ids


def test_a_page_reads_at_most_skip_and_limit_and_one_faults(many, order, capsys):
    # GIVEN a store that notes every document a query hands over
    order.store = reads = Reads(order.store)

    # WHEN the third page of three is listed
    assert main(["faults", "list", "order", "--limit", "3", "--skip", "6"]) == 0

    # THEN it is the right page, the rest counted, and no more than 10 faults were read
    shown, err = listed(capsys)
    assert shown == many[::-1][6:9]
    assert "... and 11 older (--skip 9)" in err
    assert len(reads.read) <= 3 + 6 + 1


def test_a_page_of_one_functions_faults_by_age_reads_that_page(many, order, capsys):
    order.store = reads = Reads(order.store)

    assert (
        main(
            ["faults", "list", "order", "--function", BUS_READER, "--limit", "2", "--since", "15m"]
        )
        == 0
    )

    shown, err = listed(capsys)
    # arisen within 15 minutes: the newest 15, the bus reader's 8 of them; the newest 2 listed
    assert shown == [many[19], many[17]]
    assert "... and 6 older (--skip 2)" in err
    assert reads.read == [many[19], many[17], many[15]]


def test_each_query_of_the_listing_has_the_kits_index_in_every_subsystem(many, order, capsys):
    # GIVEN the listing's queries and counts, by status, function and age as they combine
    order.store = reads = Reads(order.store)
    for argv in (
        [],
        ["--status", "all"],
        ["--function", BUS_READER],
        ["--status", "all", "--function", BUS_READER],
        ["--since", "1h", "--older-than", "5m"],
        ["--status", "resubmitted", "--function", BUS_READER, "--since", "1h"],
    ):
        assert main(["faults", "list", "order", *argv, "--limit", "1"]) == 0

    # THEN each is ordered by arisenAt, and a composite index every subsystem gets from the
    # kit has its equality fields first (Firestore's rule), then arisenAt descending
    generated = tfvars.render([app.topology for app in load_subsystems()])
    for name, subsystem in generated["subsystems"].items():
        declared = [
            tuple((f["field_path"], f["order"]) for f in index["fields"])
            for index in subsystem["firestore_indexes"]
            if index["collection"] == FAULTS_COLLECTION
        ]
        assert reads.counts == 5  # all but the resubmitted ones have older ones to count
        for where, order_by, descending in reads.queries:
            assert (order_by, descending) == (ARISEN_AT, True)
            assert {w.field for w in where if w.op not in ("==", "in")} <= {ARISEN_AT}
            equal = {w.field for w in where if w.op in ("==", "in")}
            if not equal:
                continue  # Firestore's own single-field index serves it
            assert any(
                {field for field, _ in fields[:-1]} == equal
                and fields[-1] == (ARISEN_AT, "DESCENDING")
                for fields in declared
            ), f"{name}: no index for {sorted(equal)} by {ARISEN_AT} desc"


def test_the_kits_fault_indexes_reach_every_subsystem_once():
    apps = load_subsystems()
    generated = tfvars.render([app.topology for app in apps])
    wanted = [
        {
            "collection": i.collection,
            "fields": [
                {"field_path": f.field, "order": f.order} for f in tfvars.firestore_index(i).fields
            ],
        }
        for i in FAULT_INDEXES
    ]
    for app in apps:
        indexes = generated["subsystems"][app.name]["firestore_indexes"]
        assert indexes[: len(wanted)] == wanted, app.name
    # a subsystem declaring one of them too gets it once (Terraform keys them by fields)
    topology = replace(apps[0].topology, indexes=(*apps[0].topology.indexes, FAULT_INDEXES[0]))
    indexes = tfvars.render([topology])["subsystems"][topology.name]["firestore_indexes"]
    assert indexes.count(wanted[0]) == 1


def test_more_function_names_than_an_in_takes_are_asked_in_batches(
    many, order, capsys, monkeypatch
):
    # GIVEN --function naming more names than Firestore takes in one `in` (40)
    names = {f"order/x/f{n}" for n in range(38)} | {BUS_READER, FROM_RESTAURANT}
    monkeypatch.setattr(faults_command, "_function_names", lambda app, name: names)
    order.store = reads = Reads(order.store)

    assert main(["faults", "list", "order", "--function", "x", "--limit", "3"]) == 0

    # THEN two queries, their newest merged: the newest three of either function
    shown, err = listed(capsys)
    assert shown == many[::-1][:3]
    assert "... and 17 older (--skip 3)" in err
    assert len(reads.queries) == 2 + 2  # and a count each
    assert len(reads.read) <= 2 * 4


def test_every_kind_of_fault_record_holds_when_it_arose():
    clock = ManualClock()
    store = InMemoryDocumentStore()
    published = "2026-11-28T10:00:00Z"
    dead = dead_lettered(replace(PLACED, publish_time=published), PROJECT, BUS_SUBSCRIPTION, 5)
    stray = Message(data=b"hello", message_id="stray", publish_time=published)
    timeless = Message(data=b"when?", message_id="timeless")
    recorder = FaultRecorder(store, clock)
    for message in (dead, stray, timeless):
        recorder.handle(message)

    at = {d.key: d.data[ARISEN_AT] for d in store.query(FAULTS_COLLECTION)}
    ten = int(datetime(2026, 11, 28, 10, tzinfo=UTC).timestamp() * 1000)
    assert at == {
        fault_record(dead)[0]: ten,  # its message's first publish time
        fault_record(stray)[0]: ten,
        fault_record(timeless)[0]: clock.now_ms(),  # no time told: when it was recorded
    }


def test_a_fault_event_arose_at_its_own_time(order):
    fault_id = order.fault(BUS_READER, GARBAGE, EnvelopeError("$", "not JSON"))
    assert order.record(fault_id)[ARISEN_AT] == order.record(fault_id)["timestamp"]


def _stored_before_the_field(order: Order, fault_id: str) -> dict[str, Any]:
    old = {k: v for k, v in order.record(fault_id).items() if k != ARISEN_AT}
    order.store.put(FAULTS_COLLECTION, fault_id, old)
    return old


def test_faults_stored_before_the_field_are_listed_once_migrated(many, order, capsys):
    # GIVEN two faults as a version before arisenAt stored them
    for fault_id in many[3:5]:
        _stored_before_the_field(order, fault_id)
    assert main(["faults", "list", "order", "--limit", "100"]) == 0
    assert listed(capsys)[0] == [f for f in many[::-1] if f not in many[3:5]]

    # WHEN the kit's migration runs THEN they get the time they arose, and are listed again
    [migration] = [m for m in KIT_MIGRATIONS if m.name == "faults-arisen-at"]
    assert not migration.backfill  # the version before may record one during a rollout
    assert migration.run(order.store) == 2
    assert migration.run(order.store) == 0
    assert order.record(many[3])[ARISEN_AT] == order.record(many[3])["timestamp"]
    assert main(["faults", "list", "order", "--limit", "100"]) == 0
    assert listed(capsys)[0] == many[::-1]


def test_a_dead_letter_stored_before_the_field_is_given_its_message_time(order):
    fault_id = order.dead_letter(PLACED)
    arose = order.record(fault_id)[ARISEN_AT]
    _stored_before_the_field(order, fault_id)
    assert stamp_fault_times(order.store, now_ms=1) == 1
    assert order.record(fault_id)[ARISEN_AT] == arose


def test_a_fault_stored_before_the_field_gets_it_when_it_recurs(order):
    message = replace(GARBAGE, attributes={**GARBAGE.attributes, "id": "e-1"})
    fault_id = order.fault(BUS_READER, message, EnvelopeError("$", "not JSON"))
    arose = order.record(fault_id)[ARISEN_AT]
    _stored_before_the_field(order, fault_id)

    order.fault(BUS_READER, replace(message, message_id="m-again"), EnvelopeError("$", "still"))

    assert order.record(fault_id)["recurrences"] == 1
    assert order.record(fault_id)[ARISEN_AT] == arose  # when it first arose, not now


def test_faults_closed_between_the_page_and_the_count_leave_the_older_ones_read(
    many, order, capsys, monkeypatch
):
    # GIVEN a count that finds none: every fault was closed after the page was read
    monkeypatch.setattr(InMemoryDocumentStore, "count", lambda self, *a, **k: 0)

    assert main(["faults", "list", "order", "--limit", "3"]) == 0

    # THEN the one older fault read is still told of, not "-3 older"
    assert "... and 1 older (--skip 3)" in capsys.readouterr().err


class Pages(DelegatingStore):
    """Notes each query's conditions, limit and how many documents it handed over."""

    def __init__(self, inner: InMemoryDocumentStore) -> None:
        super().__init__(inner)
        self.queries: list[tuple[list[Where], int | None, int]] = []

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        found = super().query(
            collection, where, order_by=order_by, descending=descending, limit=limit
        )
        self.queries.append((list(where), limit, len(found)))
        return found


def test_resubmit_all_open_reads_a_page_at_a_time_and_hands_back_oldest_first(
    order, capsys, monkeypatch
):
    # GIVEN ten open faults, four of them arisen at the same millisecond across a page's end
    ids = [
        order.fault(BUS_READER, replace(GARBAGE, message_id=f"m-{n}"), EnvelopeError("$", "no"))
        for n in range(10)
    ]
    tied = order.store.get(FAULTS_COLLECTION, ids[3])[ARISEN_AT]
    for fault_id in ids[3:7]:
        order.store.update(FAULTS_COLLECTION, fault_id, lambda d: {**d, ARISEN_AT: tied})
    monkeypatch.setattr(faults_command, "PAGE", 3)
    order.store = pages = Pages(order.store)

    # WHEN every open fault is resubmitted
    assert main(["faults", "resubmit", "order", "--all-open"]) == 0

    # THEN each went back once, oldest first (the tied ones in any order among themselves)
    handed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert handed[:3] == ids[:3] and handed[7:] == ids[7:]
    assert sorted(handed[3:7]) == sorted(ids[3:7])
    # AND the open faults were read a page at a time: by arisenAt with a limit of a page,
    # or those of one millisecond (the ties at a page's end)
    assert pages.queries
    for where, limit, found in pages.queries:
        tie = any(w.field == ARISEN_AT and w.op == "==" for w in where)
        assert tie or (limit == 3 and found <= 3), (where, limit, found)
