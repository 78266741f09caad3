"""dispatch-control finds drivers by grid cell: the nearest wins, far drivers are never read."""

from __future__ import annotations

import math
from typing import Any

import pytest

from delivery.dispatch_control.geo import (
    CELL_DEG,
    SEARCH_RINGS,
    cell_of,
    cells_apart,
    ring,
)
from shared.geo import distance_m
from shared.stores import Document
from shared.stores.base import MAX_IN_VALUES
from tests.delivery.conftest import MINUTE, RESTAURANT, Delivery

PICKUP = {"lat": RESTAURANT["lat"], "lng": RESTAURANT["lng"]}
ACROSS_THE_BORDER = {"lat": RESTAURANT["lat"], "lng": 13.3995}
"""About 100 m west of the restaurant, in the next cell (the border runs at 13.40)."""
SAME_CELL_FAR_CORNER = {"lat": 52.5299, "lng": 13.4095}
"""In the restaurant's cell, about 600 m away."""
BEYOND_THE_RINGS = {"lat": RESTAURANT["lat"] + (SEARCH_RINGS + 1) * CELL_DEG, "lng": 13.4010}


def test_rings_are_the_cells_at_each_distance() -> None:
    assert ring(PICKUP, 0) == [cell_of(PICKUP)] == ["5252:1340"]
    assert len(ring(PICKUP, 1)) == 8 and len(ring(PICKUP, 2)) == 16
    around = [c for radius in range(3) for c in ring(PICKUP, radius)]
    assert len(set(around)) == 25
    assert len(set(ring(PICKUP, SEARCH_RINGS))) == 8 * SEARCH_RINGS
    assert cell_of(ACROSS_THE_BORDER) in ring(PICKUP, 1)
    assert cell_of(SAME_CELL_FAR_CORNER) == cell_of(PICKUP)


def test_the_cell_follows_the_driver(delivery: Delivery) -> None:
    delivery.driver("dan", at=ACROSS_THE_BORDER)
    delivery.call("PUT", "/me/location", "dan", SAME_CELL_FAR_CORNER)
    driver = delivery.store.get("dispatch-drivers", "dan")
    assert driver is not None and driver["cell"] == cell_of(SAME_CELL_FAR_CORNER)


def test_a_driver_just_across_a_cell_border_beats_one_further_in_the_same_cell(
    delivery: Delivery,
) -> None:
    delivery.driver("corner", at=SAME_CELL_FAR_CORNER)
    delivery.driver("across", at=ACROSS_THE_BORDER)

    delivery.order("o-1", "accepted")

    assert delivery.delivery("o-1")["offer"]["driverId"] == "across"


def test_a_driver_beyond_the_search_rings_is_not_offered_the_delivery(delivery: Delivery) -> None:
    delivery.driver("remote", at=BEYOND_THE_RINGS)
    delivery.order("o-1", "accepted")
    assert delivery.delivery("o-1")["status"] == "searching"

    delivery.driver("local", at=ACROSS_THE_BORDER)

    assert delivery.delivery("o-1")["offer"]["driverId"] == "local"


def test_finding_a_driver_reads_only_the_cells_near_the_pickup(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(20):
        delivery.driver(f"remote-{n}", at={**BEYOND_THE_RINGS, "lng": 13.4 + n * CELL_DEG})
    delivery.driver("local", at=ACROSS_THE_BORDER)
    read: list[str] = []
    query = delivery.store.query

    def counted(collection: str, *args: Any, **kwargs: Any) -> list[Document]:
        found = query(collection, *args, **kwargs)
        if collection == "dispatch-drivers":
            read.extend(d.key for d in found)
        return found

    monkeypatch.setattr(delivery.store, "query", counted)
    delivery.order("o-1", "accepted")

    assert delivery.delivery("o-1")["offer"]["driverId"] == "local"
    assert set(read) == {"local"}


def test_a_search_that_finds_nobody_reads_the_rings_in_as_few_queries_as_it_can(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    queried: list[list[str]] = []
    query = delivery.store.query

    def counted(collection: str, where: Any = (), **kwargs: Any) -> list[Document]:
        cells = [w.value for w in where if w.field == "cell"]
        if collection == "dispatch-drivers" and cells:
            queried.append(cells[0])
        return query(collection, where, **kwargs)

    monkeypatch.setattr(delivery.store, "query", counted)

    delivery.order("o-1", "accepted")

    assert delivery.delivery("o-1")["status"] == "searching"
    around = [cell for radius in range(SEARCH_RINGS + 1) for cell in ring(PICKUP, radius)]
    assert [cell for cells in queried for cell in cells] == around  # each cell once
    assert len(queried) == -(-len(around) // MAX_IN_VALUES)  # 15 rather than 21


def test_a_driver_in_the_last_ring_is_found(delivery: Delivery) -> None:
    last_ring = {"lat": RESTAURANT["lat"] + SEARCH_RINGS * CELL_DEG, "lng": RESTAURANT["lng"]}
    assert cells_apart(last_ring, PICKUP) == SEARCH_RINGS
    delivery.driver("edge", at=last_ring)

    delivery.order("o-1", "accepted")

    assert delivery.delivery("o-1")["offer"]["driverId"] == "edge"


def test_the_nearest_driver_wins_even_two_rings_out(delivery: Delivery) -> None:
    # Cells are narrow east to west: a driver two columns away can be nearer than one in
    # the pickup's own cell.
    same_cell = {"lat": 52.5201, "lng": 13.4095}
    two_west = {"lat": RESTAURANT["lat"], "lng": 13.3899}
    assert cell_of(same_cell) == cell_of(PICKUP) and two_west["lng"] < 13.39
    assert distance_m(two_west, PICKUP) < distance_m(same_cell, PICKUP)
    delivery.driver("same-cell", at=same_cell)
    delivery.driver("two-west", at=two_west)

    delivery.order("o-1", "accepted")

    assert delivery.delivery("o-1")["offer"]["driverId"] == "two-west"


def test_a_delivery_nobody_can_reach_does_not_hold_up_one_a_free_driver_can(
    delivery: Delivery,
) -> None:
    munich = {**RESTAURANT, "lat": 48.1374, "lng": 11.5755}
    far_restaurant = {"id": "r-2", "name": "Weißwurst Eck", "address": munich}
    delivery.order("o-far", "accepted", restaurant=far_restaurant)
    delivery.system.advance(MINUTE)
    delivery.order("o-near", "accepted")

    delivery.driver("dan", at=ACROSS_THE_BORDER)

    assert delivery.delivery("o-near")["offer"]["driverId"] == "dan"
    assert delivery.delivery("o-far")["status"] == "searching"


def test_cells_wrap_around_at_the_antimeridian() -> None:
    east, west = {"lat": -17.8, "lng": 179.999}, {"lat": -17.8, "lng": -179.999}
    assert cell_of(west) in ring(east, 1)
    assert cells_apart(east, west) == 1
    assert cells_apart({"lat": 0.0, "lng": 0.0}, {"lat": 0.0, "lng": 90.0}) == 9000


def test_a_point_off_the_globe_is_read_around_it_and_never_stops_the_grid() -> None:
    assert cell_of({"lat": 52.5, "lng": 181.0}) == cell_of({"lat": 52.5, "lng": -179.0})
    assert cell_of({"lat": 1e308, "lng": 1e308}) == cell_of(
        {"lat": 90.0, "lng": math.fmod(1e308, 360)}
    )
    assert cell_of({"lat": -95.0, "lng": 0.5}) == cell_of({"lat": -90.0, "lng": 0.5})
