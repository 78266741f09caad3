"""The demo's report: each traced order's timeline once, then the summary."""

from __future__ import annotations

from typing import Any

from scenario.demo import report
from scenario.story import Outcome
from shared.timeline import Entry, Timeline


class NoThirdParties:
    def authorizations(self, order_id: str) -> list[dict[str, Any]]:
        return []

    def notifications(self) -> list[dict[str, Any]]:
        return []


def timeline_of(*order_ids: str) -> Timeline:
    timeline = Timeline()
    for n, order_id in enumerate(order_ids):
        timeline.entries.append(Entry(n, "order", "bus", "svc", "order.placed", order_id))
    return timeline


def test_a_single_refused_order_is_printed_once(capsys):
    outcome = Outcome(orders={"o-1": {"status": "cancelled"}}, rejected="o-1", rounds=3)

    report(NoThirdParties(), timeline_of("o-1"), outcome, [])

    out = capsys.readouterr().out
    assert out.count("Order o-1 (cancelled):") == 1


def test_the_first_and_the_refused_order_are_both_traced(capsys):
    orders = {"o-1": {"status": "delivered"}, "o-2": {"status": "cancelled"}}
    outcome = Outcome(orders=orders, rejected="o-2", rounds=3)

    report(NoThirdParties(), timeline_of("o-1", "o-2"), outcome, [])

    out = capsys.readouterr().out
    assert out.index("Order o-1 (delivered):") < out.index("Order o-2 (cancelled):")


def test_the_timeline_columns_stand_under_their_headings(capsys):
    timeline = Timeline()
    timeline.entries.append(Entry(0, "order", "bus", "intake-esg", "order-placed", "o-1"))
    outcome = Outcome(orders={"o-1": {"status": "delivered"}}, rounds=1)

    report(NoThirdParties(), timeline, outcome, [])

    header, row = capsys.readouterr().out.splitlines()[1:3]
    assert header.index("time") + len("time") == row.index("+00:00.000") + len("+00:00.000")
    for heading, value in [
        ("subsystem", "order"),
        ("topic", "bus"),
        ("service", "intake-esg"),
        ("event", "order-placed"),
    ]:
        assert row.index(value) == header.index(heading), (header, row)


def test_when_the_first_order_was_refused_the_next_one_is_traced_too(capsys):
    # With some seeds the kitchen refuses the very first order: the timeline must still
    # show an order that went the whole way, not the refused one alone.
    orders = {"o-1": {"status": "cancelled"}, "o-2": {"status": "delivered"}}
    outcome = Outcome(orders=orders, rejected="o-1", rounds=3)

    report(NoThirdParties(), timeline_of("o-1", "o-2"), outcome, [])

    out = capsys.readouterr().out
    assert out.count("Order o-1 (cancelled):") == 1
    assert out.index("Order o-2 (delivered):") < out.index("Order o-1 (cancelled):")


def test_every_event_shows_which_order_or_restaurant_it_is_about(capsys):
    # The table of every event had no key column: events of different orders looked alike.
    timeline = Timeline()
    timeline.entries += [
        Entry(0, "restaurant", "bus", "profile-bff", "menu-updated", "trattoria-roma"),
        Entry(1, "order", "external", "status-esg", "order.order-status-changed v2", "o-1"),
        Entry(2, "order", "bus", "lifecycle-control", "order-status-changed", "o-2"),
    ]
    orders = {"o-1": {"status": "delivered"}, "o-2": {"status": "delivered"}}

    report(NoThirdParties(), timeline, Outcome(orders=orders, rounds=1), [], "all")

    table = capsys.readouterr().out.split("Every event:\n", 1)[1].split("\n\n", 1)[0]
    header, *rows = table.splitlines()
    assert [row.split()[-1] for row in rows] == ["trattoria-roma", "o-1", "o-2"]
    assert {row.rindex(" ") + 1 for row in rows} == {header.index("key")}  # one column


def test_an_event_published_again_is_marked_in_the_traced_and_the_full_tables(capsys):
    # Under chaos every copy was listed alike: a redelivery looked like a second event.
    placed = Entry(0, "order", "bus", "intake-esg", "order-placed", "o-1", "e-1")
    elsewhere = Entry(0, "order", "external", "status-esg", "order-placed", "o-1", "e-1")
    paid = Entry(1, "customer", "bus", "payment-esg", "payment-captured", "o-1", "e-2")
    timeline = Timeline([placed, elsewhere, placed, paid, placed])
    outcome = Outcome(orders={"o-1": {"status": "delivered"}}, rounds=1)

    report(NoThirdParties(), timeline, outcome, [], "all")

    out = capsys.readouterr().out
    traced = out.split("Order o-1 (delivered):\n", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert [row.split()[4:] for row in traced] == [
        ["order-placed"],
        ["order-placed"],  # the same id on another topic: another event
        ["order-placed", "[duplicate]"],
        ["order-placed", "[duplicate]"],
        ["payment-captured"],
    ]
    table = out.split("Every event:\n", 1)[1].split("\n\n", 1)[0]
    header, *rows = table.splitlines()
    assert [row.split()[4:] for row in rows][2] == ["order-placed", "[duplicate]", "o-1"]
    assert {row.rindex(" ") + 1 for row in rows} == {header.index("key")}  # one column
    assert "events:        customer 1, order 2 (+2 duplicates)" in out
