"""The timeline shows every cause before its effects, whatever order the hosts report in."""

from __future__ import annotations

from shared.timeline import Entry, causal_order


def entry(event_id: str, at: int, cause: str | None = None) -> Entry:
    return Entry(at, "order", "bus", "svc", f"type-{event_id}", "o-1", event_id, cause)


def test_effects_at_their_cause_time_follow_it_whatever_the_order_reported() -> None:
    # kitchen rejects (a document write) -> restaurant publishes -> order takes it in
    rejected = entry("rejected", 1_000, cause="doc-change")
    published = entry("published", 1_000, cause="rejected")
    taken_in = entry("taken-in", 1_000, cause="published")
    later = entry("later", 2_000)
    earlier = entry("earlier", 500, cause="taken-in")  # clocks differ: time still comes first

    ordered = causal_order([later, taken_in, published, earlier, rejected])

    assert [e.id for e in ordered] == ["earlier", "rejected", "published", "taken-in", "later"]


def test_entries_without_ids_keep_their_time_order() -> None:
    first, second = Entry(1, "a", "bus", "s", "t", "k"), Entry(2, "a", "bus", "s", "t", "k")
    assert causal_order([second, first]) == [first, second]


def test_an_event_whose_cause_is_not_an_event_keeps_its_place() -> None:
    accepted = entry("accepted", 1_000, cause="doc-change")
    status = entry("status", 1_000, cause="another-doc-change")  # a trigger's event
    published = entry("published", 1_000, cause="accepted")

    ordered = causal_order([accepted, status, published])

    assert [e.id for e in ordered] == ["accepted", "status", "published"]
