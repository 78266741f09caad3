"""Distances on the Earth's surface, and the grid cells dispatch searches by.

A cell is a square of :data:`CELL_DEG` degrees of latitude and longitude
(about 1.1 km north to south, less east to west away from the equator), named
``"<row>:<column>"``. Dispatch keeps each driver's cell, so finding drivers
near a pickup reads the cells around it, not every driver online.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

EARTH_RADIUS_M = 6_371_000.0
CELL_DEG = 0.01


def distance_m(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """The great-circle distance in metres between two ``{lat, lng}`` points (haversine)."""
    lat1, lat2 = math.radians(a["lat"]), math.radians(b["lat"])
    dlat, dlng = lat2 - lat1, math.radians(b["lng"] - a["lng"])
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def cell_of(point: Mapping[str, float]) -> str:
    """The name of the cell holding ``point``."""
    row, column = _grid(point)
    return f"{row}:{column}"


def ring(point: Mapping[str, float], radius: int) -> list[str]:
    """The cells exactly ``radius`` cells away from ``point``'s (its own cell for 0)."""
    row, column = _grid(point)
    return [
        f"{row + dr}:{column + dc}"
        for dr in range(-radius, radius + 1)
        for dc in range(-radius, radius + 1)
        if max(abs(dr), abs(dc)) == radius
    ]


def _grid(point: Mapping[str, float]) -> tuple[int, int]:
    return math.floor(point["lat"] / CELL_DEG), math.floor(point["lng"] / CELL_DEG)
