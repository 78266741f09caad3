"""A driver who becomes free nudges the longest-waiting searching delivery within their reach,
reading only the deliveries whose pickup lies in the blocks around them; one stored before
deliveries kept their block is offered by the next sweep."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from delivery.dispatch_control.geo import (
    CELL_DEG,
    SEARCH_RINGS,
    block_of,
    blocks_within,
    cell_of,
    cells_apart,
)
from delivery.dispatch_control.records import DELIVERIES, in_chunks, nudge_searching
from shared.stores import Document, InMemoryDocumentStore
from shared.stores.base import MAX_IN_VALUES
from tests.delivery.conftest import MINUTE, NEAR, RESTAURANT, START, Delivery

BERLIN = {"lat": 52.5005, "lng": 13.4015}
"""A driver's place: row 5250 of the grid, at the top of its block's rows."""
AT_THE_EDGE = {"lat": 52.4005, "lng": 13.4015}
"""Exactly :data:`SEARCH_RINGS` cells south of ``BERLIN``, two blocks away."""
BEYOND = {"lat": 52.6105, "lng": 13.4015}
"""One cell beyond reach, north of ``BERLIN``, in one of the blocks around it."""
MUNICH = {"lat": 48.1374, "lng": 11.5755}


def searching(
    store: InMemoryDocumentStore,
    key: str,
    at: dict[str, float],
    changed_at: int,
    declined_by: tuple[str, ...] = (),
) -> None:
    """A searching delivery picked up ``at``, as the collector stores it."""
    address = {"street": "-", "city": "-", "postcode": "-", **at}
    store.put(
        DELIVERIES,
        key,
        {
            "id": key,
            "pickup": {"restaurantId": "r", "name": "R", "address": address},
            "pickupBlock": block_of(address),
            "status": "searching",
            "declinedBy": list(declined_by),
            "changedAt": changed_at,
        },
    )


def driver(name: str, at: dict[str, float] | None) -> dict[str, Any]:
    """A free driver as dispatch keeps them."""
    return {"id": name, "location": at, "deliveryId": None, "offeredDeliveryId": None}


def nudged(store: InMemoryDocumentStore) -> dict[str, str]:
    """Delivery -> the cause that nudged it."""
    return {
        key: doc["nudgedBy"]
        for (collection, key), doc in store.snapshot().items()
        if collection == DELIVERIES and "nudgedBy" in doc
    }


def reads(monkeypatch: pytest.MonkeyPatch, store: InMemoryDocumentStore) -> list[str]:
    """The keys of the deliveries every query of ``store`` returns from now on."""
    read: list[str] = []
    query = store.query

    def counted(collection: str, *args: Any, **kwargs: Any) -> list[Document]:
        found = query(collection, *args, **kwargs)
        if collection == DELIVERIES:
            read.extend(d.key for d in found)
        return found

    monkeypatch.setattr(store, "query", counted)
    return read


def test_a_free_driver_reads_only_the_deliveries_waiting_near_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = InMemoryDocumentStore()
    for n in range(20):
        searching(store, f"d-munich-{n}", MUNICH, START + n)
    searching(store, "d-berlin", BERLIN, START + 100)
    read = reads(monkeypatch, store)

    nudge_searching(store, "c-1", [driver("dan", BERLIN)], now_ms=START)

    assert nudged(store) == {"d-berlin": "c-1"}
    assert read == ["d-berlin"]


def test_each_driver_nudges_the_longest_waiting_delivery_in_reach_they_did_not_decline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = InMemoryDocumentStore()
    searching(store, "d-beyond", BEYOND, START)  # longest waiting, one cell out of reach
    searching(store, "d-declined", BERLIN, START + 1, declined_by=("dan", "eve"))
    searching(store, "d-skipped", BERLIN, START + 2)
    searching(store, "d-edge", AT_THE_EDGE, START + 3)  # in reach, in another block
    searching(store, "d-next-b", BERLIN, START + 4)
    searching(store, "d-next-a", BERLIN, START + 4)  # as long as d-next-b: the id decides
    searching(store, "d-munich-late", MUNICH, START + 5)
    searching(store, "d-munich", MUNICH, START + 1)
    assert cells_apart(BERLIN, AT_THE_EDGE) == SEARCH_RINGS
    assert cells_apart(BERLIN, BEYOND) == SEARCH_RINGS + 1
    assert block_of(AT_THE_EDGE) != block_of(BERLIN)
    assert block_of(BEYOND) in blocks_within(BERLIN, SEARCH_RINGS)
    read = reads(monkeypatch, store)

    drivers = [driver("dan", BERLIN), driver("nowhere", None), driver("eve", BERLIN)]
    nudge_searching(store, "c-1", [*drivers, driver("max", MUNICH)], skip="d-skipped", now_ms=START)

    assert nudged(store) == {"d-edge": "c-1", "d-next-a": "c-1", "d-munich": "c-1"}
    assert "d-beyond" in read  # its block is around dan's, though the cell is out of reach


def test_every_cell_in_reach_lies_in_the_blocks_read() -> None:
    places = [
        {"lat": RESTAURANT["lat"], "lng": RESTAURANT["lng"]},
        BERLIN,
        {"lat": -33.8688, "lng": 151.2093},
        {"lat": -0.004, "lng": -0.004},
        {"lat": -17.8, "lng": 179.999},  # at the antimeridian
        {"lat": 64.1, "lng": -179.995},
    ]
    reach = range(-SEARCH_RINGS, SEARCH_RINGS + 1)
    for place in places:
        row, column = (int(n) for n in cell_of(place).split(":"))
        in_reach = [  # the middle of every cell in reach (columns past 180 degrees wrap)
            {"lat": (row + dr + 0.5) * CELL_DEG, "lng": (column + dc + 0.5) * CELL_DEG}
            for dr, dc in itertools.product(reach, reach)
        ]
        assert all(cells_apart(place, p) <= SEARCH_RINGS for p in in_reach)
        blocks = blocks_within(place, SEARCH_RINGS)
        assert sorted(blocks) == sorted({block_of(p) for p in in_reach}), place
        assert len(blocks) <= MAX_IN_VALUES  # one query per driver


def test_in_conditions_are_chunked_in_order_and_only_as_asked_for() -> None:
    taken: list[int] = []

    def values() -> Any:
        for n in range(2 * MAX_IN_VALUES + 1):
            taken.append(n)
            yield n

    chunks = in_chunks(values())
    first = next(chunks)

    assert first == list(range(MAX_IN_VALUES)) and taken == first
    assert [first, *chunks] == [
        list(range(MAX_IN_VALUES)),
        list(range(MAX_IN_VALUES, 2 * MAX_IN_VALUES)),
        [2 * MAX_IN_VALUES],
    ]
    assert list(in_chunks([])) == []


def test_a_delivery_stored_without_its_block_is_offered_by_the_next_sweep(
    delivery: Delivery,
) -> None:
    # GIVEN o-1 waiting since before deliveries kept their pickup's block
    delivery.order("o-1", "accepted")
    delivery.store.update(
        DELIVERIES, "d-o-1", lambda d: {k: v for k, v in (d or {}).items() if k != "pickupBlock"}
    )
    delivery.system.run_until_quiet()

    # WHEN dan comes online near it: no block holds it, so his nudge goes past it
    delivery.driver("dan", at=NEAR)
    assert delivery.delivery("o-1")["status"] == "searching"

    # THEN the next tick's sweep, which reads every searching delivery, offers it to him
    delivery.system.advance(MINUTE)
    assert "pickupBlock" not in delivery.delivery("o-1")
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"


def test_a_new_delivery_keeps_its_pickups_block(delivery: Delivery) -> None:
    delivery.order("o-1", "accepted")
    assert delivery.delivery("o-1")["pickupBlock"] == block_of(RESTAURANT)
