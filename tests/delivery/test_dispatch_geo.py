"""dispatch-control finds drivers by grid cell: the nearest wins, far drivers are never read."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.dispatch_control.geo import CELL_DEG, cell_of, ring
from delivery.dispatch_control.rules import SEARCH_RINGS
from shared.stores import Document
from tests.delivery.conftest import RESTAURANT, Delivery

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
