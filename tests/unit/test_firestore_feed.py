"""The change feed's listener reports what the SDK's would, on the emulator's reset-and-resend.

No emulator here: the listen stream is replaced by scripted responses, fed to
the SDK's ``Watch`` and to ours side by side. This pins the private SDK state
the listener relies on (``change_map``, ``doc_map``, ``_reset_docs``, ``push``): an SDK
upgrade that changes it fails here first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1 import DocumentSnapshot, _helpers
from google.cloud.firestore_v1 import watch as sdk_watch
from google.cloud.firestore_v1.types import Document, ListenResponse, TargetChange
from google.cloud.firestore_v1.types import DocumentChange as DocumentChangePb

from shared.stores import firestore_feed
from shared.stores.firestore_feed import _KeyOrderedQuery, _ResendSkippingWatch

TARGET = sdk_watch.WATCH_TARGET_ID
PREFIX = "projects/p/databases/(default)/documents/orders"


def at(second: int) -> datetime:
    return datetime.fromtimestamp(1_767_225_600 + second, UTC)


def target(kind: str, second: int | None = None, ids: tuple[int, ...] = ()) -> ListenResponse:
    change = TargetChange(
        target_change_type=getattr(TargetChange.TargetChangeType, kind), target_ids=list(ids)
    )
    if second is not None:
        change.read_time = at(second)
    return ListenResponse(target_change=change)


def doc(key: str, version: int) -> ListenResponse:
    document = Document(
        name=f"{PREFIX}/{key}",
        fields={"v": {"integer_value": version}},
        create_time=at(0),
        update_time=at(version),
    )
    return ListenResponse(document_change=DocumentChangePb(document=document, target_ids=[TARGET]))


def snapshot(*docs: tuple[str, int], second: int) -> list[ListenResponse]:
    """The emulator after a write: reset, the whole collection again, current."""
    return [
        target("RESET"),
        *(doc(k, v) for k, v in docs),
        target("CURRENT", ids=(TARGET,)),
        target("NO_CHANGE", second),
    ]


SCRIPT = [
    target("ADD", ids=(TARGET,)),
    *(doc(k, 1) for k in ("a", "b", "c")),
    target("CURRENT", ids=(TARGET,)),
    target("NO_CHANGE", 1),
    *snapshot(("a", 1), ("b", 2), ("d", 3), second=3),  # b changed, c deleted, d created
    *snapshot(("a", 1), ("b", 2), ("d", 3), second=4),  # nothing changed
    *snapshot(("a", 5), ("b", 2), ("d", 3), second=5),  # a changed
]


def play(
    watch_class: type[Any], monkeypatch: pytest.MonkeyPatch, script: list[ListenResponse] = SCRIPT
) -> list[Any]:
    monkeypatch.setattr(sdk_watch.Watch, "_init_stream", lambda self: None)  # no listen stream
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # and nothing reachable
    client = firestore.Client(project="p", credentials=AnonymousCredentials())
    reported: list[Any] = []

    def callback(docs: Any, changes: Any, read_time: Any) -> None:
        reported.append(
            (
                [d.id for d in docs],
                [
                    (c.type.name, c.document.id, c.document.to_dict(), c.old_index, c.new_index)
                    for c in changes
                ],
                read_time,
            )
        )

    query = _KeyOrderedQuery(client.collection("orders"))
    watch = watch_class.for_query(query, callback, DocumentSnapshot)
    for response in script:
        watch.on_snapshot(response)
    return reported


def test_the_listener_reports_exactly_what_the_sdks_does(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = play(_ResendSkippingWatch, monkeypatch)

    assert ours == play(sdk_watch.Watch, monkeypatch)
    assert [[change[:3] for change in changes] for _, changes, _ in ours] == [
        [("ADDED", k, {"v": 1}) for k in "abc"],
        [("REMOVED", "c", {"v": 1}), ("ADDED", "d", {"v": 3}), ("MODIFIED", "b", {"v": 2})],
        [("MODIFIED", "a", {"v": 5})],
    ]
    assert [docs for docs, _, _ in ours] == [["a", "b", "c"], ["a", "b", "d"], ["a", "b", "d"]]


def test_documents_resent_unchanged_are_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[int] = []
    real = _helpers.decode_dict
    monkeypatch.setattr(sdk_watch._helpers, "decode_dict", lambda *a: decoded.append(1) or real(*a))

    play(_ResendSkippingWatch, monkeypatch)

    assert len(decoded) == 3 + 2 + 0 + 1  # the first three, then b and d, then a
    assert firestore_feed._ResendSkippingWatch is _ResendSkippingWatch


def test_a_write_costs_no_comparison_per_document_held(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [f"k{n:03}" for n in range(200)]
    initial = [
        target("ADD", ids=(TARGET,)),
        *(doc(k, 1) for k in reversed(keys)),
        target("CURRENT", ids=(TARGET,)),
        target("NO_CHANGE", 1),
    ]
    write = snapshot(*((k, 2 if k == "k007" else 1) for k in keys), second=2)
    compared: list[int] = []
    real = _KeyOrderedQuery._comparator

    def counted(self: _KeyOrderedQuery, left: Any, right: Any) -> int:
        compared.append(1)
        return real(self, left, right)

    monkeypatch.setattr(_KeyOrderedQuery, "_comparator", counted)
    play(_ResendSkippingWatch, monkeypatch, initial)
    compared_before_the_write = len(compared)
    compared.clear()

    reported = play(_ResendSkippingWatch, monkeypatch, [*initial, *write])

    assert [docs for docs, _, _ in reported] == [keys, keys]
    assert [change[:2] for change in reported[1][1]] == [("MODIFIED", "k007")]
    assert len(compared) == compared_before_the_write  # the one change: nothing to compare
