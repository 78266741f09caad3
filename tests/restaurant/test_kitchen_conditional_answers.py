"""kitchen-bff: answers conditional on the ticket as read (``ETag`` / ``If-Match``), so that
two staff answering one order at once cannot both succeed with different answers."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from restaurant.contracts import OrderAccepted, OrderReady, OrderRejected
from scenario.actors import ApiError, StaffApp, Urls
from tests.problems import refusal
from tests.restaurant.conftest import ANSWER_MS, Restaurant

if TYPE_CHECKING:
    from werkzeug.test import TestResponse

    from shared.stores import Doc

ANSWERS = (OrderAccepted.TYPE, OrderRejected.TYPE, OrderReady.TYPE)
Step = tuple[str, dict[str, Any] | None]
ACCEPT: Step = ("accept", {"prepMinutes": 15})
REJECT: Step = ("reject", {"reason": "out of mozzarella"})
READY: Step = ("ready", None)


@pytest.fixture
def kitchen(restaurant: Restaurant) -> Restaurant:
    """Restaurant r-1 (kitchen ordering) with order o-1 placed."""
    restaurant.open_restaurant("r-1")
    restaurant.receive(restaurant.order_status("o-1"))
    return restaurant


def act(kitchen: Restaurant, step: Step, tag: str | None = None, **headers: str) -> TestResponse:
    action, body = step
    conditional = {} if tag is None else {"If-Match": tag}
    return kitchen.client("kitchen-bff").post(
        f"/restaurants/r-1/orders/o-1/{action}",
        json=body,
        headers={**kitchen.staff(), **conditional, **headers},
    )


def read(kitchen: Restaurant) -> TestResponse:
    return kitchen.client("kitchen-bff").get("/restaurants/r-1/orders/o-1", headers=kitchen.staff())


def stored(kitchen: Restaurant) -> Doc:
    ticket = kitchen.store.get("tickets", "o-1")
    assert ticket is not None
    return ticket


def published(kitchen: Restaurant) -> list[str]:
    kitchen.system.run_until_quiet()
    return [event.type for event in kitchen.external(*ANSWERS)]


def test_a_ticket_is_answered_with_its_revision_as_etag(kitchen: Restaurant) -> None:
    listed = kitchen.client("kitchen-bff").get("/restaurants/r-1/orders", headers=kitchen.staff())
    assert [t["revision"] for t in listed.get_json()["orders"]] == [1]
    one = read(kitchen)
    assert one.headers["ETag"] == '"1"'
    assert one.get_json()["revision"] == 1


def test_a_colleague_rejecting_the_new_order_someone_accepted_meanwhile_is_412(
    kitchen: Restaurant,
) -> None:
    """The known gap: both saw o-1 new (ETag "1"); one accepts, the other's rejection of the
    new order it saw must not reject the accepted one."""
    tag = read(kitchen).headers["ETag"]
    accepted = act(kitchen, ACCEPT, tag)
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.headers["ETag"] == '"2"'
    assert accepted.get_json()["revision"] == 2
    before = stored(kitchen)

    refused = act(kitchen, REJECT, tag)

    assert refused.status_code == 412
    assert refusal(refused) == {
        "error": "order o-1 changed since the revision If-Match names: it is accepted now, "
        'at revision 2 (ETag "2"); nothing was done: read it again and answer it as it is'
    }
    assert stored(kitchen) == before
    assert published(kitchen) == [OrderAccepted.TYPE]


@pytest.mark.parametrize(
    ("first", "then", "status"),
    [
        ([ACCEPT], REJECT, "accepted"),
        ([REJECT], ACCEPT, "rejected"),
        ([ACCEPT], ("accept", {"prepMinutes": 30}), "accepted"),
        ([ACCEPT, READY], REJECT, "ready"),
        ([ACCEPT, REJECT], READY, "rejected"),
    ],
    ids=["reject-accepted", "accept-rejected", "other-prep", "reject-ready", "ready-rejected"],
)
def test_an_answer_with_a_stale_tag_is_412_and_changes_and_publishes_nothing(
    kitchen: Restaurant, first: list[Step], then: Step, status: str
) -> None:
    """A stale tag is refused before the step is weighed: 412, not the 409 of a step the
    order has passed (RFC 9110, section 13.2.2)."""
    tag = read(kitchen).headers["ETag"]
    for step in first:
        assert act(kitchen, step).status_code == 200
    seen = published(kitchen)
    stale = tag if then[0] != "ready" else '"2"'  # ready follows the accept it saw
    before = stored(kitchen)

    refused = act(kitchen, then, stale)

    assert refused.status_code == 412, refused.get_json()
    assert f"it is {status} now" in refused.get_json()["error"]
    assert stored(kitchen) == before
    assert published(kitchen) == seen


def test_an_order_order_withdrew_since_it_was_read_is_412_naming_why(kitchen: Restaurant) -> None:
    tag = read(kitchen).headers["ETag"]
    kitchen.receive(kitchen.order_status("o-1", "cancelled", reason="customer"))

    refused = act(kitchen, ACCEPT, tag)

    assert refused.status_code == 412
    assert (
        "it is cancelled (by the Order subsystem: customer) now, at revision 2"
        in (refused.get_json()["error"])
    )
    assert published(kitchen) == []


@pytest.mark.parametrize(
    "steps",
    [[ACCEPT], [REJECT], [ACCEPT, READY], [ACCEPT, REJECT], [ACCEPT, READY, REJECT]],
    ids=["accept", "reject", "ready", "reject-accepted", "reject-ready"],
)
def test_answers_with_the_tag_of_the_ticket_as_it_is_succeed(
    kitchen: Restaurant, steps: list[Step]
) -> None:
    for revision, step in enumerate(steps, start=1):
        tag = read(kitchen).headers["ETag"]
        assert tag == f'"{revision}"'
        answered = act(kitchen, step, tag)
        assert answered.status_code == 200, answered.get_json()
        assert answered.headers["ETag"] == f'"{revision + 1}"'
    assert len(published(kitchen)) == len(steps)


@pytest.mark.parametrize("tag", ["*", '"7", "1"'])
def test_if_match_star_or_a_list_naming_the_current_tag_matches(
    kitchen: Restaurant, tag: str
) -> None:
    assert act(kitchen, ACCEPT, tag).status_code == 200


def test_a_weak_tag_never_matches(kitchen: Restaurant) -> None:
    assert act(kitchen, ACCEPT, 'W/"1"').status_code == 412
    assert stored(kitchen)["status"] == "new"


def test_a_malformed_if_match_is_400_and_changes_nothing(kitchen: Restaurant) -> None:
    refused = act(kitchen, ACCEPT, "1")
    assert refused.status_code == 400
    assert "If-Match" in refused.get_json()["error"]
    assert stored(kitchen)["status"] == "new"


@pytest.mark.parametrize(
    "steps",
    [[ACCEPT], [REJECT], [ACCEPT, READY], [ACCEPT, REJECT]],
    ids=["accept", "reject", "ready", "reject-accepted"],
)
def test_the_same_answer_again_with_the_old_tag_is_200_and_publishes_nothing(
    kitchen: Restaurant, steps: list[Step]
) -> None:
    """A retry without an ``Idempotency-Key`` after a lost answer (or a colleague's same
    answer): what it asks is done already, so it is answered as without ``If-Match``
    (RFC 9110, section 13.1.1, allows the 2xx)."""
    for step in steps[:-1]:
        assert act(kitchen, step).status_code == 200
    tag = read(kitchen).headers["ETag"]
    first = act(kitchen, steps[-1], tag)
    assert first.status_code == 200
    seen, before = published(kitchen), stored(kitchen)
    kitchen.clock.advance(60_000)

    again = act(kitchen, steps[-1], tag)

    assert again.status_code == 200, again.get_json()
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert stored(kitchen) == before
    assert published(kitchen) == seen


def test_a_retry_with_the_same_idempotency_key_and_old_tag_gets_the_first_answer(
    kitchen: Restaurant,
) -> None:
    first = act(kitchen, ACCEPT, '"1"', **{"Idempotency-Key": "tablet-7:accept:o-1"})
    again = act(kitchen, ACCEPT, '"1"', **{"Idempotency-Key": "tablet-7:accept:o-1"})
    assert again.status_code == first.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"] == '"2"'
    assert published(kitchen) == [OrderAccepted.TYPE]


def test_without_if_match_answers_are_unconditional_as_before(kitchen: Restaurant) -> None:
    """Existing clients keep working: a colleague's rejection of the accepted order, sent
    without a tag, is the kitchen changing its mind, as it always was."""
    assert act(kitchen, ACCEPT).status_code == 200
    assert act(kitchen, REJECT).status_code == 200
    assert stored(kitchen)["status"] == "rejected"


@pytest.mark.parametrize("action", ["accept", "reject", "ready"])
def test_the_api_documents_if_match_412_and_the_etag(restaurant: Restaurant, action: str) -> None:
    paths = restaurant.client("kitchen-bff").get("/openapi.json").get_json()["paths"]
    operation = paths[f"/restaurants/{{restaurant_id}}/orders/{{order_id}}/{action}"]["post"]
    assert "If-Match" in [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert "412" in operation["responses"]
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert "412" in operation["description"]


# -- the reference client ----------------------------------------------------------------


class _Wire:
    """A ``requests.Session`` that sends to the kitchen BFF's Flask app (the ``Api`` of
    :mod:`scenario.actors` reads ``status_code``, ``content``, ``text`` and ``json()``)."""

    def __init__(self, kitchen: Restaurant) -> None:
        self.client = kitchen.client("kitchen-bff")
        self.sent: list[dict[str, str]] = []

    def request(
        self, method: str, url: str, *, json: Any, headers: dict[str, str], timeout: float
    ) -> Any:
        self.sent.append(headers)
        answer = self.client.open(url, method=method, json=json, headers=headers)
        return SimpleNamespace(
            status_code=answer.status_code,
            content=answer.data,
            text=answer.text,
            json=answer.get_json,
        )


def staff_app(kitchen: Restaurant, wire: _Wire) -> StaffApp:
    """A staff tablet of restaurant r-1, every BFF served by ``wire``."""
    urls = Urls(*(["http://kitchen"] * len(dataclasses.fields(Urls))))
    token = kitchen.staff()["Authorization"].removeprefix("Bearer ")
    return StaffApp(wire, urls, token, "r-1")  # type: ignore[arg-type]


def test_the_staff_app_answers_a_ticket_as_it_read_it(kitchen: Restaurant) -> None:
    """Two tablets see o-1 new; one accepts it, the other's rejection of the new order it
    saw is refused (412) and the order stays accepted."""
    wire = _Wire(kitchen)
    first, second = staff_app(kitchen, wire), staff_app(kitchen, wire)
    assert [t["id"] for t in first.queue()] == [t["id"] for t in second.queue()] == ["o-1"]

    first.accept("o-1")
    assert wire.sent[-1]["If-Match"] == '"1"'
    with pytest.raises(ApiError) as refused:
        second.reject("o-1", "out of mozzarella")

    assert wire.sent[-1]["If-Match"] == '"1"'
    assert refused.value.status == 412
    assert stored(kitchen)["status"] == "accepted"
    first.ready("o-1")  # after its own answer, with the tag that answer gave
    assert wire.sent[-1]["If-Match"] == '"2"'
    assert published(kitchen) == [OrderAccepted.TYPE, OrderReady.TYPE]


def test_the_staff_app_answers_a_ticket_it_never_read_unconditionally(
    kitchen: Restaurant,
) -> None:
    wire = _Wire(kitchen)
    staff_app(kitchen, wire).accept("o-1")
    assert "If-Match" not in wire.sent[-1]
    assert stored(kitchen)["status"] == "accepted"


def test_the_staff_app_answering_a_ticket_it_read_expired_is_told_the_time_ran_out(
    kitchen: Restaurant,
) -> None:
    """The tag the app keeps from the queue is the ticket's ``ETag`` there, ``-expired``
    included: its late rejection is the 409 of a time run out, not a 412."""
    wire = _Wire(kitchen)
    app = staff_app(kitchen, wire)
    kitchen.clock.advance(ANSWER_MS + 1)
    assert [t["id"] for t in app.queue()] == ["o-1"]

    with pytest.raises(ApiError) as refused:
        app.reject("o-1", "out of mozzarella")

    assert wire.sent[-1]["If-Match"] == read(kitchen).headers["ETag"] == '"1-expired"'
    assert refused.value.status == 409
    assert stored(kitchen)["status"] == "new"
