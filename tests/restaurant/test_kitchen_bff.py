"""kitchen-bff: the kitchen's order queue, from a placed order to the published answers."""

from __future__ import annotations

import base64
import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from restaurant.contracts import OrderAccepted, OrderReady, OrderRejected
from restaurant.kitchen_bff.lapse import OPEN_LAPSE_AFTER
from restaurant.kitchen_bff.listener import LEFT_TO_POS
from restaurant.kitchen_bff.migrations import stamp_finished_tickets, stamp_queued_tickets
from restaurant.kitchen_bff.models import FINAL_STATUSES, OPEN_STATUSES, STATUSES
from restaurant.topology import TOPOLOGY
from shared.auth import Actor, Principal
from shared.topology import Topic
from tests.problems import refusal
from tests.restaurant.conftest import ANSWER_MS, PROFILE, START, Restaurant

if TYPE_CHECKING:
    from pathlib import Path

    from werkzeug.test import TestResponse

    from shared.envelope import Envelope
    from shared.stores import Doc

ANSWERS = (OrderAccepted.TYPE, OrderRejected.TYPE, OrderReady.TYPE)
Step = tuple[str, dict[str, Any] | None]
"""A kitchen command: the action and its body."""
LINE = {"menuItemId": "margherita", "name": "Pizza Margherita", "quantity": 2}


@pytest.fixture
def kitchen(restaurant: Restaurant) -> Restaurant:
    """Restaurant r-1 (kitchen ordering) with order o-1 placed."""
    restaurant.open_restaurant("r-1")
    restaurant.receive(restaurant.order_status("o-1"))
    return restaurant


def act(
    restaurant: Restaurant,
    action: str,
    body: dict[str, Any] | None = None,
    order_id: str = "o-1",
    restaurant_id: str = "r-1",
    headers: dict[str, str] | None = None,
) -> TestResponse:
    return restaurant.client("kitchen-bff").post(
        f"/restaurants/{restaurant_id}/orders/{order_id}/{action}",
        json=body,
        headers=restaurant.staff(restaurant_id) if headers is None else headers,
    )


def queue(
    restaurant: Restaurant,
    query: str = "",
    restaurant_id: str = "r-1",
    headers: dict[str, str] | None = None,
) -> TestResponse:
    return restaurant.client("kitchen-bff").get(
        f"/restaurants/{restaurant_id}/orders{query}",
        headers=restaurant.staff(restaurant_id) if headers is None else headers,
    )


def history(
    restaurant: Restaurant,
    query: str = "",
    restaurant_id: str = "r-1",
    headers: dict[str, str] | None = None,
) -> TestResponse:
    return queue(restaurant, f"/history{query}", restaurant_id, headers)


def ids(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [t["id"] for t in response.get_json()["orders"]]


def place_and_finish(
    restaurant: Restaurant, order_id: str, final: str, restaurant_id: str = "r-1"
) -> None:
    """Place ``order_id`` now and take its ticket to the ``final`` status."""
    restaurant.receive(restaurant.order_status(order_id, restaurant=restaurant_id))
    if final == "rejected":
        act(restaurant, "reject", {"reason": "busy"}, order_id, restaurant_id)
    if final == "picked-up":
        act(restaurant, "accept", {"prepMinutes": 5}, order_id, restaurant_id)
        act(restaurant, "ready", None, order_id, restaurant_id)
    if final in ("cancelled", "picked-up"):
        restaurant.receive(restaurant.order_status(order_id, final, restaurant=restaurant_id))
    if final == "lapsed":  # accepted, and neither its pickup nor its cancellation heard
        act(restaurant, "accept", {"prepMinutes": 5}, order_id, restaurant_id)
        restaurant.clock.advance(OPEN_LAPSE_AFTER // timedelta(milliseconds=1) + 1)
        restaurant.system.tick()
        restaurant.system.run_until_quiet()
    assert status_of(restaurant, order_id) == final


def ticket(restaurant: Restaurant, order_id: str = "o-1") -> Doc | None:
    return restaurant.store.get("tickets", order_id)


def status_of(restaurant: Restaurant, order_id: str = "o-1") -> str:
    stored = ticket(restaurant, order_id)
    assert stored is not None
    return str(stored["status"])


# -- the queue -------------------------------------------------------------------------


def test_a_placed_order_shows_up_as_a_new_ticket(kitchen: Restaurant) -> None:
    response = queue(kitchen, "?status=new")
    assert response.status_code == 200
    assert response.get_json() == {
        "orders": [
            {
                "id": "o-1",
                "restaurantId": "r-1",
                "items": [LINE],
                "total": 1900,
                "currency": "EUR",
                "status": "new",
                "receivedAt": START,
                "queuedAt": START,
                "finishedAt": None,
                "answerBy": START + ANSWER_MS,
                "expired": False,
                "prepMinutes": None,
                "reason": None,
                "readyAt": None,
                "revision": 1,
                "cancelledFor": None,
                "lapsedAt": None,
            }
        ],
        "next": None,
    }
    one = kitchen.client("kitchen-bff").get("/restaurants/r-1/orders/o-1", headers=kitchen.staff())
    assert one.get_json() == response.get_json()["orders"][0]


def test_open_and_finished_statuses_split_every_status() -> None:
    assert set(OPEN_STATUSES) | FINAL_STATUSES == set(STATUSES)
    assert not set(OPEN_STATUSES) & FINAL_STATUSES


def test_the_queue_holds_the_open_tickets_oldest_first(kitchen: Restaurant) -> None:
    kitchen.clock.advance(60_000)
    late = kitchen.order_status("o-0")
    place_and_finish(kitchen, "o-7", "rejected")
    kitchen.clock.advance(60_000)
    kitchen.receive(kitchen.order_status("o-2"), late)  # stamped before o-2, stored after it
    place_and_finish(kitchen, "o-8", "cancelled")
    kitchen.clock.advance(60_000)
    place_and_finish(kitchen, "o-9", "picked-up")
    act(kitchen, "accept", {"prepMinutes": 10}, order_id="o-0")
    act(kitchen, "accept", {"prepMinutes": 10}, order_id="o-2")
    act(kitchen, "ready", order_id="o-2")
    every = queue(kitchen).get_json()["orders"]
    assert [(t["id"], t["status"], t["receivedAt"]) for t in every] == [
        ("o-1", "new", START),
        ("o-0", "accepted", START + 60_000),
        ("o-2", "ready", START + 120_000),
    ]


def test_the_queue_filters_by_an_open_status(kitchen: Restaurant) -> None:
    kitchen.clock.advance(60_000)
    late = kitchen.order_status("o-0")
    kitchen.clock.advance(60_000)
    kitchen.receive(kitchen.order_status("o-2"), late)
    kitchen.receive(kitchen.order_status("o-3"), kitchen.order_status("o-4"))
    act(kitchen, "accept", {"prepMinutes": 10}, order_id="o-3")
    act(kitchen, "accept", {"prepMinutes": 10}, order_id="o-4")
    act(kitchen, "ready", order_id="o-4")
    place_and_finish(kitchen, "o-5", "rejected")
    assert ids(queue(kitchen, "?status=new")) == ["o-1", "o-0", "o-2"]
    assert ids(queue(kitchen, "?status=accepted")) == ["o-3"]
    assert ids(queue(kitchen, "?status=ready")) == ["o-4"]


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES))
def test_a_finished_status_filter_is_400_and_points_to_the_history(
    kitchen: Restaurant, status: str
) -> None:
    place_and_finish(kitchen, "o-2", status)
    response = queue(kitchen, f"?status={status}")
    assert response.status_code == 400
    message = response.get_json()["fields"]["status"]
    assert f"{status} tickets have left the queue" in message
    assert "/restaurants/{restaurant_id}/orders/history" in message


def test_an_unknown_status_filter_is_400(kitchen: Restaurant) -> None:
    response = queue(kitchen, "?status=cooking")
    assert response.status_code == 400
    assert "new" in response.get_json()["fields"]["status"]


@pytest.mark.parametrize("unknown", ["before=1767225600000", "page=2", "offset=20"])
def test_a_query_parameter_the_queue_does_not_take_is_400_not_ignored(
    kitchen: Restaurant, unknown: str
) -> None:
    response = queue(kitchen, f"?{unknown}")
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [unknown.split("=")[0]]


def read_whole(restaurant: Restaurant, path: str, query: str) -> list[list[str]]:
    """The ids of every page of ``path`` (the queue or the history), following ``next``."""
    pages: list[list[str]] = []
    after = ""
    while len(pages) < 50:
        response = queue(restaurant, f"{path}?{query}{after}")
        pages.append(ids(response))
        token = response.get_json()["next"]
        if token is None:
            return pages
        after = f"&after={token}"
    raise AssertionError(f"no last page after 50: {pages}")


def test_a_queue_longer_than_a_page_is_read_whole_a_page_at_a_time(kitchen: Restaurant) -> None:
    # GIVEN seven tickets received in one millisecond, after o-1 and before o-9; o-8 expired
    # long ago, its cancellation never heard, and o-3 is ready
    kitchen.receive(kitchen.order_status("o-8"))
    kitchen.clock.advance(ANSWER_MS + 60_000)
    kitchen.receive(*(kitchen.order_status(f"o-2{n}") for n in range(7)))
    kitchen.clock.advance(1)
    kitchen.receive(kitchen.order_status("o-9"))
    act(kitchen, "accept", {"prepMinutes": 5}, order_id="o-23")
    act(kitchen, "ready", order_id="o-23")
    same_ms = [f"o-2{n}" for n in range(7)]

    # WHEN the queue is read two tickets a page
    pages = read_whole(kitchen, "", "limit=2")

    # THEN each ticket comes once, oldest first and by id within a millisecond, and no page
    # holds more than two, however many share a millisecond
    assert [n for page in pages for n in page] == ["o-1", "o-8", *same_ms, "o-9"]
    assert [len(page) for page in pages] == [2, 2, 2, 2, 2]
    # the filter holds across pages
    assert read_whole(kitchen, "", "status=new&limit=3") == [
        ["o-1", "o-8", "o-20"],
        ["o-21", "o-22", "o-24"],
        ["o-25", "o-26", "o-9"],
    ]
    first = queue(kitchen, "?limit=2").get_json()["orders"]
    assert [t["expired"] for t in first] == [True, True]


def test_the_queue_holds_a_hundred_tickets_a_page_unless_told(restaurant: Restaurant) -> None:
    restaurant.open_restaurant("r-1")
    restaurant.receive(*(restaurant.order_status(f"o-{n:03}") for n in range(101)))

    first = queue(restaurant).get_json()

    assert [t["id"] for t in first["orders"]] == [f"o-{n:03}" for n in range(100)]
    assert first["next"] is not None
    assert ids(queue(restaurant, f"?after={first['next']}")) == ["o-100"]


def test_a_ticket_heard_late_is_listed_to_a_client_paging_the_queue(kitchen: Restaurant) -> None:
    # GIVEN o-1 and o-2 queued, and o-0, which Order sent a minute before both, not heard yet
    late = dataclasses.replace(kitchen.order_status("o-0"), timestamp=START - 60_000)
    kitchen.clock.advance(60_000)
    kitchen.receive(kitchen.order_status("o-2"))
    # WHEN a client reads the queue's first page, o-0 is heard, and the client reads on
    page = queue(kitchen, "?limit=1").get_json()
    seen = [t["id"] for t in page["orders"]]
    kitchen.clock.advance(60_000)
    kitchen.receive(late)
    while page["next"] is not None:
        page = queue(kitchen, f"?limit=1&after={page['next']}").get_json()
        seen += [t["id"] for t in page["orders"]]
    # THEN the client saw every ticket: o-0 joined the end of the queue, where the kitchen
    # heard it, not the place Order's stamp would give it, before the page the client read
    assert seen == ["o-1", "o-2", "o-0"]
    shown = queue(kitchen).get_json()["orders"]
    assert [(t["id"], t["receivedAt"], t["queuedAt"]) for t in shown] == [
        ("o-1", START, START),
        ("o-2", START + 60_000, START + 60_000),
        ("o-0", START - 60_000, START + 120_000),
    ]


def test_an_open_ticket_queued_before_queued_at_is_listed_once_migrated(
    kitchen: Restaurant,
) -> None:
    """The queue orders by ``queuedAt``, which Firestore requires: the migration gives an open
    ticket stored without it its ``receivedAt``, leaving finished ones and its revision."""
    place_and_finish(kitchen, "o-2", "rejected")
    for order_id in ("o-1", "o-2"):
        old = ticket(kitchen, order_id)
        assert old is not None
        kitchen.store.put("tickets", order_id, {k: v for k, v in old.items() if k != "queuedAt"})
    assert ids(queue(kitchen)) == []

    assert stamp_queued_tickets(kitchen.store) == 1
    assert stamp_queued_tickets(kitchen.store) == 0

    [shown] = queue(kitchen).get_json()["orders"]
    assert (shown["id"], shown["queuedAt"], shown["revision"]) == ("o-1", START, 1)
    finished = ticket(kitchen, "o-2")
    assert finished is not None and "queuedAt" not in finished
    assert ids(history(kitchen)) == ["o-2"]


def page_token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MALFORMED_TOKENS = [
    "not a token!",
    "1767225600000",
    page_token(b"\xff\xfe"),  # not UTF-8
    page_token(b"[1767225600000"),  # not JSON
    page_token(b'{"stamp": 1767225600000, "id": "o-1"}'),
    page_token(b"[1767225600000]"),
    page_token(b'["1767225600000", "o-1"]'),
    page_token(b'[1767225600000.5, "o-1"]'),
    page_token(b'[true, "o-1"]'),
    page_token(b'[-1, "o-1"]'),
    page_token(b'[253402300800000, "o-1"]'),  # after the year 9999
    page_token(b'[1767225600000, ""]'),  # no ticket has an empty id
    page_token(b'[1767225600000, "o-1", "x"]'),
    page_token(b'["Bao Bar", "b-1"]'),  # the restaurant list's
    page_token(b"[" * 3000),  # deeper than the JSON decoder goes
    "A" * 4097,
]


@pytest.mark.parametrize("path", ["", "/history"])
@pytest.mark.parametrize("after", MALFORMED_TOKENS)
def test_a_malformed_page_token_is_400_naming_after(
    kitchen: Restaurant, path: str, after: str
) -> None:
    response = queue(kitchen, f"{path}?after={after}")

    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert list(fields) == ["after"]
    # Only a token past 4096 characters is refused for its length, before it is read.
    assert ("at most 4096" if len(after) > 4096 else "page token") in fields["after"]


def test_a_restaurant_sees_only_its_own_orders(kitchen: Restaurant) -> None:
    kitchen.open_restaurant("r-2")
    kitchen.receive(kitchen.order_status("o-9", restaurant="r-2"))
    place_and_finish(kitchen, "o-2", "cancelled")
    place_and_finish(kitchen, "o-8", "cancelled", restaurant_id="r-2")
    assert [t["id"] for t in queue(kitchen).get_json()["orders"]] == ["o-1"]
    assert [t["id"] for t in queue(kitchen, restaurant_id="r-2").get_json()["orders"]] == ["o-9"]
    assert ids(history(kitchen)) == ["o-2"]
    assert ids(history(kitchen, restaurant_id="r-2")) == ["o-8"]
    response = kitchen.client("kitchen-bff").get(
        "/restaurants/r-2/orders/o-1", headers=kitchen.staff("r-2")
    )
    assert response.status_code == 404


def test_orders_of_a_restaurant_on_its_own_point_of_sale_are_not_queued(
    restaurant: Restaurant,
) -> None:
    restaurant.open_restaurant("r-1", ordering="pos")
    restaurant.receive(restaurant.order_status("o-1"), restaurant.order_status("o-1", "cancelled"))
    assert queue(restaurant).get_json() == {"orders": [], "next": None}
    assert ticket(restaurant) is None
    assert restaurant.system.faults("restaurant") == []


def test_a_restaurant_switching_to_its_point_of_sale_stops_queueing_new_orders(
    kitchen: Restaurant,
) -> None:
    kitchen.open_restaurant("r-1", ordering="pos")
    kitchen.receive(kitchen.order_status("o-2"))
    assert [t["id"] for t in queue(kitchen).get_json()["orders"]] == ["o-1"]


def test_an_order_that_arrives_before_its_restaurant_waits_for_it(
    restaurant: Restaurant, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        restaurant.system.inject("order", Topic.EXTERNAL, restaurant.order_status("o-1"))
        restaurant.open_restaurant("r-1")
    [waited, *_] = [r for r in caplog.records if "has no profile here yet" in r.getMessage()]
    # a wait by design: information, not a warning with a traceback
    assert waited.getMessage() == (
        "waits, asking for redelivery: restaurant r-1 has no profile here yet"
    )
    assert (waited.levelno, waited.exc_info) == (logging.INFO, None)
    assert status_of(restaurant) == "new"
    assert restaurant.system.faults("restaurant") == []


def test_an_order_for_a_restaurant_never_seen_ends_as_a_fault(restaurant: Restaurant) -> None:
    restaurant.receive(restaurant.order_status("o-1", restaurant="r-404"))
    [fault] = restaurant.system.faults("restaurant")
    assert fault["reason"] == "dead-letter"
    assert fault["function"] == "kitchen-bff-listener"
    assert ticket(restaurant) is None


def test_a_repeated_placed_event_does_not_reset_the_ticket(kitchen: Restaurant) -> None:
    act(kitchen, "accept", {"prepMinutes": 15})
    kitchen.receive(kitchen.order_status("o-1"))
    assert status_of(kitchen) == "accepted"
    assert len(queue(kitchen).get_json()["orders"]) == 1


def test_a_stale_profile_event_does_not_change_how_orders_are_taken(
    restaurant: Restaurant,
) -> None:
    restaurant.clock.advance(60_000)
    restaurant.open_restaurant("r-1", ordering="kitchen")
    stale = {"id": "r-1", **PROFILE, "ordering": "pos"}
    restaurant.emit_internal("restaurant-updated", "restaurant", stale, "r-1", timestamp=START)
    restaurant.receive(restaurant.order_status("o-1"))
    assert status_of(restaurant) == "new"


def test_of_two_profile_saves_in_one_millisecond_the_later_ordering_is_kept_in_any_order(
    restaurant: Restaurant, tmp_path: Path
) -> None:
    # GIVEN staff switch r-1 to the kitchen and then to its point of sale, in one millisecond
    saver = Restaurant(tmp_path)
    saver.open_restaurant("r-1", ordering="kitchen")
    saver.open_restaurant("r-1", ordering="pos")
    to_kitchen, to_pos = saver.bus("restaurant-updated")
    assert to_kitchen.timestamp == to_pos.timestamp  # the premise: their time cannot tell
    # WHEN the kitchen hears of them in reverse order (the first was retried, or overtaken)
    for event in (to_pos, to_kitchen):
        restaurant.system.inject("restaurant", Topic.BUS, event)
    restaurant.system.run_until_quiet()
    # THEN an order that does not say where it goes follows the later save: the point of sale
    restaurant.receive(restaurant.order_status("o-1"))
    assert ticket(restaurant) is None
    assert restaurant.system.faults("restaurant") == []


# -- the history -----------------------------------------------------------------------


def test_the_history_holds_the_finished_tickets_the_latest_to_finish_first(
    kitchen: Restaurant,
) -> None:
    kitchen.clock.advance(60_000)
    late = kitchen.order_status("o-4")
    kitchen.clock.advance(60_000)
    place_and_finish(kitchen, "o-2", "picked-up")
    kitchen.receive(late)  # stamped before o-2, stored after it
    kitchen.clock.advance(60_000)
    place_and_finish(kitchen, "o-3", "cancelled")
    kitchen.clock.advance(60_000)
    act(kitchen, "reject", {"reason": "out of mozzarella"}, order_id="o-4")
    kitchen.receive(kitchen.order_status("o-5"))
    act(kitchen, "accept", {"prepMinutes": 10}, order_id="o-5")
    response = history(kitchen)
    assert response.status_code == 200
    assert response.get_json()["next"] is None
    found = response.get_json()["orders"]
    assert [(t["id"], t["status"], t["receivedAt"], t["finishedAt"]) for t in found] == [
        ("o-4", "rejected", START + 60_000, START + 240_000),
        ("o-3", "cancelled", START + 180_000, START + 180_000),
        ("o-2", "picked-up", START + 120_000, START + 120_000),
    ]
    assert found[0]["reason"] == "out of mozzarella"
    assert ticket(kitchen, "o-5") is not None
    assert [t["finishedAt"] for t in queue(kitchen).get_json()["orders"]] == [None, None]


def test_a_ticket_that_finishes_while_a_client_pages_the_history_joins_its_first_page(
    kitchen: Restaurant,
) -> None:
    # GIVEN o-1, o-3 and o-5 finished, and o-4, sent between o-3 and o-5, accepted
    act(kitchen, "reject", {"reason": "busy"})
    kitchen.clock.advance(60_000)
    place_and_finish(kitchen, "o-3", "rejected")
    kitchen.clock.advance(60_000)
    kitchen.receive(kitchen.order_status("o-4"))
    act(kitchen, "accept", {"prepMinutes": 10}, order_id="o-4")
    kitchen.clock.advance(60_000)
    place_and_finish(kitchen, "o-5", "rejected")
    # WHEN a client reads the history a ticket a page, and o-4 is collected after its second
    page = history(kitchen, "?limit=1").get_json()
    seen = [[t["id"] for t in page["orders"]]]
    while page["next"] is not None:
        page = history(kitchen, f"?limit=1&after={page['next']}").get_json()
        seen.append([t["id"] for t in page["orders"]])
        if len(seen) == 2:
            kitchen.clock.advance(60_000)
            kitchen.receive(kitchen.order_status("o-4", "picked-up"))
    # ... and then, as it polls, reads the history again from its first page until the
    # ticket it saw first
    page = history(kitchen, "?limit=1").get_json()
    polled = [t["id"] for t in page["orders"]]
    while page["next"] is not None and "o-5" not in polled:
        page = history(kitchen, f"?limit=1&after={page['next']}").get_json()
        polled += [t["id"] for t in page["orders"]]

    # THEN o-4 joined the history's start, where the poll finds it, not the place Order's
    # stamp would give it, behind the pages the client had read
    assert seen == [["o-5"], ["o-3"], ["o-1"]]
    assert polled == ["o-4", "o-5"]
    shown = history(kitchen).get_json()["orders"]
    assert [(t["id"], t["receivedAt"], t["finishedAt"]) for t in shown] == [
        ("o-4", START + 120_000, START + 240_000),
        ("o-5", START + 180_000, START + 180_000),
        ("o-3", START + 60_000, START + 60_000),
        ("o-1", START, START),
    ]


def test_a_finished_ticket_stored_before_finished_at_is_listed_once_migrated(
    kitchen: Restaurant,
) -> None:
    """The history orders by ``finishedAt``, which Firestore requires: the migration gives a
    finished ticket stored without it the latest time it holds, leaving open ones and its
    revision."""
    act(kitchen, "reject", {"reason": "busy"})
    kitchen.clock.advance(60_000)
    kitchen.receive(kitchen.order_status("o-2"))
    act(kitchen, "accept", {"prepMinutes": 5}, order_id="o-2")
    kitchen.clock.advance(60_000)
    act(kitchen, "ready", None, order_id="o-2")
    kitchen.clock.advance(60_000)
    kitchen.receive(kitchen.order_status("o-2", "picked-up"))
    place_and_finish(kitchen, "o-3", "lapsed")
    kitchen.receive(kitchen.order_status("o-4"))
    legacy = {"queuedAt": None, "finishedAt": None}  # o-1 from before both stamps
    for order_id in ("o-1", "o-2", "o-3", "o-4"):
        old = ticket(kitchen, order_id)
        assert old is not None
        gone = {"finishedAt", *(legacy if order_id == "o-1" else ())}
        kitchen.store.put("tickets", order_id, {k: v for k, v in old.items() if k not in gone})
    assert ids(history(kitchen)) == []

    assert stamp_finished_tickets(kitchen.store) == 3
    assert stamp_finished_tickets(kitchen.store) == 0

    shown = history(kitchen).get_json()["orders"]
    lapsed_at = (ticket(kitchen, "o-3") or {})["lapsedAt"]
    assert [(t["id"], t["finishedAt"], t["revision"]) for t in shown] == [
        ("o-3", lapsed_at, 3),  # when the kitchen closed it
        ("o-2", START + 120_000, 4),  # when it was ready, the latest it holds
        ("o-1", START, 2),  # when Order sent it, all it holds
    ]
    assert "finishedAt" not in (ticket(kitchen, "o-4") or {})
    assert ids(queue(kitchen)) == ["o-4"]


def test_the_history_comes_a_page_at_a_time(kitchen: Restaurant) -> None:
    for n, final in enumerate(["rejected", "cancelled", "picked-up", "cancelled", "rejected"]):
        kitchen.clock.advance(60_000)
        place_and_finish(kitchen, f"o-{n + 2}", final)
    first = history(kitchen, "?limit=2").get_json()
    assert [t["id"] for t in first["orders"]] == ["o-6", "o-5"]
    assert first["next"] is not None
    second = history(kitchen, f"?limit=2&after={first['next']}").get_json()
    assert [t["id"] for t in second["orders"]] == ["o-4", "o-3"]
    last = history(kitchen, f"?limit=2&after={second['next']}").get_json()
    assert [t["id"] for t in last["orders"]] == ["o-2"]
    assert last["next"] is None
    assert ids(history(kitchen)) == ["o-6", "o-5", "o-4", "o-3", "o-2"]


def test_tickets_sharing_a_millisecond_are_split_between_pages_of_the_history(
    kitchen: Restaurant,
) -> None:
    # GIVEN five finished tickets received in one millisecond, between two others
    place_and_finish(kitchen, "o-0", "rejected")
    kitchen.clock.advance(60_000)
    kitchen.receive(*(kitchen.order_status(f"o-2{n}") for n in range(5)))
    for n in range(5):
        act(kitchen, "reject", {"reason": "busy"}, order_id=f"o-2{n}")
    kitchen.clock.advance(60_000)
    place_and_finish(kitchen, "o-9", "cancelled")

    # WHEN the history is read two tickets a page
    pages = read_whole(kitchen, "/history", "limit=2")

    # THEN no page holds more than two, and each ticket comes once, newest first and by id
    # (descending) within a millisecond
    assert pages == [["o-9", "o-24"], ["o-23", "o-22"], ["o-21", "o-20"], ["o-0"]]


def test_the_history_still_takes_a_time_as_before(kitchen: Restaurant) -> None:
    place_and_finish(kitchen, "o-2", "rejected")
    kitchen.clock.advance(60_000)
    place_and_finish(kitchen, "o-3", "cancelled")
    place_and_finish(kitchen, "o-4", "cancelled")
    kitchen.clock.advance(60_000)
    place_and_finish(kitchen, "o-5", "rejected")

    earlier = history(kitchen, f"?limit=1&before={START + 120_000}").get_json()

    assert [t["id"] for t in earlier["orders"]] == ["o-4"]
    assert ids(history(kitchen, f"?after={earlier['next']}")) == ["o-3", "o-2"]
    assert ids(history(kitchen, f"?before={START + 60_000}")) == ["o-2"]
    assert ids(history(kitchen, f"?before={START}")) == []


def test_a_page_token_sent_as_before_is_400_pointing_to_after(kitchen: Restaurant) -> None:
    place_and_finish(kitchen, "o-2", "rejected")
    place_and_finish(kitchen, "o-3", "rejected")
    token = history(kitchen, "?limit=1").get_json()["next"]

    response = history(kitchen, f"?before={token}")

    assert response.status_code == 400
    assert "?after=" in response.get_json()["fields"]["before"]
    both = history(kitchen, f"?after={token}&before={START}")
    assert both.status_code == 400
    assert "not both" in both.get_json()["fields"]["before"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=ten", "limit"),
        ("?before=-1", "before"),
        ("?before=yesterday", "before"),
        ("?status=rejected", "status"),
        ("?page=2", "page"),
    ],
)
def test_a_bad_page_of_the_history_is_400(kitchen: Restaurant, query: str, field: str) -> None:
    place_and_finish(kitchen, "o-2", "rejected")
    response = history(kitchen, query)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert f"invalid query: {field}: " in response.get_json()["error"]


# -- accept, reject, ready -------------------------------------------------------------


def test_accept_then_ready_publishes_both_answers(kitchen: Restaurant) -> None:
    accepted = act(kitchen, "accept", {"prepMinutes": 15})
    assert accepted.status_code == 200
    assert accepted.get_json()["status"] == "accepted"
    assert accepted.get_json()["prepMinutes"] == 15
    kitchen.system.run_until_quiet()
    kitchen.clock.advance(900_000)
    ready = act(kitchen, "ready")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ready"
    assert ready.get_json()["readyAt"] == START + 900_000
    kitchen.system.run_until_quiet()
    assert [(e.type, e.partition_key, e.body) for e in kitchen.external(*ANSWERS)] == [
        (OrderAccepted.TYPE, "o-1", {"id": "o-1", "restaurantId": "r-1", "prepMinutes": 15}),
        (OrderReady.TYPE, "o-1", {"id": "o-1", "restaurantId": "r-1", "readyAt": START + 900_000}),
    ]


def test_reject_publishes_the_reason(kitchen: Restaurant) -> None:
    response = act(kitchen, "reject", {"reason": "  out of mozzarella "})
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert response.get_json()["reason"] == "out of mozzarella"
    kitchen.system.run_until_quiet()
    [rejected] = kitchen.external(*ANSWERS)
    assert rejected.type == OrderRejected.TYPE
    assert rejected.body == {"id": "o-1", "restaurantId": "r-1", "reason": "out of mozzarella"}


@pytest.mark.parametrize("steps", [["accept"], ["accept", "ready"]])
def test_an_accepted_order_the_kitchen_cannot_finish_can_still_be_rejected(
    kitchen: Restaurant, steps: list[str]
) -> None:
    for step in steps:
        act(kitchen, step, {"prepMinutes": 15} if step == "accept" else None)
    response = act(kitchen, "reject", {"reason": "the oven broke"})
    assert (response.status_code, response.get_json()["status"]) == (200, "rejected")
    assert [t["id"] for t in queue(kitchen).get_json()["orders"]] == []
    kitchen.system.run_until_quiet()
    rejected = kitchen.external(OrderRejected.TYPE)
    assert [e.body for e in rejected] == [
        {"id": "o-1", "restaurantId": "r-1", "reason": "the oven broke"}
    ]


def test_an_order_its_driver_collected_can_no_longer_be_rejected(kitchen: Restaurant) -> None:
    act(kitchen, "accept", {"prepMinutes": 15})
    act(kitchen, "ready")
    kitchen.receive(kitchen.order_status("o-1", "picked-up"))
    response = act(kitchen, "reject", {"reason": "too late"})
    assert response.status_code == 409
    assert (
        "is picked-up; it can be rejected only when new or accepted or ready"
        in (response.get_json()["error"])
    )


@pytest.mark.parametrize(
    ("first", "then", "message"),
    [
        (
            ("accept", {"prepMinutes": 5}),
            ("accept", {"prepMinutes": 10}),
            "was accepted already, with prepMinutes 5",
        ),
        (
            ("reject", {"reason": "busy"}),
            ("reject", {"reason": "out of dough"}),
            "was rejected already, with reason 'busy'",
        ),
        (("reject", {"reason": "busy"}), ("accept", {"prepMinutes": 5}), "is rejected"),
        (None, ("ready", None), "is new; it can be marked ready only when accepted"),
    ],
)
def test_a_command_in_the_wrong_state_is_409_and_changes_nothing(
    kitchen: Restaurant,
    first: Step | None,
    then: Step,
    message: str,
) -> None:
    if first is not None:
        act(kitchen, *first)
    kitchen.system.run_until_quiet()
    before, published = ticket(kitchen), len(kitchen.external(*ANSWERS))
    response = act(kitchen, *then)
    assert response.status_code == 409
    assert message in response.get_json()["error"]
    kitchen.system.run_until_quiet()
    assert ticket(kitchen) == before
    assert len(kitchen.external(*ANSWERS)) == published


@pytest.mark.parametrize(
    "steps",
    [
        [("accept", {"prepMinutes": 5})],
        [("reject", {"reason": "busy"})],
        [("accept", {"prepMinutes": 5}), ("reject", {"reason": "the oven broke"})],
        [("accept", {"prepMinutes": 5}), ("ready", None)],
    ],
    ids=["accept", "reject", "reject-accepted", "ready"],
)
def test_a_command_asking_again_for_what_it_got_is_200_with_the_ticket_and_publishes_nothing(
    kitchen: Restaurant, steps: list[Step]
) -> None:
    """Retried without an ``Idempotency-Key`` after a lost answer, or a colleague's same
    answer: the ticket holds what is asked already, so it is no conflict; nothing changes."""
    for step in steps:
        answered = act(kitchen, *step)
        assert answered.status_code == 200, answered.get_json()
    kitchen.system.run_until_quiet()
    before, published = ticket(kitchen), len(kitchen.external(*ANSWERS))
    kitchen.clock.advance(60_000)
    again = act(kitchen, *steps[-1])
    assert again.status_code == 200, again.get_json()
    assert again.get_json() == answered.get_json()
    kitchen.system.run_until_quiet()
    assert ticket(kitchen) == before
    assert len(kitchen.external(*ANSWERS)) == published


def test_an_accept_asked_again_after_the_time_to_answer_is_200(kitchen: Restaurant) -> None:
    """The order was accepted in time: asking again for it, late, is no late answer."""
    assert act(kitchen, "accept", {"prepMinutes": 5}).status_code == 200
    kitchen.clock.advance(ANSWER_MS + 1)
    again = act(kitchen, "accept", {"prepMinutes": 5})
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["status"] == "accepted"


@pytest.mark.parametrize(
    ("steps", "then", "message"),
    [
        (
            [("accept", {"prepMinutes": 5}), ("ready", None)],
            ("accept", {"prepMinutes": 5}),
            "is ready",
        ),
        ([("reject", {"reason": "busy"})], ("ready", None), "is rejected"),
    ],
)
def test_a_command_asking_for_a_step_the_order_has_passed_is_409(
    kitchen: Restaurant, steps: list[Step], then: Step, message: str
) -> None:
    for step in steps:
        assert act(kitchen, *step).status_code == 200
    response = act(kitchen, *then)
    assert response.status_code == 409
    assert message in response.get_json()["error"]


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(kitchen: Restaurant) -> None:
    headers = {**kitchen.staff(), "Idempotency-Key": "tablet-7:accept:o-1"}
    first = act(kitchen, "accept", {"prepMinutes": 15}, headers=headers)
    again = act(kitchen, "accept", {"prepMinutes": 15}, headers=headers)
    assert again.status_code == first.status_code == 200
    assert again.get_json() == first.get_json()
    kitchen.system.run_until_quiet()
    assert len(kitchen.external(OrderAccepted.TYPE)) == 1


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("accept", {"prepMinutes": 0}, "prepMinutes"),
        ("accept", {"prepMinutes": 241}, "prepMinutes"),
        ("accept", {"prepMinutes": "15"}, "prepMinutes"),
        ("accept", {}, "prepMinutes"),
        ("reject", {"reason": "   "}, "reason"),
        ("reject", {"reason": "x" * 501}, "reason"),
        ("reject", {"reason": "busy", "refund": True}, "refund"),
    ],
)
def test_an_invalid_command_is_400_and_changes_nothing(
    kitchen: Restaurant, action: str, body: dict[str, Any], field: str
) -> None:
    response = act(kitchen, action, body)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert status_of(kitchen) == "new"


def test_an_unknown_order_is_404(kitchen: Restaurant) -> None:
    assert act(kitchen, "accept", {"prepMinutes": 5}, order_id="o-404").status_code == 404
    response = kitchen.client("kitchen-bff").get(
        "/restaurants/r-1/orders/o-404", headers=kitchen.staff()
    )
    assert response.status_code == 404


# -- who may ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body"),
    [("accept", {"prepMinutes": 5}), ("reject", {"reason": "busy"}), ("ready", None)],
)
def test_staff_of_another_restaurant_cannot_act_on_the_order(
    kitchen: Restaurant, action: str, body: dict[str, Any] | None
) -> None:
    before = ticket(kitchen)
    response = act(kitchen, action, body, headers=kitchen.staff("r-2"))
    assert response.status_code == 403
    assert ticket(kitchen) == before
    kitchen.system.run_until_quiet()
    assert kitchen.external(*ANSWERS) == []


def test_staff_of_another_restaurant_cannot_read_the_queue(kitchen: Restaurant) -> None:
    place_and_finish(kitchen, "o-2", "rejected")
    assert queue(kitchen, headers=kitchen.staff("r-2")).status_code == 403
    refused = history(kitchen, headers=kitchen.staff("r-2"))
    assert refused.status_code == 403
    assert refusal(refused) == {
        "error": "staff of restaurant r-2 may not see orders of r-1",
    }
    response = kitchen.client("kitchen-bff").get(
        "/restaurants/r-1/orders/o-1", headers=kitchen.staff("r-2")
    )
    assert response.status_code == 403


@pytest.mark.parametrize(("actor", "status"), [(None, 401), ("customer", 403), ("driver", 403)])
def test_callers_who_are_not_staff_are_refused(
    kitchen: Restaurant, actor: Actor | None, status: int
) -> None:
    headers = {} if actor is None else kitchen.bearer(Principal(actor, "alice"))
    assert act(kitchen, "accept", {"prepMinutes": 5}, headers=headers).status_code == status
    assert queue(kitchen, headers=headers).status_code == status
    assert history(kitchen, headers=headers).status_code == status
    assert status_of(kitchen) == "new"


# -- the order moves on ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("actions", "status", "final"),
    [
        ([], "cancelled", "cancelled"),
        ([("accept", {"prepMinutes": 5})], "cancelled", "cancelled"),
        ([("accept", {"prepMinutes": 5}), ("ready", None)], "cancelled", "cancelled"),
        ([("reject", {"reason": "busy"})], "cancelled", "rejected"),
        ([("accept", {"prepMinutes": 5}), ("ready", None)], "picked-up", "picked-up"),
    ],
)
def test_a_cancelled_or_collected_order_closes_its_ticket(
    kitchen: Restaurant, actions: list[Step], status: str, final: str
) -> None:
    for action in actions:
        act(kitchen, *action)
    kitchen.receive(kitchen.order_status("o-1", status))
    kitchen.receive(kitchen.order_status("o-1", status))
    assert status_of(kitchen) == final


@pytest.mark.parametrize("reason", ["customer", "restaurant-timeout", "no-driver"])
def test_the_kitchen_sees_why_order_withdrew_an_order(kitchen: Restaurant, reason: str) -> None:
    kitchen.receive(kitchen.order_status("o-1", "cancelled", reason=reason))

    [ticket] = (
        kitchen.client("kitchen-bff")
        .get("/restaurants/r-1/orders/history", headers=kitchen.staff())
        .get_json()["orders"]
    )

    assert (ticket["status"], ticket["cancelledFor"]) == ("cancelled", reason)


def test_an_order_not_cancelled_has_no_cancellation_reason(kitchen: Restaurant) -> None:
    act(kitchen, "reject", {"reason": "busy"})
    kitchen.receive(kitchen.order_status("o-1", "cancelled", reason="rejected"))

    ticket = (
        kitchen.client("kitchen-bff")
        .get("/restaurants/r-1/orders/o-1", headers=kitchen.staff())
        .get_json()
    )

    shown = (ticket["status"], ticket["reason"], ticket["cancelledFor"])
    assert shown == ("rejected", "busy", None)


def test_a_cancelled_order_can_no_longer_be_accepted(kitchen: Restaurant) -> None:
    kitchen.receive(kitchen.order_status("o-1", "cancelled", reason="restaurant-timeout"))
    response = act(kitchen, "accept", {"prepMinutes": 5})
    assert response.status_code == 409
    assert "is cancelled" in response.get_json()["error"]


@pytest.mark.parametrize(
    ("opened", "then"),
    [
        ([], ("accept", {"prepMinutes": 5})),
        ([], ("reject", {"reason": "busy"})),
        ([("accept", {"prepMinutes": 5})], ("ready", None)),
        ([("accept", {"prepMinutes": 5}), ("ready", None)], ("reject", {"reason": "burnt"})),
    ],
)
def test_a_command_on_an_order_withdrawn_meanwhile_is_409_saying_why_and_publishes_nothing(
    kitchen: Restaurant, opened: list[Step], then: Step
) -> None:
    for step in opened:
        assert act(kitchen, *step).status_code == 200
    kitchen.receive(kitchen.order_status("o-1", "cancelled", reason="no-driver"))
    before, published = ticket(kitchen), len(kitchen.external(*ANSWERS))
    response = act(kitchen, *then)
    assert response.status_code == 409
    assert "o-1 is cancelled (by the Order subsystem: no-driver)" in response.get_json()["error"]
    kitchen.system.run_until_quiet()
    assert ticket(kitchen) == before
    assert len(kitchen.external(*ANSWERS)) == published


def test_a_late_cancellation_does_not_reopen_a_collected_order(kitchen: Restaurant) -> None:
    act(kitchen, "accept", {"prepMinutes": 5})
    act(kitchen, "ready")
    kitchen.receive(kitchen.order_status("o-1", "picked-up"))
    kitchen.receive(kitchen.order_status("o-1", "cancelled"))
    assert status_of(kitchen) == "picked-up"
    kitchen.system.run_until_quiet()
    assert [e.type for e in kitchen.external(*ANSWERS)] == [OrderAccepted.TYPE, OrderReady.TYPE]


def test_an_order_withdrawn_before_it_arrived_is_never_queued(restaurant: Restaurant) -> None:
    # Order may publish the cancellation first: its announcements come from unordered
    # triggers, and a failed one is retried after the next went out.
    restaurant.open_restaurant("r-1")
    restaurant.receive(restaurant.order_status("o-1", "cancelled", reason="customer"))
    restaurant.receive(restaurant.order_status("o-1", "placed"))
    restaurant.receive(restaurant.order_status("o-1", "cancelled", reason="customer"))

    staff, kitchen = restaurant.staff("r-1"), restaurant.client("kitchen-bff")
    queue = kitchen.get("/restaurants/r-1/orders", headers=staff).get_json()
    history = kitchen.get("/restaurants/r-1/orders/history", headers=staff).get_json()
    assert queue["orders"] == history["orders"] == []
    assert kitchen.get("/restaurants/r-1/orders/o-1", headers=staff).status_code == 404
    assert act(restaurant, "accept", {"prepMinutes": 5}).status_code == 404
    assert restaurant.external(*ANSWERS) == []


def test_an_order_withdrawn_before_it_arrived_is_no_fault_while_its_restaurant_is_unknown(
    restaurant: Restaurant,
) -> None:
    # An order that does not say where it goes waits for its restaurant's profile; once
    # withdrawn there is nothing to wait for.
    restaurant.receive(restaurant.order_status("o-1", "cancelled", reason="customer"))
    restaurant.receive(restaurant.order_status("o-1"))
    assert restaurant.system.faults("restaurant") == []
    restaurant.open_restaurant("r-1")
    assert queue(restaurant).get_json() == {"orders": [], "next": None}


@pytest.mark.parametrize("steps", [["accept"], ["accept", "ready"]])
def test_an_order_collected_before_its_rejection_reached_order_shows_picked_up(
    kitchen: Restaurant, steps: list[str]
) -> None:
    # GIVEN the kitchen rejects an order whose driver, as Order heard first, collected it:
    # Order leaves the rejection aside (the food went out) and announces the pickup
    for step in steps:
        act(kitchen, step, {"prepMinutes": 15} if step == "accept" else None)
    assert act(kitchen, "reject", {"reason": "the oven broke"}).status_code == 200
    kitchen.receive(kitchen.order_status("o-1", "picked-up"))
    # THEN the kitchen's history says the driver collected it, with what the kitchen said
    [collected] = history(kitchen).get_json()["orders"]
    assert (collected["status"], collected["reason"]) == ("picked-up", "the oven broke")
    assert queue(kitchen).get_json() == {"orders": [], "next": None}
    kitchen.system.run_until_quiet()
    assert [e.type for e in kitchen.external(*ANSWERS)] == [
        *(OrderAccepted.TYPE, OrderReady.TYPE)[: len(steps)],
        OrderRejected.TYPE,
    ]


def test_a_pickup_heard_after_the_later_cancellation_still_shows_the_order_collected(
    kitchen: Restaurant,
) -> None:
    # GIVEN a collected order Order cancelled later (not delivered in time), the
    # cancellation's announcement overtaking the pickup's
    act(kitchen, "accept", {"prepMinutes": 5})
    act(kitchen, "ready")
    picked_up = kitchen.order_status("o-1", "picked-up")
    kitchen.clock.advance(2 * 3600_000)
    kitchen.receive(kitchen.order_status("o-1", "cancelled", reason="not-delivered"))
    kitchen.receive(picked_up)
    # THEN the ticket ends as when they came in order (a late cancellation does not
    # reopen a collected order): the driver collected it
    assert status_of(kitchen) == "picked-up"
    one = kitchen.client("kitchen-bff").get("/restaurants/r-1/orders/o-1", headers=kitchen.staff())
    assert one.get_json()["cancelledFor"] is None
    kitchen.system.run_until_quiet()
    assert [e.type for e in kitchen.external(*ANSWERS)] == [OrderAccepted.TYPE, OrderReady.TYPE]


def test_a_delivered_order_leaves_the_queue_as_collected_whether_or_not_its_pickup_came(
    kitchen: Restaurant,
) -> None:
    # GIVEN a ready order whose pickup the kitchen has not heard of (the ingress lost or
    # skipped it, or it comes late): Order delivers only an order its driver collected
    act(kitchen, "accept", {"prepMinutes": 5})
    act(kitchen, "ready")
    picked_up = kitchen.order_status("o-1", "picked-up")
    kitchen.receive(kitchen.order_status("o-1", "delivered"))
    # THEN the driver collected it: it has left the queue for the history
    assert queue(kitchen).get_json() == {"orders": [], "next": None}
    [collected] = history(kitchen).get_json()["orders"]
    assert (collected["id"], collected["status"]) == ("o-1", "picked-up")
    # AND a pickup heard late changes nothing: the history shows the order once
    kitchen.receive(picked_up, kitchen.order_status("o-1", "delivered"))
    assert history(kitchen).get_json()["orders"] == [collected]
    assert kitchen.system.faults("restaurant") == []
    kitchen.system.run_until_quiet()
    assert [e.type for e in kitchen.external(*ANSWERS)] == [OrderAccepted.TYPE, OrderReady.TYPE]


def test_a_rejected_order_whose_delivery_is_heard_without_its_pickup_shows_picked_up(
    kitchen: Restaurant,
) -> None:
    # GIVEN the kitchen rejects an order Order had heard collected (it left the rejection
    # aside), and the kitchen hears only of its delivery
    act(kitchen, "accept", {"prepMinutes": 15})
    assert act(kitchen, "reject", {"reason": "the oven broke"}).status_code == 200
    kitchen.receive(kitchen.order_status("o-1", "delivered"))
    # THEN, as for a pickup, the history says the driver collected it
    [collected] = history(kitchen).get_json()["orders"]
    assert (collected["status"], collected["reason"]) == ("picked-up", "the oven broke")


def test_a_legacy_order_withdrawn_under_the_point_of_sale_is_not_queued_after_a_switch(
    restaurant: Restaurant,
) -> None:
    # GIVEN an order that does not say where it goes, withdrawn while r-1 took orders at its
    # point of sale, its placement overtaken by the withdrawal
    restaurant.open_restaurant("r-1", ordering="pos")
    placed = restaurant.order_status("o-1")
    restaurant.receive(restaurant.order_status("o-1", "cancelled", reason="customer"))
    # WHEN r-1 switches to the kitchen before the placement arrives
    restaurant.open_restaurant("r-1", ordering="kitchen")
    restaurant.receive(placed)
    # THEN the kitchen never queues it: it was withdrawn
    assert queue(restaurant).get_json() == {"orders": [], "next": None}
    assert history(restaurant).get_json()["orders"] == []
    assert act(restaurant, "accept", {"prepMinutes": 5}).status_code == 404
    assert restaurant.system.faults("restaurant") == []


def test_a_legacy_order_left_to_the_point_of_sale_stays_there_when_heard_again(
    restaurant: Restaurant,
) -> None:
    # GIVEN an order that does not say where it goes, left to r-1's point of sale, and r-1
    # switching to the kitchen afterwards
    restaurant.open_restaurant("r-1", ordering="pos")
    restaurant.receive(restaurant.order_status("o-1"))
    restaurant.open_restaurant("r-1", ordering="kitchen")
    # WHEN its placement is heard again (redelivered), before or after its withdrawal
    restaurant.receive(restaurant.order_status("o-1"))
    restaurant.receive(restaurant.order_status("o-1", "cancelled", reason="customer"))
    restaurant.receive(restaurant.order_status("o-1"))
    # THEN the kitchen keeps the way it took first: the point of sale has it
    assert queue(restaurant).get_json() == {"orders": [], "next": None}
    assert history(restaurant).get_json()["orders"] == []
    assert ticket(restaurant) is None


def test_a_blank_rejection_reason_is_400_saying_it_is_blank(kitchen: Restaurant) -> None:
    response = act(kitchen, "reject", {"reason": " \t\n "})
    assert response.status_code == 400
    assert response.get_json()["fields"] == {
        "reason": "say why the kitchen refuses the order: the reason is blank"
    }
    assert status_of(kitchen) == "new"


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("Sorry\x1b[2J", "must not hold control characters such as '\\x1b'"),
        ("Out of flour\x00", "must not hold control characters such as '\\x00'"),
        ("\u200b\u2060", "must hold a visible character"),
    ],
)
def test_a_rejection_reason_the_customer_cannot_read_is_400_and_nothing_is_published(
    kitchen: Restaurant, reason: str, message: str
) -> None:
    response = act(kitchen, "reject", {"reason": reason})
    assert response.status_code == 400
    assert message in response.get_json()["fields"]["reason"]
    kitchen.system.run_until_quiet()
    assert status_of(kitchen) == "new"
    assert kitchen.external(*ANSWERS) == []


def test_a_rejection_reason_may_break_lines(kitchen: Restaurant) -> None:
    response = act(kitchen, "reject", {"reason": "Oven broken.\r\n\tSorry!"})
    assert response.status_code == 200, response.get_json()
    kitchen.system.run_until_quiet()
    [rejected] = kitchen.external(OrderRejected.TYPE)
    assert rejected.body["reason"] == "Oven broken.\r\n\tSorry!"


def test_the_api_documents_its_routes(restaurant: Restaurant) -> None:
    paths = restaurant.client("kitchen-bff").get("/openapi.json").get_json()["paths"]
    orders = "/restaurants/{restaurant_id}/orders"
    assert {path: sorted(ops) for path, ops in paths.items()} == {
        orders: ["get"],
        orders + "/history": ["get"],
        orders + "/{order_id}": ["get"],
        orders + "/{order_id}/accept": ["post"],
        orders + "/{order_id}/reject": ["post"],
        orders + "/{order_id}/ready": ["post"],
    }


@pytest.mark.parametrize("action", ["accept", "reject", "ready"])
def test_the_api_documents_what_asking_again_is_answered(
    restaurant: Restaurant, action: str
) -> None:
    paths = restaurant.client("kitchen-bff").get("/openapi.json").get_json()["paths"]
    operation = paths[f"/restaurants/{{restaurant_id}}/orders/{{order_id}}/{action}"]["post"]
    assert "is answered 200 with the ticket" in operation["description"]
    assert "publishes nothing" in operation["description"]


def test_the_api_documents_the_queue_and_history_parameters(restaurant: Restaurant) -> None:
    paths = restaurant.client("kitchen-bff").get("/openapi.json").get_json()["paths"]
    orders = "/restaurants/{restaurant_id}/orders"

    def query_parameters(path: str) -> dict[str, Any]:
        parameters = paths[path]["get"]["parameters"]
        return {p["name"]: p["schema"] for p in parameters if p["in"] == "query"}

    assert query_parameters(orders)["status"]["enum"] == ["new", "accepted", "ready"]
    paging = query_parameters(orders + "/history")
    assert sorted(paging) == ["after", "before", "limit"]
    assert (paging["limit"]["minimum"], paging["limit"]["maximum"]) == (1, 100)
    assert paging["limit"]["default"] == 20
    queued = query_parameters(orders)
    assert sorted(queued) == ["after", "limit", "status"]
    assert (queued["limit"]["minimum"], queued["limit"]["maximum"]) == (1, 100)
    assert queued["limit"]["default"] == 100


# -- the time to answer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "body"),
    [("accept", {"prepMinutes": 15}), ("reject", {"reason": "too late"})],
)
def test_a_new_order_answered_after_its_time_ran_out_is_refused_and_nothing_is_published(
    kitchen: Restaurant, command: str, body: dict[str, object]
) -> None:
    kitchen.clock.advance(ANSWER_MS + 1)

    response = kitchen.client("kitchen-bff").post(
        f"/restaurants/r-1/orders/o-1/{command}", json=body, headers=kitchen.staff()
    )

    assert response.status_code == 409
    assert refusal(response) == {
        "error": "the time to answer order o-1 ran out at 2026-01-01T00:10:00+00:00: "
        "the Order subsystem cancels it"
    }
    kitchen.system.run_until_quiet()
    assert queue(kitchen, "?status=new").get_json()["orders"][0]["status"] == "new"
    assert kitchen.bus("order-accepted", "order-rejected") == []


def test_a_new_order_whose_time_ran_out_shows_expired_until_order_cancels_it(
    kitchen: Restaurant,
) -> None:
    kitchen.receive(kitchen.order_status("o-2"))
    act(kitchen, "accept", {"prepMinutes": 15}, "o-2")
    kitchen.clock.advance(ANSWER_MS)
    assert [t["expired"] for t in queue(kitchen).get_json()["orders"]] == [False, False]

    kitchen.clock.advance(1)
    listed = queue(kitchen).get_json()["orders"]
    assert [(t["id"], t["status"], t["expired"]) for t in listed] == [
        ("o-1", "new", True),
        ("o-2", "accepted", False),
    ]
    one = kitchen.client("kitchen-bff").get("/restaurants/r-1/orders/o-1", headers=kitchen.staff())
    assert one.get_json()["expired"] is True

    kitchen.receive(kitchen.order_status("o-1", "cancelled", reason="restaurant-timeout"))
    assert ids(queue(kitchen)) == ["o-2"]
    [cancelled] = history(kitchen).get_json()["orders"]
    assert (cancelled["status"], cancelled["expired"]) == ("cancelled", False)


def test_an_answer_at_the_last_millisecond_is_in_time(kitchen: Restaurant) -> None:
    kitchen.clock.advance(ANSWER_MS)

    response = kitchen.client("kitchen-bff").post(
        "/restaurants/r-1/orders/o-1/accept", json={"prepMinutes": 15}, headers=kitchen.staff()
    )

    assert response.status_code == 200
    assert response.get_json()["status"] == "accepted"


def test_an_accepted_order_may_still_be_rejected_after_the_time_to_answer(
    kitchen: Restaurant,
) -> None:
    accepted = kitchen.client("kitchen-bff").post(
        "/restaurants/r-1/orders/o-1/accept", json={"prepMinutes": 15}, headers=kitchen.staff()
    )
    assert accepted.status_code == 200
    kitchen.clock.advance(ANSWER_MS + 1)

    response = kitchen.client("kitchen-bff").post(
        "/restaurants/r-1/orders/o-1/reject", json={"reason": "oven broke"}, headers=kitchen.staff()
    )

    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"


def test_an_order_from_before_order_said_its_time_to_answer_has_none(kitchen: Restaurant) -> None:
    kitchen.receive(kitchen.order_status("o-2", "placed", answerBy=None))
    kitchen.clock.advance(ANSWER_MS + 1)

    response = kitchen.client("kitchen-bff").post(
        "/restaurants/r-1/orders/o-2/accept", json={"prepMinutes": 15}, headers=kitchen.staff()
    )

    assert response.status_code == 200
    assert response.get_json()["answerBy"] is None


# -- what the kitchen remembers of orders it keeps no ticket of ----------------------------


def a_month_after(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC) + timedelta(days=30)


def test_a_withdrawal_heard_first_leaves_a_marker_firestore_deletes_a_month_later(
    restaurant: Restaurant,
) -> None:
    restaurant.open_restaurant("r-1")
    restaurant.receive(restaurant.order_status("o-1", "cancelled", reason="customer"))
    marker = ticket(restaurant)
    assert marker is not None and marker["status"] == "withdrawn-unseen"
    assert marker["expireAt"] == a_month_after(START)
    # AND the order arriving late is still kept out, as before
    restaurant.receive(restaurant.order_status("o-1"))
    assert queue(restaurant).get_json() == {"orders": [], "next": None}


def test_a_legacy_order_left_to_the_point_of_sale_is_noted_until_a_month_later(
    restaurant: Restaurant,
) -> None:
    restaurant.open_restaurant("r-1", ordering="pos")
    restaurant.receive(restaurant.order_status("o-1"))
    note = restaurant.store.get(LEFT_TO_POS, "o-1")
    assert note is not None and note["expireAt"] == a_month_after(START)


def stamped_in_1970(event: Envelope) -> Envelope:
    """``event`` as Order publishes it with its clock set back to the epoch."""
    return dataclasses.replace(event, timestamp=1)


def test_a_marker_of_an_order_stamped_long_ago_expires_a_month_after_it_was_heard(
    restaurant: Restaurant,
) -> None:
    """Order's clock set back: a marker expiring a month after the withdrawal's own time
    would be deleted at once, and the order arriving later queued, though withdrawn."""
    restaurant.open_restaurant("r-1")
    restaurant.clock.advance(60_000)
    withdrawn = restaurant.order_status("o-1", "cancelled", reason="customer")
    restaurant.receive(stamped_in_1970(withdrawn))
    marker = ticket(restaurant)
    assert marker is not None and marker["status"] == "withdrawn-unseen"
    assert marker["expireAt"] == a_month_after(START + 60_000)


def test_a_note_of_an_order_stamped_long_ago_expires_a_month_after_it_was_heard(
    restaurant: Restaurant,
) -> None:
    restaurant.open_restaurant("r-1", ordering="pos")
    restaurant.clock.advance(60_000)
    restaurant.receive(stamped_in_1970(restaurant.order_status("o-1")))
    note = restaurant.store.get(LEFT_TO_POS, "o-1")
    assert note is not None and note["expireAt"] == a_month_after(START + 60_000)


def forget_expired(restaurant: Restaurant) -> None:
    """Delete what Firestore's TTL policy deletes by now (the in-memory store keeps it)."""
    now = datetime.fromtimestamp(restaurant.clock.now_ms() / 1000, UTC)
    for collection in TOPOLOGY.ttl_collections:
        for doc in restaurant.store.query(collection):
            if doc.data.get("expireAt") is not None and doc.data["expireAt"] <= now:
                restaurant.store.delete(collection, doc.key)


@pytest.mark.parametrize("says_answer_by", [True, False], ids=["answer-by", "legacy"])
def test_an_order_heard_after_its_withdrawal_was_forgotten_is_not_queued(
    restaurant: Restaurant, says_answer_by: bool
) -> None:
    """A placed announcement resubmitted as a fault after the withdrawal's marker expired:
    Order cancelled the order a month ago, so nothing is queued for staff to cook."""
    restaurant.open_restaurant("r-1")
    placed = restaurant.order_status("o-1", **({} if says_answer_by else {"answerBy": None}))
    restaurant.receive(restaurant.order_status("o-1", "cancelled", reason="customer"))
    restaurant.clock.advance(31 * 24 * 3600_000)
    forget_expired(restaurant)
    assert ticket(restaurant) is None
    restaurant.receive(placed)
    assert ticket(restaurant) is None
    assert queue(restaurant).get_json() == {"orders": [], "next": None}
    assert act(restaurant, "accept", {"prepMinutes": 5}).status_code == 404
    assert restaurant.system.faults("restaurant") == []


def test_a_legacy_order_heard_after_its_point_of_sale_note_was_forgotten_is_not_queued(
    restaurant: Restaurant,
) -> None:
    """It went to the point of sale a month ago: the restaurant switching to its kitchen
    since does not bring it into the kitchen's queue."""
    restaurant.open_restaurant("r-1", ordering="pos")
    placed = restaurant.order_status("o-1")
    restaurant.receive(placed)
    restaurant.clock.advance(31 * 24 * 3600_000)
    restaurant.open_restaurant("r-1", ordering="kitchen")
    forget_expired(restaurant)
    assert restaurant.store.get(LEFT_TO_POS, "o-1") is None
    restaurant.receive(placed)
    assert ticket(restaurant) is None


@pytest.mark.parametrize("late", ["delivered", "picked-up", "cancelled"])
def test_a_word_of_a_collected_order_heard_after_its_note_was_forgotten_changes_nothing(
    kitchen: Restaurant, late: str
) -> None:
    """Order's other word of the collection (or a withdrawal) resubmitted after order-esg
    forgot which came first: the ticket stays collected and the kitchen publishes nothing."""
    act(kitchen, "accept", {"prepMinutes": 5})
    act(kitchen, "ready")
    kitchen.receive(kitchen.order_status("o-1", "picked-up"))
    before, published = ticket(kitchen), len(kitchen.external(*ANSWERS))
    kitchen.clock.advance(31 * 24 * 3600_000)
    forget_expired(kitchen)
    kitchen.receive(kitchen.order_status("o-1", late, reason="customer"))
    assert ticket(kitchen) == before
    assert len(kitchen.external(*ANSWERS)) == published
    assert kitchen.system.faults("restaurant") == []


@pytest.mark.parametrize(("late_ms", "queued"), [(0, True), (1, False)])
def test_an_order_is_queued_until_a_week_after_its_time_to_answer_ran_out(
    restaurant: Restaurant, late_ms: int, queued: bool
) -> None:
    restaurant.open_restaurant("r-1")
    placed = restaurant.order_status("o-1", ordering="kitchen")
    restaurant.clock.advance(ANSWER_MS + 7 * 24 * 3600_000 + late_ms)
    restaurant.receive(placed)
    assert (ticket(restaurant) is not None) is queued


def test_a_queued_ticket_never_expires(kitchen: Restaurant) -> None:
    queued = ticket(kitchen)
    assert queued is not None and "expireAt" not in queued


def test_received_at_is_when_order_sent_the_order_not_when_it_was_placed_or_read(
    restaurant: Restaurant,
) -> None:
    # GIVEN a placement the customer made a minute before Order recorded and sent it, heard
    # here a minute later still
    restaurant.open_restaurant("r-1")
    placed = restaurant.order_status("o-1", changedAt=START - 60_000)
    restaurant.clock.advance(60_000)
    restaurant.receive(placed)
    # THEN the ticket shows when Order sent it: neither the customer's time nor the gateway's
    [shown] = queue(restaurant).get_json()["orders"]
    assert shown["receivedAt"] == placed.timestamp == START


# -- an order with nothing to prepare ------------------------------------------------------


def test_an_order_that_lists_no_dish_is_refused_on_arrival_saying_why(
    restaurant: Restaurant,
) -> None:
    restaurant.open_restaurant("r-1")
    restaurant.receive(restaurant.order_status("o-1", items=[], total=0))
    restaurant.system.run_until_quiet()

    assert ids(queue(restaurant)) == []
    [refused] = history(restaurant).get_json()["orders"]
    assert (refused["status"], refused["items"], refused["reason"]) == (
        "rejected",
        [],
        "the order lists no dish to prepare",
    )
    [rejected] = restaurant.external(*ANSWERS)
    assert (rejected.type, rejected.body) == (
        OrderRejected.TYPE,
        {"id": "o-1", "restaurantId": "r-1", "reason": "the order lists no dish to prepare"},
    )
    assert restaurant.system.faults("restaurant") == []

    restaurant.receive(restaurant.order_status("o-1", "cancelled", reason="rejected"))
    assert status_of(restaurant) == "rejected"
    assert len(restaurant.external(*ANSWERS)) == 1
