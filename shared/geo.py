"""Distances on the Earth's surface, for any subsystem that needs one."""

from __future__ import annotations

import math
from collections.abc import Mapping

EARTH_RADIUS_M = 6_371_000.0


def distance_m(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """The great-circle distance in metres between two ``{lat, lng}`` points (haversine)."""
    lat1, lat2 = math.radians(a["lat"]), math.radians(b["lat"])
    dlat, dlng = lat2 - lat1, math.radians(b["lng"] - a["lng"])
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))
