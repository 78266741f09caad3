"""kitchen-bff: a new ticket whose time to answer ran out: its ``ETag`` says so, and it leaves
the queue by itself a day later if Order's cancellation is never heard."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from restaurant.kitchen_bff.lapse import LAPSE_AFTER, LAPSE_EVERY_S, OPEN_LAPSE_AFTER
from restaurant.kitchen_bff.models import TICKETS
from shared.stores import Where
from tests.restaurant.conftest import ANSWER_MS, START, Restaurant

if TYPE_CHECKING:
    from werkzeug.test import TestResponse

    from shared.stores import Doc

DAY_MS = LAPSE_AFTER // timedelta(milliseconds=1)
HOUR_MS = LAPSE_EVERY_S * 1000
ANSWER_BY = START + ANSWER_MS
ANSWERS = ("order-accepted", "order-rejected", "order-ready")


@pytest.fixture
def kitchen(restaurant: Restaurant) -> Restaurant:
    """Restaurant r-1 (kitchen ordering) with order o-1 placed at START."""
    restaurant.open_restaurant("r-1")
    restaurant.receive(restaurant.order_status("o-1"))
    return restaurant


def read(kitchen: Restaurant, order_id: str = "o-1") -> TestResponse:
    return kitchen.client("kitchen-bff").get(
        f"/restaurants/r-1/orders/{order_id}", headers=kitchen.staff()
    )


def act(
    kitchen: Restaurant, action: str, body: dict[str, Any] | None, tag: str | None = None
) -> TestResponse:
    conditional = {} if tag is None else {"If-Match": tag}
    return kitchen.client("kitchen-bff").post(
        f"/restaurants/r-1/orders/o-1/{action}",
        json=body,
        headers={**kitchen.staff(), **conditional},
    )


def listed(kitchen: Restaurant, path: str = "") -> list[dict[str, Any]]:
    response = kitchen.client("kitchen-bff").get(
        f"/restaurants/r-1/orders{path}", headers=kitchen.staff()
    )
    assert response.status_code == 200, response.get_json()
    orders: list[dict[str, Any]] = response.get_json()["orders"]
    return orders


def stored(kitchen: Restaurant, order_id: str = "o-1") -> Doc:
    ticket = kitchen.store.get(TICKETS, order_id)
    assert ticket is not None
    return ticket


def until(kitchen: Restaurant, at_ms: int) -> None:
    """Let time pass until ``at_ms``, the schedules ticking hourly as on GCP."""
    kitchen.system.advance(at_ms - kitchen.clock.now_ms(), tick_every_ms=HOUR_MS)


# -- the ETag of a ticket whose time ran out ----------------------------------------------


def test_the_etag_changes_when_the_time_to_answer_runs_out(kitchen: Restaurant) -> None:
    """``expired`` turns true with the clock: the tag of the ticket as answered says so, or a
    client holding the copy read before could not tell it is stale (RFC 9110, 8.8.1)."""
    before = read(kitchen)
    assert (before.headers["ETag"], before.get_json()["expired"]) == ('"1"', False)

    kitchen.clock.advance(ANSWER_MS + 1)

    after = read(kitchen)
    assert (after.headers["ETag"], after.get_json()["expired"]) == ('"1-expired"', True)
    assert after.get_json()["revision"] == 1  # the ticket itself did not change


def test_an_answer_with_the_tag_read_before_the_time_ran_out_is_412_saying_so(
    kitchen: Restaurant,
) -> None:
    tag = read(kitchen).headers["ETag"]
    kitchen.clock.advance(ANSWER_MS + 1)

    response = act(kitchen, "accept", {"prepMinutes": 15}, tag)

    assert response.status_code == 412
    assert response.get_json()["error"] == (
        "order o-1 changed since the revision If-Match names: it is new now, at revision 1 "
        "and its time to answer ran out at 2026-01-01T00:10:00+00:00 "
        '(ETag "1-expired"); nothing was done: read it again and answer it as it is'
    )
    assert stored(kitchen)["status"] == "new"


def test_an_answer_with_the_tag_of_the_expired_ticket_is_409_time_ran_out(
    kitchen: Restaurant,
) -> None:
    kitchen.clock.advance(ANSWER_MS + 1)
    tag = read(kitchen).headers["ETag"]

    response = act(kitchen, "reject", {"reason": "busy"}, tag)

    assert response.status_code == 409
    assert "the time to answer order o-1 ran out" in response.get_json()["error"]


def test_an_answered_ticket_keeps_its_tag_after_the_time_to_answer(kitchen: Restaurant) -> None:
    accepted = act(kitchen, "accept", {"prepMinutes": 15})
    kitchen.clock.advance(ANSWER_MS + 1)

    assert accepted.headers["ETag"] == read(kitchen).headers["ETag"] == '"2"'
    assert act(kitchen, "ready", None, '"2"').status_code == 200


def test_the_api_documents_the_expired_tag_and_lapsed_at(restaurant: Restaurant) -> None:
    spec = restaurant.client("kitchen-bff").get("/openapi.json").get_json()
    ticket = spec["components"]["schemas"]["Ticket"]["properties"]
    assert '"1-expired"' in ticket["revision"]["description"]
    assert '"1-expired"' in ticket["expired"]["description"]
    assert "lapsedAt" in ticket["expired"]["description"]
    assert ticket["lapsedAt"]["description"].startswith("When the kitchen closed the order")


# -- a ticket whose cancellation is never heard ---------------------------------------------


def test_a_new_ticket_whose_cancellation_is_never_heard_leaves_the_queue_a_day_on(
    kitchen: Restaurant,
) -> None:
    until(kitchen, ANSWER_BY + DAY_MS)
    assert [(t["id"], t["expired"]) for t in listed(kitchen)] == [("o-1", True)]

    until(kitchen, ANSWER_BY + DAY_MS + HOUR_MS)

    assert listed(kitchen) == []
    [closed] = listed(kitchen, "/history")
    assert closed == read(kitchen).get_json()  # still there by id, and in the history
    assert closed["status"] == "cancelled"
    assert closed["cancelledFor"] is None
    assert closed["lapsedAt"] == ANSWER_BY + DAY_MS + HOUR_MS
    assert (closed["revision"], closed["expired"]) == (2, False)
    assert kitchen.bus(*ANSWERS) == []  # no answer to announce: Order cancelled it
    refused = act(kitchen, "accept", {"prepMinutes": 15})
    assert refused.status_code == 409
    assert "cancelled (unanswered in time" in refused.get_json()["error"]


def test_no_order_order_may_still_wait_an_answer_for_is_closed(kitchen: Restaurant) -> None:
    """Only new tickets a day past their answerBy go cancelled: one placed later, and one
    from an Order that did not say when its time runs out queued less than a day ago, stay;
    one answered is not cancelled (it lapses, a day after it was queued, by the rule for
    answered tickets)."""
    kitchen.receive(kitchen.order_status("o-3"))
    assert act(kitchen, "accept", {"prepMinutes": 15}).status_code == 200
    until(kitchen, ANSWER_BY + DAY_MS - HOUR_MS)
    kitchen.receive(kitchen.order_status("o-4"))
    kitchen.receive(kitchen.order_status("o-2", answerBy=None))

    until(kitchen, ANSWER_BY + DAY_MS + HOUR_MS)

    assert [(t["id"], t["status"]) for t in listed(kitchen)] == [
        ("o-2", "new"),
        ("o-4", "new"),
    ]
    assert [(t["id"], t["status"]) for t in listed(kitchen, "/history")] == [
        ("o-3", "cancelled"),
        ("o-1", "lapsed"),
    ]
    until(kitchen, ANSWER_BY + 10 * DAY_MS)
    assert listed(kitchen) == []


def test_a_ticket_answered_or_withdrawn_while_the_schedule_runs_is_left_as_it_is(
    kitchen: Restaurant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedule reads the lapsed tickets, then closes each one as it is by then."""
    store = kitchen.store
    query = store.query

    def then_withdrawn(*args: Any, **kwargs: Any) -> Any:
        found = query(*args, **kwargs)
        kitchen.receive(kitchen.order_status("o-1", "cancelled", reason="customer"))
        return found

    kitchen.clock.advance(ANSWER_MS + DAY_MS + 1)
    monkeypatch.setattr(store, "query", then_withdrawn)
    kitchen.system.tick()
    monkeypatch.undo()

    ticket = stored(kitchen)
    assert (ticket["status"], ticket["cancelledFor"]) == ("cancelled", "customer")
    assert "lapsedAt" not in ticket
    assert ticket["revision"] == 2


def test_the_cancellation_heard_after_the_kitchen_closed_the_ticket_says_why(
    kitchen: Restaurant,
) -> None:
    until(kitchen, ANSWER_BY + DAY_MS + HOUR_MS)
    closed = stored(kitchen)
    assert (closed["revision"], closed["lapsedAt"]) == (2, START + 25 * HOUR_MS)  # a tick
    withdrawn = kitchen.order_status("o-1", "cancelled", reason="restaurant-timeout")

    kitchen.receive(withdrawn)
    kitchen.receive(withdrawn)  # redelivered

    ticket = read(kitchen).get_json()
    assert (ticket["status"], ticket["cancelledFor"]) == ("cancelled", "restaurant-timeout")
    assert (ticket["lapsedAt"], ticket["revision"]) == (closed["lapsedAt"], 3)
    assert ticket["finishedAt"] == closed["lapsedAt"]  # it left the queue then, once
    assert kitchen.bus(*ANSWERS) == []


# -- a new ticket from an Order that did not say when its time to answer runs out ----------


def test_a_new_ticket_without_answer_by_leaves_the_queue_a_day_after_it_was_queued(
    kitchen: Restaurant,
) -> None:
    """Order gives a restaurant minutes to answer, whether it says until when or not: a day
    on, no one waits for an answer to the order, and Order's cancellation was lost."""
    # GIVEN o-2, from an Order that does not say answerBy, heard an hour after Order sent it
    sent = kitchen.order_status("o-2", answerBy=None)
    until(kitchen, START + HOUR_MS)
    kitchen.receive(sent)
    until(kitchen, START + HOUR_MS + DAY_MS)
    assert [(t["id"], t["expired"]) for t in listed(kitchen) if t["id"] == "o-2"] == [
        ("o-2", False)
    ]

    # WHEN a day has passed since the kitchen queued it, its cancellation never heard
    until(kitchen, START + HOUR_MS + DAY_MS + HOUR_MS)

    # THEN the kitchen closed it, as it closes one whose answerBy passed a day ago
    assert [t["id"] for t in listed(kitchen)] == []
    closed = read(kitchen, "o-2").get_json()
    assert (closed["status"], closed["cancelledFor"]) == ("cancelled", None)
    assert closed["lapsedAt"] == closed["finishedAt"] == START + HOUR_MS + DAY_MS + HOUR_MS
    assert [t["id"] for t in listed(kitchen, "/history")] == ["o-2", "o-1"]
    assert kitchen.bus(*ANSWERS) == []
    kitchen.receive(kitchen.order_status("o-2", "cancelled", reason="restaurant-timeout"))
    assert read(kitchen, "o-2").get_json()["cancelledFor"] == "restaurant-timeout"


# -- an accepted or ready ticket whose end is never heard -----------------------------------

OPEN_DAY_MS = OPEN_LAPSE_AFTER // timedelta(milliseconds=1)


def answered(kitchen: Restaurant, status: str) -> None:
    """Take o-1 to ``status``: ``accepted``, or ``ready``."""
    assert act(kitchen, "accept", {"prepMinutes": 15}).status_code == 200
    if status == "ready":
        assert act(kitchen, "ready", None).status_code == 200
    kitchen.system.run_until_quiet()


@pytest.mark.parametrize("status", ["accepted", "ready"])
def test_an_answered_ticket_whose_end_is_never_heard_lapses_a_day_after_it_was_queued(
    kitchen: Restaurant, status: str
) -> None:
    answered(kitchen, status)
    published = [e.type for e in kitchen.bus(*ANSWERS)]
    until(kitchen, START + OPEN_DAY_MS)
    assert [(t["id"], t["status"]) for t in listed(kitchen)] == [("o-1", status)]

    until(kitchen, START + OPEN_DAY_MS + HOUR_MS)

    assert listed(kitchen) == []
    [closed] = listed(kitchen, "/history")
    assert closed == read(kitchen).get_json()
    assert (closed["status"], closed["cancelledFor"]) == ("lapsed", None)
    assert closed["lapsedAt"] == START + OPEN_DAY_MS + HOUR_MS
    assert [e.type for e in kitchen.bus(*ANSWERS)] == published  # nothing more to announce
    refused = act(kitchen, "reject", {"reason": "too late"})
    assert refused.status_code == 409
    assert "lapsed (closed by the kitchen a day after it was queued" in refused.get_json()["error"]


@pytest.mark.parametrize(
    ("word", "reason", "ended"),
    [
        ("cancelled", "no-driver", ("cancelled", "no-driver")),
        ("picked-up", None, ("picked-up", None)),
        ("delivered", None, ("picked-up", None)),
    ],
)
def test_the_word_heard_after_the_kitchen_closed_an_answered_ticket_says_how_it_ended(
    kitchen: Restaurant, word: str, reason: str | None, ended: tuple[str, str | None]
) -> None:
    answered(kitchen, "ready")
    until(kitchen, START + OPEN_DAY_MS + HOUR_MS)
    lapsed_at = stored(kitchen)["lapsedAt"]
    heard = kitchen.order_status("o-1", word, reason=reason)

    kitchen.receive(heard)
    kitchen.receive(heard)  # redelivered

    ticket = read(kitchen).get_json()
    assert (ticket["status"], ticket["cancelledFor"]) == ended
    assert (ticket["lapsedAt"], ticket["revision"]) == (lapsed_at, 5)
    assert ticket["finishedAt"] == lapsed_at  # it left the queue then, once
    assert [t["id"] for t in listed(kitchen, "/history")] == ["o-1"]


def test_a_late_cancellation_does_not_undo_the_pickup_heard_after_the_kitchen_closed_it(
    kitchen: Restaurant,
) -> None:
    answered(kitchen, "accepted")
    until(kitchen, START + OPEN_DAY_MS + HOUR_MS)
    kitchen.receive(kitchen.order_status("o-1", "picked-up"))
    kitchen.receive(kitchen.order_status("o-1", "cancelled", reason="not-delivered"))
    assert (stored(kitchen)["status"], stored(kitchen)["cancelledFor"]) == ("picked-up", None)


def test_an_answered_ticket_collected_while_the_schedule_runs_is_left_as_it_is(
    kitchen: Restaurant, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered(kitchen, "ready")
    store = kitchen.store
    query = store.query

    def then_collected(collection: str, where: list[Where], **kwargs: Any) -> Any:
        found = query(collection, where, **kwargs)
        if any(w.field == "queuedAt" for w in where):  # the answered tickets due
            kitchen.receive(kitchen.order_status("o-1", "picked-up"))
        return found

    kitchen.clock.advance(OPEN_DAY_MS + 1)
    monkeypatch.setattr(store, "query", then_collected)
    kitchen.system.tick()
    monkeypatch.undo()

    ticket = stored(kitchen)
    assert ticket["status"] == "picked-up"
    assert "lapsedAt" not in ticket
