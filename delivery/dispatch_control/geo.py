"""The grid cells dispatch searches by (distances are the kit's: :mod:`shared.geo`).

A cell is a square of :data:`CELL_DEG` degrees of latitude and longitude
(about 1.1 km north to south, less east to west away from the equator), named
``"<row>:<column>"``; columns wrap around at the antimeridian. Dispatch keeps
each driver's cell, so finding drivers near a pickup reads the rings of cells
around it, not every driver online. A block is a square of :data:`BLOCK_CELLS` by
:data:`BLOCK_CELLS` cells; dispatch keeps each delivery's pickup block, so finding the
deliveries within a driver's reach reads the few blocks around them in one query.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

from shared.geo import EARTH_RADIUS_M

CELL_DEG = 0.01
SEARCH_RINGS = 10
"""How many rings of cells around a pickup dispatch searches: about 11 km north and
south, less east and west away from the equator (7 km at Berlin)."""
BLOCK_CELLS = 5
"""Cells along each side of a block: the :data:`SEARCH_RINGS` around a cell fit in 5 by 5
blocks, few enough for one ``in`` condition."""
_COLUMNS = round(360 / CELL_DEG)
_METRES_PER_DEG = math.pi * EARTH_RADIUS_M / 180


def cell_of(point: Mapping[str, float]) -> str:
    """The name of the cell holding ``point``."""
    row, column = _grid(point)
    return f"{row}:{column}"


def ring(point: Mapping[str, float], radius: int) -> list[str]:
    """The cells exactly ``radius`` cells away from ``point``'s (its own cell for 0)."""
    return list(_ring(*_grid(point), radius))


@functools.lru_cache(maxsize=2048)
def _ring(row: int, column: int, radius: int) -> tuple[str, ...]:
    """:func:`ring` of the cell; named once per cell and radius, as every search from one
    pickup reads the same rings."""
    if radius == 0:
        return (f"{row}:{column}",)
    across = range(-radius, radius + 1)
    between = range(-radius + 1, radius)
    offsets = [
        *((dr, dc) for dr in (-radius, radius) for dc in across),
        *((dr, dc) for dr in between for dc in (-radius, radius)),
    ]
    return tuple(f"{row + dr}:{_wrapped(column + dc)}" for dr, dc in offsets)


def block_of(point: Mapping[str, float]) -> str:
    """The name of the block holding ``point``'s cell."""
    row, column = _grid(point)
    return f"{row // BLOCK_CELLS}:{column // BLOCK_CELLS}"


def blocks_within(point: Mapping[str, float], rings: int) -> list[str]:
    """The blocks holding every cell at most ``rings`` cells from ``point``'s, and no others.

    Blocks never straddle the antimeridian (the columns there are multiples of
    :data:`BLOCK_CELLS`), so a wrapped column's block is the block of the column.
    """
    row, column = _grid(point)
    rows = range((row - rings) // BLOCK_CELLS, (row + rings) // BLOCK_CELLS + 1)
    nearby = range(column - rings, column + rings + 1)
    columns = sorted({_wrapped(c) // BLOCK_CELLS for c in nearby})
    return [f"{r}:{c}" for r in rows for c in columns]


def ring_gap_m(point: Mapping[str, float], radius: int) -> float:
    """No place in the cells ``radius`` cells away is nearer to ``point`` than this.

    ``radius - 1`` whole cells lie between, along one axis at least; a cell is
    narrowest east to west, and narrower still on the side nearer the pole.
    """
    if radius <= 1:
        return 0.0
    polewards = min(abs(point["lat"]) + radius * CELL_DEG, 90.0)
    narrowest = CELL_DEG * _METRES_PER_DEG * math.cos(math.radians(polewards))
    return (radius - 1) * narrowest


def cells_apart(a: Mapping[str, float], b: Mapping[str, float]) -> int:
    """How many rings apart the cells of ``a`` and ``b`` are."""
    (row_a, column_a), (row_b, column_b) = _grid(a), _grid(b)
    columns = abs(column_a - column_b)
    return max(abs(row_a - row_b), min(columns, _COLUMNS - columns))


def _grid(point: Mapping[str, float]) -> tuple[int, int]:
    """The row and column of ``point``'s cell. Order's contract bounds no coordinate: a
    latitude beyond a pole is taken as the pole and a longitude is read around the globe
    (181 is -179), so no number dispatch is given stops it."""
    lat = min(max(point["lat"], -90.0), 90.0)
    lng = math.fmod(point["lng"], 360.0)
    return math.floor(lat / CELL_DEG), _wrapped(math.floor(lng / CELL_DEG))


def _wrapped(column: int) -> int:
    """The column in [-180°, 180°) that ``column`` names."""
    return (column + _COLUMNS // 2) % _COLUMNS - _COLUMNS // 2
