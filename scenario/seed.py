"""The demo's world: three restaurants (one on its own point of sale), names and places."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

STREETS = ("Torstraße", "Kastanienallee", "Oranienstraße", "Bergmannstraße", "Sonnenallee")
CUSTOMER_NAMES = ("Alice", "Bilal", "Chen", "Dora", "Emeka", "Farah", "Gustav", "Hana")
DRIVER_NAMES = ("Dan", "Eva", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kemal")


@dataclass(frozen=True, slots=True)
class Restaurant:
    """A restaurant of the demo and what it serves: (id, name, price in cents)."""

    id: str
    name: str
    cuisine: str
    ordering: str
    street: str
    lat: float
    lng: float
    dishes: tuple[tuple[str, str, int], ...]

    def profile(self) -> dict[str, Any]:
        """The profile the staff publish."""
        return {
            "name": self.name,
            "cuisine": self.cuisine,
            "address": {
                "street": self.street,
                "city": "Berlin",
                "postcode": "10115",
                "lat": self.lat,
                "lng": self.lng,
            },
            "open": True,
            "ordering": self.ordering,
            "deliveryRadiusM": 10_000,  # the whole demo city
        }

    def menu(self) -> list[dict[str, Any]]:
        """The menu the staff publish."""
        return [
            {
                "id": dish_id,
                "name": name,
                "description": f"{name}, made to order",
                "price": price,
                "currency": "EUR",
                "available": True,
            }
            for dish_id, name, price in self.dishes
        ]


RESTAURANTS = (
    Restaurant(
        "trattoria-roma",
        "Trattoria Roma",
        "italian",
        "kitchen",
        "Torstraße 1",
        52.5291,
        13.4010,
        (
            ("margherita", "Pizza Margherita", 950),
            ("carbonara", "Spaghetti Carbonara", 1250),
            ("tiramisu", "Tiramisù", 650),
        ),
    ),
    Restaurant(
        "sakura-sushi",
        "Sakura Sushi",
        "japanese",
        "pos",
        "Kastanienallee 12",
        52.5381,
        13.4105,
        (
            ("salmon-nigiri", "Salmon Nigiri (2)", 550),
            ("maki-set", "Maki Set", 1400),
            ("miso", "Miso Soup", 400),
        ),
    ),
    Restaurant(
        "taqueria-luz",
        "Taquería Luz",
        "mexican",
        "kitchen",
        "Oranienstraße 40",
        52.5020,
        13.4180,
        (
            ("al-pastor", "Tacos al Pastor", 1100),
            ("quesadilla", "Quesadilla", 900),
            ("horchata", "Horchata", 350),
        ),
    ),
)


def address_near(
    rng: random.Random, lat: float, lng: float, spread: float
) -> tuple[dict[str, Any], tuple[float, float]]:
    """A random street address around (lat, lng) and its coordinates."""
    point = (
        round(lat + rng.uniform(-spread, spread), 5),
        round(lng + rng.uniform(-spread, spread), 5),
    )
    address = {
        "street": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
        "city": "Berlin",
        "postcode": f"10{rng.randint(115, 999)}",
        "lat": point[0],
        "lng": point[1],
    }
    return address, point
