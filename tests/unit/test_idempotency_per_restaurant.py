"""BFF API kit: a staff member's ``Idempotency-Key`` belongs to the restaurant they act for.

A replayed answer skips the handler, and with it the handler's check that the caller is
staff of the restaurant; so a key used as staff of one restaurant must not replay once the
same account acts for another.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import HttpApi, HttpError
from shared.auth import LocalIssuer, Principal
from shared.stores import InMemoryDocumentStore

ISSUER = LocalIssuer()


def staff(restaurant: str, key: str = "k-1") -> dict[str, str]:
    token = ISSUER.mint(Principal("staff", "sam", restaurant))
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": key}


@pytest.fixture
def kitchen() -> tuple[Any, list[str]]:
    """A command on a restaurant's order that only its own staff may run."""
    api = HttpApi("Kitchen", ISSUER, store=InMemoryDocumentStore())
    ran: list[str] = []

    @api.route(
        "POST",
        "/restaurants/{restaurant_id}/orders/{order_id}/accept",
        actors={"staff"},
        idempotent=True,
    )
    def accept(caller: Principal, restaurant_id: str, order_id: str) -> dict[str, str]:
        """Accept an order."""
        if caller.restaurant != restaurant_id:
            raise HttpError(403, f"staff of {caller.restaurant} may not see {restaurant_id}")
        ran.append(restaurant_id)
        return {"order": order_id, "customer": "alice's address"}

    return api.flask_app().test_client(), ran


def test_a_key_used_as_staff_of_one_restaurant_does_not_replay_as_staff_of_another(
    kitchen: tuple[Any, list[str]],
) -> None:
    client, ran = kitchen
    path = "/restaurants/r-1/orders/o-1/accept"

    first = client.post(path, headers=staff("r-1"))
    moved_on = client.post(path, headers=staff("r-2"))

    assert first.status_code == 200
    assert moved_on.status_code == 403
    assert "alice" not in moved_on.get_data(as_text=True)
    assert ran == ["r-1"]
    # staff of r-1 still get their first answer replayed, nothing run again
    assert client.post(path, headers=staff("r-1")).get_json() == first.get_json()
    assert ran == ["r-1"]
