"""The timeline shows every cause before its effects, whatever order the hosts report in."""

from __future__ import annotations

from shared.envelope import new_event
from shared.hub.message import Message
from shared.timeline import Entry, Timeline, causal_order


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


def _observed(timeline: Timeline, data: bytes) -> None:
    timeline.observe("order", "bus", Message(data=data, message_id="m-1"))


def test_an_event_that_could_not_be_read_is_listed_without_a_time() -> None:
    timeline = Timeline()
    _observed(timeline, b"not an envelope")
    [line] = timeline.lines()  # before the fix: min() of no times raised ValueError
    assert line.startswith("         ?  order      bus      ?") and line.endswith(" m-1")

    read = new_event("order-placed", "order", {}, partition_key="o-1", timestamp=5_000)
    _observed(timeline, read.to_bytes())
    lines = timeline.lines()

    assert lines[0].startswith("         ?  order")  # the unreadable one, which has no time
    assert lines[1].startswith("+   0.000s  order")  # times count from the readable ones


def test_the_demo_prints_an_unreadable_event_without_a_time(capsys) -> None:
    from scenario.demo import report
    from scenario.story import Outcome

    timeline = Timeline()
    _observed(timeline, b"not an envelope")
    read = new_event("order-placed", "order", {}, partition_key="o-1", timestamp=5_000)
    _observed(timeline, read.to_bytes())

    report(NoThirdParties(), timeline, Outcome(orders={"o-1": {"status": "placed"}}), [], "all")

    rows = capsys.readouterr().out.split("Every event:\n", 1)[1].splitlines()[1:3]
    assert rows[0].startswith("           ?  order      bus")
    assert rows[1].startswith("  +00:00.000  order      bus")


def _withdrawn(at: int, expires_at: int) -> bytes:
    body = {"id": "o-1", "driverId": "d-1", "expiresAt": expires_at, "revision": ["1", 0]}
    return new_event(
        "offer-withdrawn", "delivery", body, partition_key="o-1", timestamp=at
    ).to_bytes()


def test_an_offer_withdrawn_once_it_ran_out_says_it_expired() -> None:
    # A withdrawal read the same whether the offer ran out, was declined or its order ended.
    timeline = Timeline()
    _observed(timeline, _withdrawn(at=180_000, expires_at=120_000))
    _observed(timeline, _withdrawn(at=120_000, expires_at=120_000))
    _observed(timeline, _withdrawn(at=60_000, expires_at=120_000))  # declined in time

    assert [e.label for e in timeline.entries] == [
        "offer-withdrawn (expired)",
        "offer-withdrawn (expired)",
        "offer-withdrawn",
    ]


def test_an_event_that_gives_a_reason_shows_it_on_one_line_cut_short() -> None:
    timeline = Timeline()
    for reason in ["rejected", "Out of\nbasil\x1b[31m", "x" * 60, "  ", None]:
        body = {"id": "o-1", "reason": reason}
        event = new_event("order-rejected", "order", body, partition_key="o-1", timestamp=1)
        _observed(timeline, event.to_bytes())

    assert [e.note for e in timeline.entries] == [
        "rejected",
        "Out of basil [31m",
        "x" * 39 + "…",
        "",
        "",
    ]
    assert timeline.lines()[0].split()[5:7] == ["order-rejected", "(rejected)"]


def test_a_reason_an_event_groups_in_an_object_shows_too() -> None:
    # order.order-status-changed v2 says why an order was cancelled in cancellation.reason
    timeline = Timeline()
    for cancellation in [{"reason": "rejected", "detail": "basil"}, None, {"reason": None}]:
        body = {"orderId": "o-1", "status": "cancelled", "cancellation": cancellation}
        event = new_event("order-status-changed", "order", body, partition_key="o-1", timestamp=1)
        _observed(timeline, event.to_bytes())

    assert [e.note for e in timeline.entries] == ["rejected", "", ""]


def test_the_demo_prints_each_events_reason_after_its_type(capsys) -> None:
    from scenario.demo import report
    from scenario.story import Outcome

    timeline = Timeline()
    _observed(timeline, _withdrawn(at=180_000, expires_at=120_000))

    report(NoThirdParties(), timeline, Outcome(orders={"o-1": {"status": "placed"}}), [], "all")

    out = capsys.readouterr().out
    traced = out.split("Order o-1 (placed):\n", 1)[1].splitlines()[1]
    assert traced.endswith(" offer-withdrawn (expired)")
    every = out.split("Every event:\n", 1)[1].splitlines()[1]
    assert every.endswith(" offer-withdrawn (expired) o-1")


class NoThirdParties:
    def authorizations(self, order_id: str) -> list[dict[str, object]]:
        return []

    def notifications(self) -> list[dict[str, object]]:
        return []


def test_an_event_published_again_counts_once_and_as_a_duplicate() -> None:
    placed, paid = entry("placed", 1), entry("paid", 2)
    elsewhere = Entry(1, "order", "external", "svc", "type-placed", "o-1", "placed")
    unreadable = Entry(0, "order", "bus", "?", "<undecodable>", "m-1")
    timeline = Timeline([placed, paid, placed, elsewhere, placed, unreadable, unreadable])

    assert timeline.counts() == {"order": 5}  # placed on bus and on external, paid, 2 unread
    assert timeline.duplicates() == {"order": 2}
    assert Timeline([placed, paid]).duplicates() == {}


def test_an_event_published_again_is_listed_as_a_duplicate_after_the_first() -> None:
    # Every copy was listed alike: a redelivery's copies read as events of their own.
    placed, paid = entry("placed", 1), entry("paid", 2)
    unreadable = Entry(0, "order", "bus", "?", "<undecodable>", "m-1")
    timeline = Timeline([paid, placed, placed, unreadable, unreadable, placed])

    events = [line.split()[-3:] for line in timeline.lines()]

    assert events == [
        ["?", "<undecodable>", "m-1"],
        ["?", "<undecodable>", "m-1"],  # no id: nothing tells it is the same message
        ["svc", "type-placed", "o-1"],
        ["type-placed", "[duplicate]", "o-1"],
        ["type-placed", "[duplicate]", "o-1"],
        ["svc", "type-paid", "o-1"],
    ]
